package identity

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/identity/passkey/passkeytest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// checkCodes fails unless codes are RecoveryCodeCount distinct codes, each XXXX-XXXX-XXXX-XXXX.
func checkCodes(t *testing.T, what string, codes []string) {
	t.Helper()
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%s: %d recovery codes, want %d", what, len(codes), RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryCodeShape.MatchString(c) || seen[c] {
			t.Fatalf("%s: code %q is not XXXX-XXXX-XXXX-XXXX, or repeated", what, c)
		}
		seen[c] = true
	}
}

// firstCodesRecorded counts the audit entries of recovery codes issued with a first factor.
func (e *testEnv) firstCodesRecorded(accountID string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM audit_entries WHERE action = 'auth.recovery-codes'
		AND outcome = 'success' AND reason = $1 AND resource_id = $2`, reasonFirstCodes, accountID).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestFirstFactorComesWithRecoveryCodes: the enrolment that gives an account its first second
// factor (an authenticator app or a passkey, while signing in or from a password-only patient's
// signed-in session) also gives it ten recovery codes, once, recorded; each works once at
// sign-in however it is typed. A later enrolment gives none, not even once the codes are all
// used; where staff must use passkeys, none are issued, since none would be accepted.
func TestFirstFactorComesWithRecoveryCodes(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		adminID := e.session(admin).Subject.AccountID
		checkCodes(t, "first authenticator app", admin.codes)
		if n := e.firstCodesRecorded(adminID); n != 1 {
			t.Errorf("%d audit entries of first codes, want 1", n)
		}
		if n, err := e.s.RecoveryCodesLeft(e.ctx, adminID); err != nil || n != RecoveryCodeCount {
			t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", n, err, RecoveryCodeCount)
		}

		typed := []func(string) string{
			func(c string) string { return c },
			strings.ToLower,
			func(c string) string { return strings.ReplaceAll(strings.ToLower(c), "-", "") },
			func(c string) string { return " " + strings.ReplaceAll(c, "-", " ") + " " },
		}
		for i, code := range admin.codes {
			if i%4 == 0 {
				e.clock.Advance(time.Minute) // past the per-minute attempt limits
			}
			_, err := e.secondFactor(admin, typed[i%len(typed)](code))
			wantErr(t, fmt.Sprintf("first code #%d at sign-in", i), err, nil)
			if got, want := e.lastAudit(), [3]string{"auth.second-factor", "success", reasonRecoveryCode}; got != want {
				t.Errorf("audit of code #%d = %v, want %v", i, got, want)
			}
			_, err = e.secondFactor(admin, code)
			wantErr(t, "the same code again", err, ErrInvalidCode)
		}

		// A later factor, even on an account whose codes are all used, comes with none.
		e.clock.nextStep()
		if admin.token, _ = e.secondFactor(admin, e.code(admin)); admin.token == "" {
			t.Fatal("sign-in with the authenticator app failed")
		}
		if done := e.registerPasskey(admin, &passkeytest.Authenticator{Origin: testOrigin}, "Phone"); done.RecoveryCodes != nil || done.Token != "" {
			t.Errorf("a second factor's registration gave %+v, want neither codes nor a token", done)
		}
		if n := e.firstCodesRecorded(adminID); n != 1 {
			t.Errorf("%d audit entries of first codes after a second factor, want 1", n)
		}

		// A passkey first, while signing in: codes and a signed-in session; an app later: none.
		clin := e.invite(admin, "clin@haven.test")
		clinID := e.session(clin).Subject.AccountID
		done := e.registerPasskey(clin, &passkeytest.Authenticator{Origin: testOrigin}, "Laptop")
		checkCodes(t, "first passkey", done.RecoveryCodes)
		if done.Token == "" {
			t.Fatal("the first passkey did not complete sign-in")
		}
		clin.token = done.Token
		if sess := e.session(clin); sess.Stage != StageFull {
			t.Fatalf("after the first passkey: stage %q", sess.Stage)
		}
		k, err := e.s.BeginTOTPEnrolment(e.ctx, e.session(clin))
		if err != nil {
			t.Fatal(err)
		}
		clin.secret = k.Secret
		later, err := e.s.ConfirmTOTPEnrolment(e.ctx, e.session(clin), e.code(clin), e.at)
		if err != nil || later.RecoveryCodes != nil || later.Token != "" {
			t.Fatalf("an app after a passkey = %+v, %v; want no codes and the same session", later, err)
		}
		if n := e.firstCodesRecorded(clinID); n != 1 {
			t.Errorf("%d audit entries of the clinician's first codes, want 1", n)
		}

		// A patient whose long passphrase stands alone adds a first factor once signed in.
		patient := &person{email: "pat@example.test", pw: "quiet orchard bicycle river"}
		_, token, err := e.s.CreatePatientAccount(e.ctx, db, e.session(admin).Subject, "patient-1", patient.email, "")
		if err != nil {
			t.Fatal(err)
		}
		var stage Stage
		if patient.token, stage, err = e.s.ActivateInvite(e.ctx, token, patient.pw, e.at); err != nil || stage != StageFull {
			t.Fatalf("ActivateInvite with a long passphrase = %q, %v; want %q", stage, err, StageFull)
		}
		if k, err = e.s.BeginTOTPEnrolment(e.ctx, e.session(patient)); err != nil {
			t.Fatal(err)
		}
		patient.secret = k.Secret
		first, err := e.s.ConfirmTOTPEnrolment(e.ctx, e.session(patient), e.code(patient), e.at)
		if err != nil {
			t.Fatal(err)
		}
		checkCodes(t, "a password-only patient's first app", first.RecoveryCodes)

		// Where staff must use passkeys, recovery codes would be refused: none are issued.
		strictCfg := e.s.cfg
		strictCfg.RequireWorkforcePasskey = true
		strict, err := New(strictCfg, db, e.s.dir, e.s.door, e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(strict.Wait)
		_, link, err := strict.InviteWorkforce(e.ctx, e.session(admin).Subject, access.Clinician, "strict@haven.test", "Dr Strict", e.at)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link.URL)
		staff := &person{email: "strict@haven.test", pw: "copper meadow whistle 77"}
		if staff.token, _, err = strict.ActivateInvite(e.ctx, u.Query().Get("token"), staff.pw, e.at); err != nil {
			t.Fatal(err)
		}
		e.s = strict
		if done := e.registerPasskey(staff, &passkeytest.Authenticator{Origin: testOrigin}, "Key"); done.RecoveryCodes != nil || done.Token == "" {
			t.Errorf("first passkey where passkeys are required = %+v, want a token and no codes", done)
		}
	})
}

// TestFirstRecoveryCodesIssuedOnce: two enrolments completing at once (an app and a passkey, in
// two tabs) both find the account without codes; the account's row lock queues them, so one
// issues codes and the other finds them: the codes a person was shown are the ones stored.
func TestFirstRecoveryCodesIssuedOnce(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		sess := e.session(admin)
		if _, err := db.ExecContext(e.ctx, `DELETE FROM recovery_codes`); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got [][]string
		for range 2 {
			wg.Go(func() {
				codes, err := e.s.firstRecoveryCodes(context.Background(), sess, e.at)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got = append(got, codes)
				mu.Unlock()
			})
		}
		wg.Wait()
		if (got[0] == nil) == (got[1] == nil) {
			t.Fatalf("both or neither enrolment issued codes: %d and %d", len(got[0]), len(got[1]))
		}
		if n, err := e.s.RecoveryCodesLeft(e.ctx, sess.Subject.AccountID); err != nil || n != RecoveryCodeCount {
			t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", n, err, RecoveryCodeCount)
		}
		shown := append(got[0], got[1]...)
		e.clock.nextStep()
		_, err := e.secondFactor(admin, shown[0])
		wantErr(t, "a code that was shown", err, nil)
	})
}
