package identity

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/identity/totp"
	"haven/internal/store"
)

// testClock is the service's clock in a test: it moves only when the test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// nextStep moves the clock into the next TOTP time step, so that a new code is not a replay of
// the last one accepted.
func (c *testClock) nextStep() { c.Advance(totp.Period + time.Second) }

// person is an account a test signs in with, through the exported API only.
type person struct {
	email, pw, secret string
	token             string   // of the session the test acts with
	codes             []string // the recovery codes that came with the first factor
}

// testEnv is one identity service on one database, with its clock.
type testEnv struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	s     *Service
	clock *testClock
	at    Origin // where the test's requests come from
}

func newTestEnv(t *testing.T, db *store.DB) *testEnv {
	clock := newTestClock()
	s, _, _ := newTestService(t, db, clock.Now)
	return &testEnv{t: t, ctx: context.Background(), db: db, s: s, clock: clock,
		at: Origin{Addr: "192.0.2.10", UserAgent: "test", RequestID: "req-test"}}
}

// session authenticates p's current token.
func (e *testEnv) session(p *person) *Session {
	e.t.Helper()
	sess, err := e.s.Authenticate(e.ctx, p.token)
	if err != nil {
		e.t.Fatalf("Authenticate(%s) = %v", p.email, err)
	}
	return sess
}

// code is p's authenticator's code now.
func (e *testEnv) code(p *person) string {
	e.t.Helper()
	c, err := totp.Code(p.secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// admin completes setup and enrols an authenticator app: the administrator is then fully signed
// in, with a second factor from now.
func (e *testEnv) admin() *person {
	e.t.Helper()
	setup, err := e.s.IssueSetupToken(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	p := &person{email: "admin@haven.test", pw: "violet harbour lantern 42"}
	if p.token, err = e.s.CompleteSetup(e.ctx, setup, p.email, "Ada Admin", p.pw, e.at); err != nil {
		e.t.Fatal(err)
	}
	e.enrolTOTP(p)
	return p
}

// enrolTOTP enrols an authenticator app for p, whose session is at the enrolment stage.
func (e *testEnv) enrolTOTP(p *person) {
	e.t.Helper()
	sess := e.session(p)
	if sess.Stage != StageEnrol {
		e.t.Fatalf("%s at stage %q, want %q", p.email, sess.Stage, StageEnrol)
	}
	k, err := e.s.BeginTOTPEnrolment(e.ctx, sess)
	if err != nil {
		e.t.Fatal(err)
	}
	p.secret = k.Secret
	done, err := e.s.ConfirmTOTPEnrolment(e.ctx, sess, e.code(p), e.at)
	if err != nil {
		e.t.Fatalf("ConfirmTOTPEnrolment = %v", err)
	}
	p.token, p.codes = done.Token, done.RecoveryCodes
}

// login signs p in with the password and returns the new session's token, at the second factor.
func (e *testEnv) login(p *person) string {
	e.t.Helper()
	token, stage, err := e.s.Login(e.ctx, p.email, p.pw, e.at)
	if err != nil || stage != StageSecondFactor {
		e.t.Fatalf("Login(%s) = %q, %v; want stage %q", p.email, stage, err, StageSecondFactor)
	}
	return token
}

// secondFactor signs p in on a new session with the password and code, and returns its token.
func (e *testEnv) secondFactor(p *person, code string) (string, error) {
	e.t.Helper()
	sess, err := e.s.Authenticate(e.ctx, e.login(p))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.s.VerifySecondFactor(e.ctx, sess, code, e.at)
}

// invite has by invite a clinician, who activates the account: their session is at enrolment.
func (e *testEnv) invite(by *person, email string) *person {
	e.t.Helper()
	_, link, err := e.s.InviteWorkforce(e.ctx, e.session(by).Subject, access.Clinician, email, "Dr Test", e.at)
	if err != nil {
		e.t.Fatalf("InviteWorkforce = %v", err)
	}
	u, err := url.Parse(link.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	p := &person{email: email, pw: "copper meadow whistle 77"}
	if p.token, _, err = e.s.ActivateInvite(e.ctx, u.Query().Get("token"), p.pw, e.at); err != nil {
		e.t.Fatalf("ActivateInvite = %v", err)
	}
	return p
}

// lastAudit is the newest audit entry's action, outcome and reason.
func (e *testEnv) lastAudit() [3]string {
	e.t.Helper()
	var a [3]string
	if err := e.db.QueryRowContext(e.ctx, `SELECT action, outcome, reason FROM audit_entries ORDER BY seq DESC LIMIT 1`).
		Scan(&a[0], &a[1], &a[2]); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// wantErr fails the test unless err is want (nil for success).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}
