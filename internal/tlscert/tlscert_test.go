package tlscert_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"haven/internal/tlscert"
)

func TestSelfSignedIsPrivateReusedAndRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c1, err := tlscert.SelfSigned(dir, []string{"clinic.example.test"}, clock)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"tls": 0o700, "tls/cert.pem": 0o600, "tls/key.pem": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", name, fi.Mode().Perm(), want)
		}
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "clinic.example.test"} {
		if err := c1.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	c2, _ := tlscert.SelfSigned(dir, []string{"clinic.example.test"}, clock)
	if c1.Leaf.SerialNumber.Cmp(c2.Leaf.SerialNumber) != 0 {
		t.Error("a valid certificate was not reused")
	}
	c3, _ := tlscert.SelfSigned(dir, []string{"other.example.test"}, clock)
	if c3.Leaf.SerialNumber.Cmp(c2.Leaf.SerialNumber) == 0 || c3.Leaf.VerifyHostname("other.example.test") != nil {
		t.Error("a certificate lacking a requested host was not replaced")
	}
	now = now.Add(340 * 24 * time.Hour)
	c4, _ := tlscert.SelfSigned(dir, []string{"other.example.test"}, clock)
	if c4.Leaf.SerialNumber.Cmp(c3.Leaf.SerialNumber) == 0 {
		t.Error("a certificate expiring within 30 days was not renewed")
	}
}

// TestHandshakePolicy makes real handshakes: TLS 1.2 with AEAD and TLS 1.3 succeed; TLS 1.1 and
// a CBC suite are refused.
func TestHandshakePolicy(t *testing.T) {
	cert, err := tlscert.SelfSigned(t.TempDir(), nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlscert.ServerTLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { c.(*tls.Conn).Handshake(); c.Close() }(c)
		}
	}()
	tests := []struct {
		name string
		conf *tls.Config
		ok   bool
	}{
		{"tls1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"tls1.2 aead", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"tls1.2 cbc refused", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
		{"tls1.1 refused", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := tc.conf.Clone()
			conf.InsecureSkipVerify = true // the self-signed certificate; the test is about the handshake
			c, err := tls.Dial("tcp", ln.Addr().String(), conf)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("handshake err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestIsPublicHost(t *testing.T) {
	for host, want := range map[string]bool{
		"haven.clinic.org": true, "telehealth.example.com": true, "HAVEN.CLINIC.ORG.": true,
		"localhost": false, "127.0.0.1": false, "::1": false, "haven": false, "haven.local": false,
		"dev.localhost": false, "clinic.test": false, "box.internal": false, "": false,
	} {
		if got := tlscert.IsPublicHost(host); got != want {
			t.Errorf("IsPublicHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestACMEManagerServesOnlyItsHost(t *testing.T) {
	dir := t.TempDir()
	m := tlscert.ACMEManager(dir, "haven.clinic.org", "ops@clinic.org", "https://127.0.0.1:1/dir", nil)
	if err := m.HostPolicy(t.Context(), "haven.clinic.org"); err != nil {
		t.Fatalf("own host refused: %v", err)
	}
	if err := m.HostPolicy(t.Context(), "evil.example.com"); err == nil {
		t.Fatal("another host accepted")
	}
	fi, err := os.Stat(filepath.Join(dir, "acme"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("acme cache dir: %v %v", fi, err)
	}
}
