package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"haven/internal/config"
)

// TestParseServeReminderInterval: reminders are looked for every minute unless set otherwise,
// from the flag or the environment; a value that is not a duration, or is off the scale, is
// refused at start.
func TestParseServeReminderInterval(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     string
		want    time.Duration
		wantErr bool
	}{
		{name: "default", want: time.Minute},
		{name: "flag", args: []string{"--reminder-interval", "30s"}, want: 30 * time.Second},
		{name: "environment", env: "5m", want: 5 * time.Minute},
		{name: "not a duration", args: []string{"--reminder-interval", "often"}, wantErr: true},
		{name: "too often", args: []string{"--reminder-interval", "10ms"}, wantErr: true},
		{name: "too rarely for an hour's notice", args: []string{"--reminder-interval", "2h"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) {
				if k == "HAVEN_REMINDER_INTERVAL" && tc.env != "" {
					return tc.env, true
				}
				return "", false
			}
			c, err := config.ParseServe(tc.args, io.Discard, lookup)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "reminder-interval") {
					t.Fatalf("err = %v, want one naming --reminder-interval", err)
				}
				return
			}
			if err != nil || c.ReminderInterval != tc.want {
				t.Fatalf("ReminderInterval = %v, %v; want %v", c.ReminderInterval, err, tc.want)
			}
		})
	}
}
