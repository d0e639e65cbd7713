package web

import (
	"strings"
	"testing"
)

// TestSafeNextStopsOpenRedirects: ?next= is followed only to a path on this site. Each refused
// case is a way a browser, a proxy or a URL parser would read the path as another origin (or a
// script) although a naive "starts with one slash" check lets it through.
func TestSafeNextStopsOpenRedirects(t *testing.T) {
	for _, tc := range []struct {
		attack, next, want string
	}{
		// Good paths come back unchanged, queries and fragments included.
		{"", "/", "/"},
		{"", "/admin", "/admin"},
		{"", "/totp/enrol", "/totp/enrol"},
		{"", "/account?done=passkey-added", "/account?done=passkey-added"},
		{"", "/auditor?resolved=1&x=%2F", "/auditor?resolved=1&x=%2F"},
		{"", "/clinician/patients/AbC-d_9", "/clinician/patients/AbC-d_9"},
		{"", "/patient#access-log", "/patient#access-log"},
		{"", "/a%2Fb", "/a%2Fb"}, // an encoded slash after the first segment cannot change the origin

		// Browsers drop tabs and newlines from URLs: "/\t/evil" becomes "//evil".
		{"tab after the first slash", "/\t/evil.example", "/"},
		{"newline after the first slash", "/\n/evil.example", "/"},
		{"carriage return after the first slash", "/\r/evil.example", "/"},
		{"tab inside a path", "/admin\t", "/"},
		{"NUL", "/admin\x00", "/"},
		{"DEL", "/\x7f/evil.example", "/"},
		{"C1 control (NEL)", "/\u0085/evil.example", "/"},
		{"space before the host", "/ /evil.example", "/"},
		{"leading space", " //evil.example", "/"},
		{"non-ASCII slash look-alike", "/\uff0fevil.example", "/"},
		// Browsers read a backslash as a slash in http(s) URLs.
		{"slash backslash", "/\\evil.example", "/"},
		{"backslash slash", "\\/evil.example", "/"},
		{"backslash inside a path", "/admin\\..\\..\\evil", "/"},
		// Protocol-relative: another host, same scheme.
		{"protocol-relative", "//evil.example", "/"},
		{"protocol-relative with path", "//evil.example/x", "/"},
		{"triple slash", "///evil.example", "/"},
		// Encoded slashes and backslashes, decoded by a proxy or a lenient server.
		{"encoded slash at the start", "/%2f/evil.example", "/"},
		{"encoded slash, upper case", "/%2F/evil.example", "/"},
		{"encoded backslash at the start", "/%5c/evil.example", "/"},
		{"encoded backslash, upper case", "/%5C/evil.example", "/"},
		{"encoded backslash inside", "/admin%5c..%5cevil", "/"},
		{"doubly encoded slash", "/%252f/evil.example", "/"},
		{"triply encoded slash", "/%25252f/evil.example", "/"},
		{"encoded tab", "/%09/evil.example", "/"},
		{"encoded newline", "/%0a/evil.example", "/"},
		{"malformed escape", "/%zz", "/"},
		// Schemes and hosts.
		{"absolute https URL", "https://evil.example", "/"},
		{"absolute URL without slashes", "https:evil.example", "/"},
		{"javascript URL", "javascript:alert(1)", "/"},
		{"data URL", "data:text/html,<script>alert(1)</script>", "/"},
		{"user info", "//user@evil.example", "/"},
		// Anything that does not start with a single slash.
		{"empty", "", "/"},
		{"relative path", "admin", "/"},
		{"relative dot path", "./admin", "/"},
		{"query only", "?next=//evil.example", "/"},
		{"too long", "/" + strings.Repeat("a", maxNext), "/"},
	} {
		name := tc.attack
		if name == "" {
			name = "good " + tc.next
		}
		t.Run(name, func(t *testing.T) {
			if got := safeNext(tc.next); got != tc.want {
				t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
			}
		})
	}
}

// FuzzSafeNext: whatever it is given, safeNext returns a path a browser resolves on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/admin?x=1", "/\t/evil", "//evil", "/%2f/evil", "/\\evil", "https:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("safeNext(%q) = %q: not a local path", next, got)
		}
	})
}
