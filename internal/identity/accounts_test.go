package identity

import (
	"context"
	"errors"
	"fmt"
	"haven/internal/ids"
	"net/url"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// adminFixture is an identity service with its first administrator, who has just passed a
// second factor.
type adminFixture struct {
	t   *testing.T
	s   *Service
	db  *store.DB
	by  access.Subject
	seq int
}

func newAdminFixture(t *testing.T, db *store.DB) *adminFixture {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
	s, _, _ := newTestService(t, db, now)
	token, err := s.IssueSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteSetup(ctx, token, "admin@haven.test", "Ada Admin", "violet harbour lantern 42", Origin{Addr: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := db.QueryRowContext(ctx, `SELECT id FROM accounts WHERE role = 'admin'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return &adminFixture{t: t, s: s, db: db, by: access.Subject{AccountID: id, Role: access.Admin, FactorAt: now()}}
}

// invite invites a clinician and returns the account and its link's token.
func (f *adminFixture) invite() (id, token string) {
	f.t.Helper()
	f.seq++
	id, link, err := f.s.InviteWorkforce(context.Background(), f.by, access.Clinician,
		fmt.Sprintf("dr%d@haven.test", f.seq), "Dr Test", Origin{Addr: "192.0.2.1"})
	if err != nil {
		f.t.Fatal(err)
	}
	return id, tokenOf(f.t, link)
}

// active invites a clinician who then activates the account.
func (f *adminFixture) active() string {
	f.t.Helper()
	id, token := f.invite()
	if _, _, err := f.s.ActivateInvite(context.Background(), token, "amber quarry willow 77", Origin{Addr: "192.0.2.3"}); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *adminFixture) disable(id string) {
	f.t.Helper()
	if err := f.s.Disable(context.Background(), f.by, id, Origin{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *adminFixture) status(id string) string {
	f.t.Helper()
	a, err := f.s.Account(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Status
}

// lastAction is the action of the newest audit entry about account id.
func (f *adminFixture) lastAction(id string) string {
	f.t.Helper()
	var action string
	if err := f.db.QueryRowContext(context.Background(), `SELECT action FROM audit_entries WHERE resource_id = $1 ORDER BY seq DESC LIMIT 1`, id).Scan(&action); err != nil {
		f.t.Fatal(err)
	}
	return action
}

func tokenOf(t *testing.T, l Link) string {
	t.Helper()
	u, err := url.Parse(l.URL)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q holds no token (%v)", l.URL, err)
	}
	return u.Query().Get("token")
}

// TestEnableUndoesDisable: re-enabling gives a disabled staff account back the status it would
// have had (active once activated, invited before), only to an administrator who has just
// confirmed a second factor, and only for a disabled staff account.
func TestEnableUndoesDisable(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newAdminFixture(t, db)
		clinician := func(id string) access.Subject {
			return access.Subject{AccountID: id, Role: access.Clinician, FactorAt: f.by.FactorAt}
		}
		stale := f.by
		stale.FactorAt = time.Time{}
		for _, tc := range []struct {
			name       string
			account    func() string // the account to enable, in its state before
			by         func(id string) access.Subject
			want       error
			wantStatus string
		}{
			{"an activated account is active again", func() string { id := f.active(); f.disable(id); return id }, nil, nil, StatusActive},
			{"an invited account is invited again", func() string { id, _ := f.invite(); f.disable(id); return id }, nil, nil, StatusInvited},
			{"an account that is not disabled", f.active, nil, ErrNotDisabled, StatusActive},
			{"without a recent second factor", func() string { id := f.active(); f.disable(id); return id },
				func(string) access.Subject { return stale }, guard.ErrStepUpRequired, StatusDisabled},
			{"by a clinician, even their own", func() string { id := f.active(); f.disable(id); return id },
				clinician, guard.ErrForbidden, StatusDisabled},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := tc.account()
				by := f.by
				if tc.by != nil {
					by = tc.by(id)
				}
				err := f.s.Enable(context.Background(), by, id, Origin{})
				if !errors.Is(err, tc.want) {
					t.Fatalf("Enable = %v, want %v", err, tc.want)
				}
				if got := f.status(id); got != tc.wantStatus {
					t.Fatalf("status after = %q, want %q", got, tc.wantStatus)
				}
				if tc.want == nil {
					if got := f.lastAction(id); got != string(access.EnableStaff) {
						t.Fatalf("last audit entry = %q, want %s", got, access.EnableStaff)
					}
				}
			})
		}
		t.Run("unknown or patient accounts are no staff account", func(t *testing.T) {
			pid := ids.New()
			if _, _, err := f.s.CreatePatientAccount(context.Background(), db, f.by, pid, "patient@example.test", ""); err != nil {
				t.Fatal(err)
			}
			var patientAcct string
			if err := db.QueryRowContext(context.Background(), `SELECT id FROM accounts WHERE patient_id = $1`, pid).Scan(&patientAcct); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"no-such-account", patientAcct} {
				if err := f.s.Enable(context.Background(), f.by, id, Origin{}); !fault.Is(err, fault.Invalid) {
					t.Errorf("Enable(%s) = %v, want invalid", id, err)
				}
			}
		})
	})
}

// TestDisableVoidsOutstandingLinks: a link issued before an account was disabled opens nothing
// after it is enabled again; the administrator sends a new one.
func TestDisableVoidsOutstandingLinks(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		invited, inviteToken := f.invite()
		activated := f.active()
		reset, err := f.s.ResetStaffPassword(ctx, f.by, activated, Origin{})
		if err != nil {
			t.Fatal(err)
		}
		resetToken := tokenOf(t, reset)
		for _, id := range []string{invited, activated} {
			f.disable(id)
			if err := f.s.Enable(ctx, f.by, id, Origin{}); err != nil {
				t.Fatal(err)
			}
		}
		if f.s.InviteValid(ctx, inviteToken) {
			t.Error("an invitation issued before the account was disabled still works")
		}
		if f.s.ResetValid(ctx, resetToken) {
			t.Error("a reset link issued before the account was disabled still works")
		}
	})
}

// TestResendInvite: a lost invitation is replaced by a new single-use link; the old one stops
// working, and only an account still invited gets one.
func TestResendInvite(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		stale := f.by
		stale.FactorAt = time.Time{}
		for _, tc := range []struct {
			name    string
			account func() (id, oldToken string)
			by      access.Subject
			want    error
		}{
			{"an invited account gets a new link", f.invite, f.by, nil},
			{"an activated account needs a reset instead", func() (string, string) { return f.active(), "" }, f.by, ErrNotInvited},
			{"a disabled account is enabled first", func() (string, string) { id, tok := f.invite(); f.disable(id); return id, tok }, f.by, ErrNotInvited},
			{"without a recent second factor", f.invite, stale, guard.ErrStepUpRequired},
			{"no such account", func() (string, string) { return "no-such-account", "" }, f.by, ErrInvalidInput},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id, old := tc.account()
				link, err := f.s.ResendInvite(ctx, tc.by, id, Origin{})
				if !errors.Is(err, tc.want) {
					t.Fatalf("ResendInvite = %v, want %v", err, tc.want)
				}
				if tc.want != nil {
					if link != (Link{}) {
						t.Fatalf("a refused re-send returned a link")
					}
					if old != "" && tc.want == guard.ErrStepUpRequired && !f.s.InviteValid(ctx, old) {
						t.Fatal("a refused re-send voided the earlier link")
					}
					return
				}
				if f.s.InviteValid(ctx, old) {
					t.Fatal("the earlier link still works")
				}
				if got := f.lastAction(id); got != "account.invite-link" {
					t.Fatalf("last audit entry = %q, want the link's delivery", got)
				}
				if _, _, err := f.s.ActivateInvite(ctx, tokenOf(t, link), "amber quarry willow 77", Origin{}); err != nil {
					t.Fatalf("the new link: %v", err)
				}
				if _, err := f.s.ResendInvite(ctx, f.by, id, Origin{}); !errors.Is(err, ErrNotInvited) {
					t.Fatalf("re-send after activation = %v, want ErrNotInvited", err)
				}
			})
		}
	})
}

// TestSessionsNameTheDevice: the session list names each device in words, beside the header it
// came from.
func TestSessionsNameTheDevice(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newAdminFixture(t, db)
		const phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1"
		token, _, err := f.s.Login(ctx, "admin@haven.test", "violet harbour lantern 42", Origin{Addr: "192.0.2.4", UserAgent: phone})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := f.s.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		list, err := f.s.Sessions(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, si := range list {
			if si.Current {
				found = true
				if si.DeviceName != "Safari on iPhone" || si.Device != phone {
					t.Fatalf("current session: device %q named %q", si.Device, si.DeviceName)
				}
			}
		}
		if !found {
			t.Fatal("the current session is not listed")
		}
	})
}
