package oidc_test

import (
	"strings"
	"testing"
	"time"

	"haven/internal/identity/oidc"
)

func TestValidate(t *testing.T) {
	good := oidc.Config{Issuer: "https://idp.example/realms/clinic", ClientID: "haven", ClientSecret: "s", RedirectURL: "https://haven.example/auth/oidc/callback"}
	tests := []struct {
		name    string
		change  func(*oidc.Config)
		wantErr string
	}{
		{"good", func(*oidc.Config) {}, ""},
		{"loopback over http", func(c *oidc.Config) { c.Issuer = "http://127.0.0.1:5556/dex" }, ""},
		{"localhost over http", func(c *oidc.Config) { c.Issuer = "http://localhost:8080/realms/x" }, ""},
		{"plain http elsewhere", func(c *oidc.Config) { c.Issuer = "http://idp.example" }, "https://"},
		{"a host that merely starts like loopback", func(c *oidc.Config) { c.Issuer = "http://127.0.0.1.evil.example" }, "https://"},
		{"not a URL", func(c *oidc.Config) { c.Issuer = "idp.example" }, "not a URL"},
		{"query in the issuer", func(c *oidc.Config) { c.Issuer = "https://idp.example/?x=1" }, "not a URL"},
		{"no client ID", func(c *oidc.Config) { c.ClientID = "" }, "client ID"},
		{"no secret", func(c *oidc.Config) { c.ClientSecret = "" }, "client secret"},
		{"plain http callback", func(c *oidc.Config) { c.RedirectURL = "http://haven.example/auth/oidc/callback" }, "redirect URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			_, err := oidc.New(c, time.Now)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestAssertsMFA: amr "mfa" or a configured acr counts; single methods, unknown acr values and
// look-alikes do not.
func TestAssertsMFA(t *testing.T) {
	c, err := oidc.New(oidc.Config{Issuer: "https://idp.example", ClientID: "haven", ClientSecret: "s",
		RedirectURL: "https://haven.example/auth/oidc/callback", MFAACR: []string{"urn:example:mfa", "gold"}}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		claims oidc.Claims
		want   bool
	}{
		{oidc.Claims{AMR: []string{"pwd", "mfa"}}, true},
		{oidc.Claims{AMR: []string{"mfa"}}, true},
		{oidc.Claims{ACR: "gold"}, true},
		{oidc.Claims{ACR: "urn:example:mfa", AMR: []string{"pwd"}}, true},
		{oidc.Claims{}, false},
		{oidc.Claims{AMR: []string{"pwd"}}, false},
		{oidc.Claims{AMR: []string{"hwk"}}, false},
		{oidc.Claims{AMR: []string{"pwd", "otp"}}, false}, // two methods, but the provider did not say MFA
		{oidc.Claims{AMR: []string{"MFA"}}, false},
		{oidc.Claims{ACR: "Gold"}, false},
		{oidc.Claims{ACR: "urn:example:mfa:weak"}, false},
	}
	for _, tc := range tests {
		if got := c.AssertsMFA(tc.claims); got != tc.want {
			t.Errorf("AssertsMFA(%+v) = %v, want %v", tc.claims, got, tc.want)
		}
	}
}
