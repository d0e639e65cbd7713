package config_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"haven/internal/config"
	"haven/internal/visits"
)

func TestParseServe(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, listen, httpListen, db, dataDir string)
	}{
		{name: "defaults", check: func(t *testing.T, listen, httpListen, db, dataDir string) {
			if listen != ":8443" || httpListen != ":8080" || db != "haven-data/haven.db" || dataDir != "haven-data" {
				t.Fatalf("defaults: %s %s %s %s", listen, httpListen, db, dataDir)
			}
		}},
		{name: "environment", env: map[string]string{"HAVEN_LISTEN": "127.0.0.1:9443", "HAVEN_DATA_DIR": "/srv/haven", "HAVEN_HTTP_LISTEN": ""},
			check: func(t *testing.T, listen, httpListen, db, dataDir string) {
				if listen != "127.0.0.1:9443" || httpListen != "" || db != "/srv/haven/haven.db" {
					t.Fatalf("env: %s %q %s", listen, httpListen, db)
				}
			}},
		{name: "flag beats environment", args: []string{"--listen", ":10443"}, env: map[string]string{"HAVEN_LISTEN": ":9443"},
			check: func(t *testing.T, listen, _, _, _ string) {
				if listen != ":10443" {
					t.Fatalf("listen = %s", listen)
				}
			}},
		{name: "postgres", args: []string{"--db", "postgres://h/db"}, check: func(t *testing.T, _, _, db, _ string) {
			if db != "postgres://h/db" {
				t.Fatalf("db = %s", db)
			}
		}},
		{name: "bad listen", args: []string{"--listen", "8443"}, wantErr: "host:port"},
		{name: "sqlite dsn in --db", args: []string{"--db", "/tmp/x.db"}, wantErr: "postgres://"},
		{name: "stray argument", args: []string{"now"}, wantErr: "unexpected argument"},
		{name: "bad work hours", args: []string{"--work-hours", "20-07"}, wantErr: "work-hours"},
		{name: "unknown time zone", args: []string{"--time-zone", "Mars/Olympus"}, wantErr: "time-zone"},
		{name: "bad checkpoint interval", args: []string{"--checkpoint-interval", "soon"}, wantErr: "checkpoint-interval"},
		{name: "turn relay", args: []string{"--turn-listen", ":3478", "--turn-public-ip", "203.0.113.7"}, check: func(t *testing.T, _, _, _, _ string) {}},
		{name: "bad turn listen", args: []string{"--turn-listen", "3478"}, wantErr: "--turn-listen"},
		{name: "bad turn public ip", args: []string{"--turn-listen", ":3478", "--turn-public-ip", "turn.example"}, wantErr: "--turn-public-ip"},
		{name: "unspecified turn public ip", args: []string{"--turn-listen", ":3478", "--turn-public-ip", "0.0.0.0"}, wantErr: "--turn-public-ip"},
		{name: "turn public ip without relay", args: []string{"--turn-public-ip", "203.0.113.7"}, wantErr: "needs --turn-listen"},
		{name: "plain-HTTP witness refused", args: []string{"--audit-witness-url", "http://w.example/cp"}, wantErr: "https://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.ParseServe(tc.args, io.Discard, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.Listen, c.HTTPListen, c.DB, c.DataDir)
		})
	}
}

// TestParseServeOIDC: the provider's settings come from flags, the environment or, for the
// client secret, a file; an issuer over plain HTTP (off loopback) and half a configuration are
// refused at start.
func TestParseServeOIDC(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--oidc-issuer", "https://idp.example/realms/clinic", "--oidc-client-id", "haven"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		secret  string
		acr     []string
	}{
		{name: "off by default"},
		{name: "secret from the environment", args: base, env: map[string]string{"HAVEN_OIDC_CLIENT_SECRET": "from-env"}, secret: "from-env"},
		{name: "secret from a file", args: append(base, "--oidc-client-secret-file", secretFile, "--oidc-mfa-acr", "gold, urn:example:mfa"),
			secret: "from-a-file", acr: []string{"gold", "urn:example:mfa"}},
		{name: "secret twice", args: append(base, "--oidc-client-secret", "x", "--oidc-client-secret-file", secretFile), wantErr: "once"},
		{name: "no secret", args: base, wantErr: "client secret"},
		{name: "plain HTTP issuer", args: []string{"--oidc-issuer", "http://idp.example", "--oidc-client-id", "haven", "--oidc-client-secret", "s"}, wantErr: "https://"},
		{name: "loopback HTTP issuer for development", args: []string{"--oidc-issuer", "http://127.0.0.1:5556/dex", "--oidc-client-id", "haven", "--oidc-client-secret", "s"}, secret: "s"},
		{name: "settings without an issuer", args: []string{"--oidc-client-id", "haven"}, wantErr: "--oidc-issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.ParseServe(tc.args, io.Discard, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			oc := c.Identity.OIDC
			if oc.ClientSecret != tc.secret || !slices.Equal(oc.MFAACR, tc.acr) {
				t.Fatalf("secret %q acr %q, want %q %q", oc.ClientSecret, oc.MFAACR, tc.secret, tc.acr)
			}
		})
	}
}

