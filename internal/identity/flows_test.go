package identity

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/identity/totp"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestSignInStages: a password alone reaches the second-factor stage, where nothing but the
// second factor is accepted; the code completes the sign-in under a new token, and the token
// from before the second factor is worth nothing after it (session fixation).
func TestSignInStages(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		e.clock.nextStep()

		_, _, err := e.s.Login(e.ctx, admin.email, "not the password", e.at)
		wantErr(t, "Login with a wrong password", err, ErrInvalidCredentials)

		half := e.login(admin)
		sess, err := e.s.Authenticate(e.ctx, half)
		if err != nil || sess.Stage != StageSecondFactor {
			t.Fatalf("after the password: %v, %v; want stage %q", sess, err, StageSecondFactor)
		}
		_, err = e.s.BeginTOTPEnrolment(e.ctx, sess)
		wantErr(t, "changing factors at the second-factor stage", err, ErrWrongStage)
		wantErr(t, "step-up at the second-factor stage", e.s.StepUp(e.ctx, sess, e.code(admin), e.at), ErrWrongStage)
		_, err = e.s.RegenerateRecoveryCodes(e.ctx, sess, e.at)
		wantErr(t, "a step-up act at the second-factor stage", err, ErrStepUpRequired)

		_, err = e.s.VerifySecondFactor(e.ctx, sess, "000000", e.at)
		wantErr(t, "a wrong code", err, ErrInvalidCode)
		if got, want := e.lastAudit(), [3]string{"auth.second-factor", "failure", reasonBadCode}; got != want {
			t.Errorf("audit after a wrong code = %v, want %v", got, want)
		}

		full, err := e.s.VerifySecondFactor(e.ctx, sess, e.code(admin), e.at)
		wantErr(t, "the right code", err, nil)
		if got, want := e.lastAudit(), [3]string{"auth.second-factor", "success", reasonCodeOK}; got != want {
			t.Errorf("audit after the right code = %v, want %v", got, want)
		}
		_, err = e.s.Authenticate(e.ctx, half)
		wantErr(t, "the token from before the second factor", err, ErrNoSession)
		after, err := e.s.Authenticate(e.ctx, full)
		if err != nil || after.Stage != StageFull || !after.Subject.FactorAt.Equal(e.clock.Now()) {
			t.Fatalf("after the second factor: %+v, %v; want stage %q with a factor now", after, err, StageFull)
		}
		_, err = e.s.VerifySecondFactor(e.ctx, after, e.code(admin), e.at)
		wantErr(t, "a second factor on a full session", err, ErrWrongStage)
	})
}

// TestTOTPCodeReplayRefused: a code is accepted once per account, in any session: a code seen
// on the wire (or over a shoulder) cannot complete another sign-in or a step-up, nor can an
// older one.
func TestTOTPCodeReplayRefused(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		enrolCode := e.code(admin)
		_, err := e.secondFactor(admin, enrolCode)
		wantErr(t, "the code that confirmed enrolment, again", err, ErrInvalidCode)

		e.clock.nextStep()
		code := e.code(admin)
		first, err := e.secondFactor(admin, code)
		wantErr(t, "a fresh code", err, nil)
		_, err = e.secondFactor(admin, code)
		wantErr(t, "the same code on another sign-in", err, ErrInvalidCode)
		if got, want := e.lastAudit(), [3]string{"auth.second-factor", "failure", reasonBadCode}; got != want {
			t.Errorf("audit after a replay = %v, want %v", got, want)
		}
		admin.token = first
		wantErr(t, "the same code for step-up", e.s.StepUp(e.ctx, e.session(admin), code, e.at), ErrInvalidCode)

		e.clock.nextStep()
		_, err = e.secondFactor(admin, code)
		wantErr(t, "an older code after a newer step was used", err, ErrInvalidCode)
	})
}

