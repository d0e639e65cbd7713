package store

import (
	"net/url"
	"slices"
	"strings"
)

// redacted stands for a secret that was removed from a DSN.
const redacted = "xxxxx"

// RedactDSN returns dsn with every password in it (the user information's and the password and
// sslpassword parameters) replaced by "xxxxx", for help text and error messages. A SQLite path
// comes back unchanged.
func RedactDSN(dsn string) string {
	return redactAll(dsn, dsnSecrets(dsn))
}

// dsnSecrets lists the passwords in a postgres:// DSN, as written and unescaped, longest first.
// It reads the DSN by hand rather than with url.Parse, which refuses forms PostgreSQL accepts
// (several hosts, for one) and would then find nothing to hide.
func dsnSecrets(dsn string) []string {
	if !IsPostgresDSN(dsn) {
		return nil
	}
	_, rest, _ := strings.Cut(dsn, "://")
	var secrets []string
	add := func(s string) {
		if s == "" {
			return
		}
		secrets = append(secrets, s)
		if u, err := url.PathUnescape(s); err == nil && u != s && u != "" {
			secrets = append(secrets, u)
		}
		if u, err := url.QueryUnescape(s); err == nil && u != s && u != "" {
			secrets = append(secrets, u)
		}
	}
	authority, query := rest, ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		authority, query = rest[:i], rest[i+1:]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if _, pw, ok := strings.Cut(authority[:at], ":"); ok {
			add(pw)
		}
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k = strings.ToLower(k); k == "password" || k == "sslpassword" {
			add(v)
		}
	}
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return secrets
}

func redactAll(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// redactedError is an error whose text has a DSN's passwords removed; errors.Is and errors.As
// still reach the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactDSN keeps the passwords of dsn out of err's text.
func redactDSN(err error, dsn string) error {
	secrets := dsnSecrets(dsn)
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &redactedError{msg: redactAll(err.Error(), secrets), err: err}
}
