package identity

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/identity/password"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// Where the test service's passkeys are used from.
const (
	testRPID   = "haven.test"
	testOrigin = "https://haven.test"
)

// newTestService is an identity service on db with real keys, the real policy and audit log
// behind the door (which counts the entries it writes), cheap hashing, passkeys at testOrigin,
// and work after the answer held in the returned queue until the test runs it.
func newTestService(t *testing.T, db *store.DB, now func() time.Time) (*Service, *guard.Door, *[]func()) {
	t.Helper()
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Open(context.Background(), db, kek)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.PasswordParams = password.Params{MemoryKiB: 1024, Time: 1, Threads: 1}
	cfg.PasskeyRPID, cfg.PasskeyOrigin = testRPID, testOrigin
	door := guard.New(access.New(noCareTeam{}), audit.New(db, now), now)
	s, err := New(cfg, db, k, door, now)
	if err != nil {
		t.Fatal(err)
	}
	var held []func()
	s.later = func(work func()) { held = append(held, work) }
	t.Cleanup(s.Wait)
	return s, door, &held
}

// noCareTeam answers no care-team question: identity's tests need none.
type noCareTeam struct{}

func (noCareTeam) CareRelation(context.Context, string, string) (string, error) { return "", nil }

// TestUnknownAndKnownAccountsDoTheSameWorkBeforeAnswering is the timing side of enumeration:
// before Login returns, a wrong password on a known account and a sign-in to an unknown one run
// the same argon2id evaluations, append one audit entry each and write no other row, so that
// neither takes longer to answer; the known account's failure is counted after the answer.
// Rows are counted by database triggers, whoever writes them. (How many rows an audit append
// writes depends on the entry's place in the log's hash tree, not on the account: the audit log
// is compared by appends.)
func TestUnknownAndKnownAccountsDoTheSameWorkBeforeAnswering(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
		s, aud, held := newTestService(t, db, now)
		token, err := s.IssueSetupToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const known = "admin@haven.test"
		if _, err := s.CompleteSetup(ctx, token, known, "Ada Admin", "violet harbour lantern 42", Origin{Addr: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		writes := storetest.CountWrites(t, db)
		type work struct {
			Hashes, Appends int
			Rows            map[string]int // outside the audit log, by table
		}
		attempt := func(email string) work {
			t.Helper()
			hashes, appends, before := s.hasher.Runs(s.cfg.PasswordParams), aud.Written(), writes()
			_, _, err := s.Login(ctx, email, "not the password", Origin{Addr: "192.0.2.2"})
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("Login(%s) = %v, want ErrInvalidCredentials", email, err)
			}
			w := work{Hashes: int(s.hasher.Runs(s.cfg.PasswordParams) - hashes), Appends: int(aud.Written() - appends), Rows: map[string]int{}}
			for tbl, n := range writes() {
				if n -= before[tbl]; n != 0 && !strings.HasPrefix(tbl, "audit_") {
					w.Rows[tbl] = n
				}
			}
			return w
		}
		want := work{Hashes: 1, Appends: 1, Rows: map[string]int{}}
		if diff := cmp.Diff(want, attempt("nobody@haven.test")); diff != "" {
			t.Errorf("unknown account, work before answering (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, attempt(known)); diff != "" {
			t.Errorf("known account, wrong password, work before answering (-want +got):\n%s", diff)
		}

		// After the answer, the known account's failure is counted, and only that.
		if len(*held) != 1 {
			t.Fatalf("work after the answer: %d items, want 1 (the known account's failure)", len(*held))
		}
		before := writes()
		(*held)[0]()
		if after := writes(); after["accounts"] != before["accounts"]+1 {
			t.Fatalf("after the answer, accounts rows written %d → %d, want one more", before["accounts"], after["accounts"])
		}
		var failed int
		if err := db.QueryRowContext(ctx, `SELECT failed_logins FROM accounts WHERE role = 'admin'`).Scan(&failed); err != nil || failed != 1 {
			t.Fatalf("failed_logins = %d, %v; want 1", failed, err)
		}
	})
}
