package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"haven/internal/store"
)

// TestRedactDSN: a database password never reaches help text or an error message, whichever
// way the DSN carries it.
func TestRedactDSN(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:s3cretpw@host/db", "postgres://u:xxxxx@host/db"},
		{"postgresql://u:p%40ss@host:5432/db?sslmode=require", "postgresql://u:xxxxx@host:5432/db?sslmode=require"},
		{"postgres://u@host/db?password=s3cretpw&sslpassword=k3y", "postgres://u@host/db?password=xxxxx&sslpassword=xxxxx"},
		{"postgres://u:s3cretpw@h1:5432,h2:5432/db", "postgres://u:xxxxx@h1:5432,h2:5432/db"},
		{"postgres://host/db", "postgres://host/db"},
		{"haven-data/haven.db", "haven-data/haven.db"},
	}
	for _, tc := range tests {
		if got := store.RedactDSN(tc.dsn); got != tc.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

// TestOpenErrorHidesPassword: a PostgreSQL that cannot be reached is reported without the
// password of the DSN that named it (pgx already hides it in its own messages; store hides it
// again, so that a change of driver cannot bring it back).
func TestOpenErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://haven:s3cretpw@127.0.0.1:1/db?connect_timeout=2",
		"postgres://haven:s3cretpw@127.0.0.1:notaport/db",
	} {
		_, err := store.Open(ctx, dsn)
		if err == nil {
			t.Fatalf("opened %s", store.RedactDSN(dsn))
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
