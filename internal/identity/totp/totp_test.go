package totp_test

import (
	"testing"
	"time"

	"haven/internal/identity/totp"
)

func TestValidate(t *testing.T) {
	k, err := totp.Generate("Haven", "dr@example.test")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	code := func(d time.Duration) string {
		c, err := totp.Code(k.Secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := now.Unix() / 30
	tests := []struct {
		name     string
		code     string
		lastStep int64
		ok       bool
	}{
		{"current step", code(0), 0, true},
		{"one step behind (drift)", code(-30 * time.Second), 0, true},
		{"one step ahead (drift)", code(30 * time.Second), 0, true},
		{"two steps off", code(-60 * time.Second), 0, false},
		{"replay of the step already used", code(0), step, false},
		{"older step after a newer one was used", code(-30 * time.Second), step, false},
		{"next step after one was used", code(30 * time.Second), step, true},
		{"wrong length", "12345", 0, false},
		{"garbage", "abcdef", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := totp.Validate(k.Secret, tc.code, now, tc.lastStep); ok != tc.ok {
				t.Fatalf("Validate ok = %v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestQRCodeIsPNG(t *testing.T) {
	k, _ := totp.Generate("Haven", "a@example.test")
	png, err := totp.QRCode(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	if string(png[1:4]) != "PNG" {
		t.Fatal("not a PNG")
	}
}
