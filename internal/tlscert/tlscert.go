// Package tlscert owns the certificate `haven serve` presents: a self-signed certificate kept in
// the data directory for local and private deployments, or ACME (Let's Encrypt) for a public host
// name; and the TLS settings every listener uses (TLS 1.2 or later, AEAD cipher suites only).
//
// It refuses to weaken TLS for convenience: there is no option for older protocol versions or
// CBC suites.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	validity     = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
	certFileName = "cert.pem"
	keyFileName  = "key.pem"
)

// SelfSigned returns the data directory's self-signed certificate for hosts (plus localhost and
// the loopback addresses), generating it on first use and again when it nears expiry or lacks a
// requested host. The key and certificate are written mode 0600 in <dataDir>/tls (mode 0700).
func SelfSigned(dataDir string, hosts []string, now func() time.Time) (*tls.Certificate, error) {
	dir := filepath.Join(dataDir, "tls")
	names := sanNames(hosts)
	if cert, err := load(dir); err == nil && usable(cert, names, now()) {
		return cert, nil
	}
	return generate(dir, names, now())
}

// sanNames is the sorted, de-duplicated list of names and addresses the certificate covers.
func sanNames(hosts []string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func load(dir string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, certFileName), filepath.Join(dir, keyFileName))
	if err != nil {
		return nil, err
	}
	return &cert, nil
}

// usable reports whether cert is valid for a while yet and covers every name.
func usable(cert *tls.Certificate, names []string, now time.Time) bool {
	leaf := cert.Leaf
	if leaf == nil {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

func generate(dir string, names []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlscert: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tlscert: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Haven (self-signed)"}, CommonName: names[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("tlscert: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tlscert: encode key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlscert: create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlscert: restrict %s: %w", dir, err)
	}
	// The key is written first: a certificate on disk without its key would fail every start.
	if err := writePrivate(filepath.Join(dir, keyFileName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return nil, err
	}
	if err := writePrivate(filepath.Join(dir, certFileName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return nil, err
	}
	return load(dir)
}

// writePrivate replaces path atomically with data, mode 0600.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("tlscert: write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("tlscert: restrict %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("tlscert: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tlscert: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tlscert: install %s: %w", filepath.Base(path), err)
	}
	return nil
}

// ServerTLSConfig is the TLS configuration of every Haven listener: TLS 1.2 or later, and for
// TLS 1.2 only ECDHE key exchange with AEAD ciphers (TLS 1.3 suites are all AEAD).
func ServerTLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCert,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		NextProtos:       []string{"h2", "http/1.1"},
	}
}

// privateSuffixes are name endings that no public CA will certify.
var privateSuffixes = []string{".localhost", ".local", ".internal", ".test", ".example", ".invalid", ".lan", ".home.arpa"}

// IsPublicHost reports whether host is a DNS name a public ACME CA could certify.
func IsPublicHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if host == "" || host == "localhost" || net.ParseIP(host) != nil || !strings.Contains(host, ".") {
		return false
	}
	for _, s := range privateSuffixes {
		if strings.HasSuffix(host, s) {
			return false
		}
	}
	return true
}
