package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"haven/internal/identity/passkey/passkeytest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestCanRemove is the last-factor rule: an account keeps a second factor its role's policy
// accepts, so no removal leaves it signing in with a password alone (or, where passkeys are
// required, with an authenticator app the policy refuses).
func TestCanRemove(t *testing.T) {
	for _, tc := range []struct {
		name string
		have factorCount
		kind string
		want error
	}{
		{"last passkey, no TOTP", factorCount{Passkeys: 1}, factorPasskey, ErrLastFactor},
		{"last passkey, TOTP left", factorCount{Passkeys: 1, TOTP: true}, factorPasskey, nil},
		{"last passkey, TOTP left, passkeys required", factorCount{Passkeys: 1, TOTP: true, PasskeyRequired: true}, factorPasskey, ErrLastFactor},
		{"one of two passkeys, passkeys required", factorCount{Passkeys: 2, PasskeyRequired: true}, factorPasskey, nil},
		{"one of two passkeys, no TOTP", factorCount{Passkeys: 2}, factorPasskey, nil},
		{"a passkey the account does not have", factorCount{}, factorPasskey, ErrLastFactor},
		{"TOTP, no passkey", factorCount{TOTP: true}, factorTOTP, ErrLastFactor},
		{"TOTP, a passkey left", factorCount{TOTP: true, Passkeys: 1}, factorTOTP, nil},
		{"TOTP, a passkey left, passkeys required", factorCount{TOTP: true, Passkeys: 1, PasskeyRequired: true}, factorTOTP, nil},
		{"TOTP the account does not have, no passkey", factorCount{}, factorTOTP, ErrLastFactor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.have.canRemove(tc.kind); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%+v.canRemove(%s) = %v, want %v", tc.have, tc.kind, err, tc.want)
			}
		})
	}
	if err := (factorCount{TOTP: true, Passkeys: 3}).canRemove("password"); err == nil || errors.Is(err, ErrLastFactor) {
		t.Errorf("canRemove of an unknown kind = %v, want an internal error", err)
	}
}

// registerPasskey adds a passkey from a to p's account through the ceremony a browser runs, and
// returns what the registration gave back.
func (e *testEnv) registerPasskey(p *person, a *passkeytest.Authenticator, name string) Enrolled {
	e.t.Helper()
	sess := e.session(p)
	opts, err := e.s.BeginPasskeyRegistration(e.ctx, sess)
	if err != nil {
		e.t.Fatalf("BeginPasskeyRegistration = %v", err)
	}
	cred, err := a.Create(opts.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		e.t.Fatal(err)
	}
	done, err := e.s.FinishPasskeyRegistration(e.ctx, sess, opts.Ceremony, name, raw, e.at)
	if err != nil {
		e.t.Fatalf("FinishPasskeyRegistration = %v", err)
	}
	_, err = e.s.FinishPasskeyRegistration(e.ctx, sess, opts.Ceremony, name, raw, e.at)
	wantErr(e.t, "the same registration ceremony again", err, ErrPasskeyInvalid)
	return done
}

// factors is what p's account holds: an authenticator app, and its passkeys by name.
func (e *testEnv) factors(p *person) (totp bool, passkeys map[string]string) {
	e.t.Helper()
	sess := e.session(p)
	acct, err := e.s.Account(e.ctx, sess.Subject.AccountID)
	if err != nil {
		e.t.Fatal(err)
	}
	list, err := e.s.Passkeys(e.ctx, sess)
	if err != nil {
		e.t.Fatal(err)
	}
	passkeys = map[string]string{}
	for _, pk := range list {
		passkeys[pk.Name] = pk.ID
	}
	return acct.HasTOTP, passkeys
}

