package tlscert

import (
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEManager obtains and renews certificates for exactly host from an ACME CA (Let's Encrypt
// unless directoryURL names another), caching account and certificates in <dataDir>/acme. Serve
// its HTTPHandler on port 80 for http-01 challenges; its GetCertificate also answers
// tls-alpn-01 when the TLS config advertises "acme-tls/1".
func ACMEManager(dataDir, host, email, directoryURL string, client *http.Client) *autocert.Manager {
	cache := filepath.Join(dataDir, "acme")
	os.MkdirAll(cache, 0o700)
	os.Chmod(cache, 0o700)
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cache),
		HostPolicy: autocert.HostWhitelist(host),
		Email:      email,
	}
	if directoryURL != "" || client != nil {
		m.Client = &acme.Client{DirectoryURL: directoryURL, HTTPClient: client}
	}
	return m
}