// TestHelpHidesSecrets: `haven serve -h`, or a mistyped flag, prints every flag's default, and
// defaults come from the environment. Whoever sees the terminal (or a log that captured it) must
// not learn the SMTP password, the webhook secret, the OpenID Connect client secret or the
// database password: help says a secret is set, and shows the DSN with its password redacted.
func TestHelpHidesSecrets(t *testing.T) {
	secrets := map[string]string{
		"HAVEN_SMTP_PASSWORD":        "smtp-pw-Zq81",
		"HAVEN_ALERT_WEBHOOK_SECRET": "webhook-secret-Kp22",
		"HAVEN_OIDC_CLIENT_SECRET":   "oidc-secret-Wm93",
		"HAVEN_DB":                   "postgres://u:s3cretpw@host/db?sslpassword=keypass-Jr4",
		"HAVEN_AUDIT_WITNESS_URL":    "https://w:witness-pw-Tx5@witness.example/cp",
	}
	lookup := func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }
	hidden := []string{"smtp-pw-Zq81", "webhook-secret-Kp22", "oidc-secret-Wm93", "s3cretpw", "keypass-Jr4", "witness-pw-Tx5"}
	tests := []struct {
		name  string
		parse func(out io.Writer) error
		want  []string // what help must still say
	}{
		{"serve -h", func(out io.Writer) error { _, err := config.ParseServe([]string{"-h"}, out, lookup); return err },
			[]string{"-smtp-password string", "(set)", "postgres://u:xxxxx@host/db"}},
		{"serve with a mistyped flag", func(out io.Writer) error {
			_, err := config.ParseServe([]string{"--smtp-pasword", "x"}, out, lookup)
			return err
		}, []string{"flag provided but not defined", "(set)"}},
		{"serve with a bad value elsewhere", func(out io.Writer) error {
			_, err := config.ParseServe([]string{"--listen", "nonsense"}, out, lookup)
			return err
		}, nil},
		{"migrate -h", func(out io.Writer) error {
			_, err := config.ParseStorage("migrate", []string{"-h"}, out, lookup, false)
			return err
		},
			[]string{"postgres://u:xxxxx@host/db"}},
		{"audit verify with a mistyped flag", func(out io.Writer) error {
			_, _, err := config.ParseAuditVerify([]string{"--kee", "x"}, out, lookup)
			return err
		}, []string{"-db string"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := tc.parse(&out)
			if err == nil {
				t.Fatal("no error")
			}
			text := out.String() + "\n" + err.Error()
			for _, s := range hidden {
				if strings.Contains(text, s) {
					t.Errorf("secret %q shown:\n%s", s, text)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("help lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestSchedulingDefaults: the flags' defaults are the scheduling policy's, and bad values are
// refused with the flag's name.
func TestSchedulingDefaults(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	c, err := config.ParseServe(nil, io.Discard, none)
	if err != nil {
		t.Fatal(err)
	}
	def := visits.DefaultConfig()
	if c.Visits.CareDays != def.CareDays || c.Visits.CancelCutoff != def.CancelCutoff || c.Visits.Horizon != def.Horizon || c.Visits.OpenBooking {
		t.Errorf("defaults = %+v, want %+v", c.Visits, def)
	}
	for _, args := range [][]string{{"--cancel-cutoff", "soon"}, {"--booking-horizon", "1m"}, {"--appointment-care-days", "-1"}} {
		if _, err := config.ParseServe(args, io.Discard, none); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: err = %v, want one naming the flag", args, err)
		}
	}
}