// TestRemovingFactors walks the last-factor rule through the exported API with real passkeys
// (registered by a software authenticator) on both databases: every refused removal leaves the
// factor in place, and the organisation's passkey policy, switched on after enrolment, keeps a
// staff member's last passkey even beside an authenticator app.
func TestRemovingFactors(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		strictCfg := e.s.cfg
		strictCfg.RequireWorkforcePasskey = true
		strict, err := New(strictCfg, db, e.s.dir, e.s.door, e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(strict.Wait)

		wantErr(t, "removing TOTP, no passkey", e.s.RemoveTOTP(e.ctx, e.session(admin), e.at), ErrLastFactor)
		if totp, _ := e.factors(admin); !totp {
			t.Fatal("a refused removal removed the authenticator app")
		}

		e.registerPasskey(admin, &passkeytest.Authenticator{Origin: testOrigin}, "Phone")
		_, keys := e.factors(admin)
		wantErr(t, "removing the last passkey beside TOTP, passkeys required",
			strict.RemovePasskey(e.ctx, e.session(admin), keys["Phone"], e.at), ErrLastFactor)
		if _, keys := e.factors(admin); len(keys) != 1 {
			t.Fatalf("a refused removal removed the passkey: %v", keys)
		}
		wantErr(t, "removing the last passkey beside TOTP", e.s.RemovePasskey(e.ctx, e.session(admin), keys["Phone"], e.at), nil)
		if got := e.lastAudit(); got[0] != "auth.passkey-remove" || got[1] != "success" {
			t.Errorf("audit of the removal = %v", got)
		}
		wantErr(t, "removing it again", e.s.RemovePasskey(e.ctx, e.session(admin), keys["Phone"], e.at), ErrPasskeyNotFound)

		laptop := &passkeytest.Authenticator{Origin: testOrigin}
		e.registerPasskey(admin, laptop, "Laptop")
		wantErr(t, "removing TOTP, a passkey left", e.s.RemoveTOTP(e.ctx, e.session(admin), e.at), nil)
		totp, keys := e.factors(admin)
		if totp || len(keys) != 1 {
			t.Fatalf("after removing TOTP: totp %v, passkeys %v", totp, keys)
		}
		wantErr(t, "removing the last passkey, no TOTP", e.s.RemovePasskey(e.ctx, e.session(admin), keys["Laptop"], e.at), ErrLastFactor)
		if _, keys := e.factors(admin); len(keys) != 1 {
			t.Fatalf("a refused removal removed the passkey: %v", keys)
		}

		// The passkey left still signs in, without a password.
		opts, err := e.s.BeginPasskeySignIn(e.ctx, e.at)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := laptop.Get(opts.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(cred)
		token, err := e.s.FinishPasskeySignIn(e.ctx, opts.Ceremony, raw, e.at)
		if err != nil {
			t.Fatalf("FinishPasskeySignIn = %v", err)
		}
		if sess, err := e.s.Authenticate(e.ctx, token); err != nil || sess.Stage != StageFull || sess.Subject.AccountID != e.session(admin).Subject.AccountID {
			t.Fatalf("passkey sign-in: %+v, %v", sess, err)
		}
	})
}

// TestConcurrentRemovalsKeepAFactor: with an authenticator app and one passkey, removing both
// at once must leave one. Each removal, once its check has passed, waits a moment for the other
// to pass its check too, which the account's row lock must prevent: the second removal checks
// only after the first is committed, and is refused.
func TestConcurrentRemovalsKeepAFactor(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		e.registerPasskey(admin, &passkeytest.Authenticator{Origin: testOrigin}, "Phone")
		_, keys := e.factors(admin)
		sess := e.session(admin)
		var checked atomic.Int32
		waitForTheOther := func() {
			checked.Add(1)
			for deadline := time.Now().Add(300 * time.Millisecond); checked.Load() < 2 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		}
		removals := map[string]func(tx *sql.Tx) error{
			factorTOTP: func(tx *sql.Tx) error {
				waitForTheOther()
				_, err := tx.ExecContext(e.ctx, `UPDATE accounts SET totp_secret_ct = NULL WHERE id = $1`, sess.Subject.AccountID)
				return err
			},
			factorPasskey: func(tx *sql.Tx) error {
				waitForTheOther()
				_, err := tx.ExecContext(e.ctx, deletePasskey, keys["Phone"], sess.Subject.AccountID)
				return err
			},
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := map[string]error{}
		for kind, remove := range removals {
			wg.Go(func() {
				err := e.s.removeFactor(context.Background(), sess, kind, remove)
				mu.Lock()
				errs[kind] = err
				mu.Unlock()
			})
		}
		wg.Wait()
		ok := 0
		for kind, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrLastFactor):
				t.Fatalf("removing %s: %v", kind, err)
			}
		}
		totp, left := e.factors(admin)
		if ok != 1 || (!totp && len(left) == 0) {
			t.Fatalf("%d removals succeeded (%v); left: totp %v, passkeys %v", ok, errs, totp, left)
		}
	})
}
