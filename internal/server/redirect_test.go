package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirectIgnoresForgedHost: the plain-HTTP listener redirects to --base-url, keeping path
// and query. An attacker who sends `Host: evil.example` (or an absolute request URI naming
// another site) must not get a redirect to it: that would make Haven an open redirector, and
// with a poisoned cache, send patients to a phishing copy.
func TestRedirectIgnoresForgedHost(t *testing.T) {
	h := redirectToHTTPS("https://haven.example:8443/")
	tests := []struct {
		name, target, host, want string
	}{
		{"ordinary", "/login?x=1", "haven.example", "https://haven.example:8443/login?x=1"},
		{"forged Host header", "/login?x=1", "evil.example", "https://haven.example:8443/login?x=1"},
		{"forged Host with port", "/", "evil.example:80", "https://haven.example:8443/"},
		{"absolute request URI", "http://evil.example/patients?id=7", "evil.example", "https://haven.example:8443/patients?id=7"},
		{"scheme-relative path", "//evil.example/x", "evil.example", "https://haven.example:8443//evil.example/x"},
		{"escaped path kept", "/a%2Fb?q=%20", "evil.example", "https://haven.example:8443/a%2Fb?q=%20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tc.want {
				t.Fatalf("%d Location %q, want 308 %q", w.Code, w.Header().Get("Location"), tc.want)
			}
		})
	}
}