// TestTOTPStepRecordedOnce: two requests that both checked the same code before either
// recorded it (a race on one intercepted code) cannot both win: the step is recorded only if it
// is later than the one stored.
func TestTOTPStepRecordedOnce(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		id := e.session(e.admin()).Subject.AccountID
		step := e.clock.Now().Unix()/int64(totp.Period/time.Second) + 1
		for i, want := range []bool{true, false} {
			if ok, err := e.s.useStep(e.ctx, id, step); err != nil || ok != want {
				t.Fatalf("useStep #%d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		if ok, err := e.s.useStep(e.ctx, id, step-1); err != nil || ok {
			t.Fatalf("useStep of an earlier step = %v, %v; want false", ok, err)
		}
	})
}

var recoveryCodeShape = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`)

// TestRecoveryCodeWorksOnce: recovery codes are shown once, stored only as MACs, accepted
// however a person types them, and each completes one sign-in: typed again, in any form, it is
// refused. New codes void the old ones.
func TestRecoveryCodeWorksOnce(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		codes, err := e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at)
		if err != nil || len(codes) != RecoveryCodeCount {
			t.Fatalf("RegenerateRecoveryCodes = %d codes, %v; want %d", len(codes), err, RecoveryCodeCount)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !recoveryCodeShape.MatchString(c) || seen[c] {
				t.Fatalf("code %q: not XXXX-XXXX-XXXX-XXXX, or repeated", c)
			}
			seen[c] = true
		}
		rows, err := db.QueryContext(e.ctx, `SELECT code_mac FROM recovery_codes`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var mac []byte
			rows.Scan(&mac)
			for _, c := range codes {
				if strings.Contains(string(mac), strings.ReplaceAll(c, "-", "")[:8]) {
					t.Errorf("a stored MAC holds part of code %q in clear", c)
				}
			}
		}
		rows.Close()

		undashed := func(c string) string { return strings.ReplaceAll(c, "-", "") }
		for _, tc := range []struct {
			name, typed, again string
		}{
			{"lower case, with dashes", strings.ToLower(codes[0]), codes[0]},
			{"lower case, without dashes", strings.ToLower(undashed(codes[1])), codes[1]},
			{"spaces for dashes", strings.ReplaceAll(codes[2], "-", " "), strings.ToLower(undashed(codes[2]))},
			{"as shown, with a space around", " " + codes[3] + " ", undashed(codes[3])},
		} {
			_, err := e.secondFactor(admin, tc.typed)
			wantErr(t, tc.name+": first use", err, nil)
			if got, want := e.lastAudit(), [3]string{"auth.second-factor", "success", reasonRecoveryCode}; got != want {
				t.Errorf("%s: audit = %v, want %v", tc.name, got, want)
			}
			_, err = e.secondFactor(admin, tc.again)
			wantErr(t, tc.name+": used again, typed "+tc.again, err, ErrInvalidCode)
		}
		if n, err := e.s.RecoveryCodesLeft(e.ctx, e.session(admin).Subject.AccountID); err != nil || n != RecoveryCodeCount-4 {
			t.Fatalf("RecoveryCodesLeft = %d, %v; want %d", n, err, RecoveryCodeCount-4)
		}
		_, err = e.secondFactor(admin, codes[4][:len(codes[4])-1])
		wantErr(t, "a code one character short", err, ErrInvalidCode)

		if _, err := e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at); err != nil {
			t.Fatal(err)
		}
		_, err = e.secondFactor(admin, codes[5])
		wantErr(t, "an unused code after new ones were made", err, ErrInvalidCode)
	})
}

// TestStepUpWindow: an act on one's own account (new recovery codes) needs a second factor from
// the last StepUpWindow; a stale one is refused, and recorded, before anything changes, and a
// step-up, stored on the session, allows it again.
func TestStepUpWindow(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		if _, err := e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at); err != nil {
			t.Fatalf("new codes right after the second factor = %v", err)
		}
		macs := func() []string {
			var out []string
			rows, err := db.QueryContext(e.ctx, `SELECT code_mac FROM recovery_codes ORDER BY code_mac`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var m []byte
				rows.Scan(&m)
				out = append(out, string(m))
			}
			return out
		}
		before := macs()

		e.clock.Advance(StepUpWindow + time.Second)
		_, err := e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at)
		wantErr(t, "new codes with a stale second factor", err, ErrStepUpRequired)
		if got, want := e.lastAudit(), [3]string{"auth.recovery-codes", "deny", "step-up-required"}; got != want {
			t.Errorf("audit of the refusal = %v, want %v", got, want)
		}
		if diff := cmp.Diff(before, macs()); diff != "" {
			t.Errorf("refused act changed the codes (-before +after):\n%s", diff)
		}

		wantErr(t, "step-up with a wrong code", e.s.StepUp(e.ctx, e.session(admin), "000000", e.at), ErrInvalidCode)
		_, err = e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at)
		wantErr(t, "new codes after a failed step-up", err, ErrStepUpRequired)

		wantErr(t, "step-up", e.s.StepUp(e.ctx, e.session(admin), e.code(admin), e.at), nil)
		if got, want := e.lastAudit(), [3]string{"auth.step-up", "success", reasonCodeOK}; got != want {
			t.Errorf("audit of the step-up = %v, want %v", got, want)
		}
		// A new request on the same session: the step-up is the session's, not the caller's copy.
		if _, err := e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at); err != nil {
			t.Fatalf("new codes after step-up = %v", err)
		}
		if got := e.lastAudit(); got[0] != "auth.recovery-codes" || got[1] != "success" {
			t.Errorf("audit after new codes = %v", got)
		}

		e.clock.Advance(StepUpWindow + time.Second)
		_, err = e.s.RegenerateRecoveryCodes(e.ctx, e.session(admin), e.at)
		wantErr(t, "new codes once the step-up is stale", err, ErrStepUpRequired)
	})
}

// TestSessionsListedAndRevoked: an account's owner sees each of its sessions, the current one
// marked, and ends any of them; a handle of another account's session ends nothing.
func TestSessionsListedAndRevoked(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newTestEnv(t, db)
		admin := e.admin()
		e.clock.nextStep()
		phone, err := e.secondFactor(admin, e.code(admin))
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.s.Sessions(e.ctx, e.session(admin))
		if err != nil || len(list) != 2 {
			t.Fatalf("Sessions = %v, %v; want 2", list, err)
		}
		var current, other []string
		for _, si := range list {
			if si.Stage != StageFull || si.Address != e.at.Addr {
				t.Errorf("session %+v: want stage %q from %s", si, StageFull, e.at.Addr)
			}
			if si.Current {
				current = append(current, si.ID)
			} else {
				other = append(other, si.ID)
			}
		}
		if len(current) != 1 || len(other) != 1 {
			t.Fatalf("current %v, others %v: want one of each", current, other)
		}

		clin := e.invite(admin, "clin@haven.test")
		theirs, err := e.s.Sessions(e.ctx, e.session(clin))
		if err != nil || len(theirs) != 1 {
			t.Fatalf("clinician's sessions = %v, %v", theirs, err)
		}
		wantErr(t, "revoking another account's session", e.s.RevokeSession(e.ctx, e.session(admin), theirs[0].ID, e.at), ErrNoSession)
		e.session(clin) // still signed in

		wantErr(t, "revoking the other session", e.s.RevokeSession(e.ctx, e.session(admin), other[0], e.at), nil)
		if got, want := e.lastAudit(), [3]string{"session.revoke", "success", "owner"}; got != want {
			t.Errorf("audit of the revocation = %v, want %v", got, want)
		}
		if _, err := e.s.Authenticate(e.ctx, phone); !errors.Is(err, ErrNoSession) {
			t.Fatalf("revoked session authenticates: %v", err)
		}
		wantErr(t, "revoking it again", e.s.RevokeSession(e.ctx, e.session(admin), other[0], e.at), ErrNoSession)
		if list, _ := e.s.Sessions(e.ctx, e.session(admin)); len(list) != 1 || list[0].ID != current[0] {
			t.Fatalf("after revocation: %v, want only %s", list, current[0])
		}

		wantErr(t, "Logout", e.s.Logout(e.ctx, e.session(admin), e.at), nil)
		if _, err := e.s.Authenticate(e.ctx, admin.token); !errors.Is(err, ErrNoSession) {
			t.Fatalf("session after logout: %v", err)
		}
	})
}
