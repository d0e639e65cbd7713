package identity

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/identity/password"
	"haven/internal/identity/totp"
	"haven/internal/keys"
)

// Sign-in audit reasons.
const (
	reasonPasswordOK    = "password-ok"
	reasonWrongPassword = "wrong-password"
	reasonUnknown       = "unknown-account"
	reasonMalformed     = "malformed-input"
	reasonThrottled     = "throttled"
	reasonSetupPending  = "setup-pending"
	reasonNotActive     = "account-not-active"
	reasonCodeOK        = "totp-ok"
	reasonBadCode       = "invalid-or-replayed-code"
)

// Login checks a sign-in name and password. The name is an e-mail address or, for a patient who
// has none, the phone number on their record with its country code (phone.go). On success it
// starts a session at the second factor (or TOTP enrolment, for an account that has none yet)
// and returns its token and stage. Every outcome is audited before it is returned. Unknown and
// known accounts answer alike, after the same work, whichever kind of name was typed: one
// lookup by blind index, one password hash and one audit entry; a known account's failure is
// counted after the answer (afterAnswer), so that its database write cannot be timed.
func (s *Service) Login(ctx context.Context, name, pw string, o Origin) (string, Stage, error) {
	name = strings.TrimSpace(name)
	subject := access.Subject{}
	fail := func(acct *account, resourceID, reason string, err error) (string, Stage, error) {
		if acct != nil {
			subject = access.Subject{AccountID: acct.ID, Role: acct.Role}
		}
		if aerr := s.recordLogin(ctx, subject, resourceID, audit.Failure, reason, o); aerr != nil {
			return "", "", aerr
		}
		return "", "", err
	}
	kind, value, lookup, named := signInName(name)
	if !named || len(pw) == 0 || len(pw) > 4*password.MaxLength {
		return fail(nil, "", reasonMalformed, ErrInvalidCredentials)
	}
	bidx, err := s.dir.BlindIndex(kind, value)
	if err != nil {
		return fail(nil, "", reasonMalformed, ErrInvalidCredentials)
	}
	// The audit log names the attempted account by a prefix of its blind index: enough to
	// correlate attempts on one address, useless for recovering it.
	attempted := "bidx:" + hex.EncodeToString(bidx[:8])
	if wait := s.signInWait(attempted, o); wait > 0 {
		return fail(nil, attempted, reasonThrottled, throttled(wait))
	}
	pending, err := s.SetupPending(ctx)
	if err != nil {
		return "", "", err
	}
	if pending {
		s.hasher.Verify(ctx, pw, "")
		return fail(nil, attempted, reasonSetupPending, ErrInvalidCredentials)
	}
	acct, err := s.scanAccount(s.db.QueryRowContext(ctx, lookup, bidx))
	if err == sql.ErrNoRows {
		s.hasher.Verify(ctx, pw, "")
		s.backoff.fail(attempted, s.now())
		return fail(nil, attempted, reasonUnknown, ErrInvalidCredentials)
	}
	if err != nil {
		return "", "", fmt.Errorf("identity: login: %w", err)
	}
	ok, err := s.hasher.Verify(ctx, pw, acct.passwordHash)
	if err != nil {
		return "", "", fmt.Errorf("identity: login: %w", err)
	}
	if !ok {
		s.backoff.fail(attempted, s.now())
		token, stage, err := fail(acct, acct.ID, reasonWrongPassword, ErrInvalidCredentials)
		// Scheduled once the audit entry is written, so that the count does not even compete
		// with it for the database.
		s.afterAnswer(ctx, o, "count failed sign-in", func(ctx context.Context) error { return s.countFailure(ctx, acct, o) })
		return token, stage, err
	}
	s.backoff.succeed(attempted)
	if acct.Status != StatusActive {
		return fail(acct, acct.ID, reasonNotActive, ErrInvalidCredentials)
	}
	stage, err := s.stageAfterPassword(ctx, acct, pw)
	if err != nil {
		return "", "", err
	}
	subject = access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET failed_logins = 0 WHERE id = $1`, acct.ID); err != nil {
		return "", "", fmt.Errorf("identity: reset failures: %w", err)
	}
	if err := s.recordLogin(ctx, subject, acct.ID, audit.Success, reasonPasswordOK, o); err != nil {
		return "", "", err
	}
	token, err := s.signIn(ctx, acct.ID, stage, o)
	if err != nil {
		return "", "", err
	}
	return token, stage, nil
}

// signInName reads what a person typed to sign in: an e-mail address (it has an "@"), or else a
// phone number with its country code. It returns the blind-index kind and the value to index,
// and the query that finds the account by that index.
func signInName(name string) (kind keys.IndexKind, value, lookup string, ok bool) {
	if strings.Contains(name, "@") {
		return keys.IndexEmail, name, selectAccountByEmail, ValidEmail(name)
	}
	p, ok := loginPhone(name)
	return keys.IndexPhone, p, selectAccountByPhone, ok
}

// signInWait records a sign-in attempt from o.Addr on the attempted account and returns how long
// it must wait before it may try: for the source address's window, the account's window, or the
// account's backoff after failures (zero if it may try now).
func (s *Service) signInWait(attempted string, o Origin) time.Duration {
	now := s.now()
	if wait := s.throttle.take("addr:"+o.Addr, now); wait > 0 {
		return wait
	}
	if wait := s.throttle.take("acct:"+attempted, now); wait > 0 {
		return wait
	}
	return s.backoff.wait(attempted, now)
}

// afterAnswer runs work once the caller has its answer, so that work only some attempts need
// (counting a known account's failure) adds nothing to the time they take to answer. It runs in
// the background (Wait waits for it) under a context that outlives the request by at most a
// minute; a failure is logged with the request's identifier, never an address.
func (s *Service) afterAnswer(ctx context.Context, o Origin, what string, work func(context.Context) error) {
	s.later(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := work(ctx); err != nil && s.cfg.Log != nil {
			s.cfg.Log.ErrorContext(ctx, what+" failed", "request_id", o.RequestID, "err", err)
		}
	})
}

// stageAfterPassword is where a correct password leaves a sign-in: at the second factor when
// the account has one, at enrolment when it must get one, and fully signed in only for a patient
// whose password is long enough to stand alone, where the organisation allows it.
func (s *Service) stageAfterPassword(ctx context.Context, acct *account, pw string) (Stage, error) {
	stage, err := s.factorStage(ctx, acct)
	if err != nil || stage != "" {
		return stage, err
	}
	return s.stageWithoutFactor(acct.Role, pw), nil
}

// factorStage is where a first factor (a password, or the organisation's identity provider
// without an MFA assertion) leaves an account: at the second factor when it has one the policy
// accepts, at enrolment when policy requires a passkey it lacks, and "" when it has no second
// factor at all.
func (s *Service) factorStage(ctx context.Context, acct *account) (Stage, error) {
	c, err := s.factorsOf(ctx, acct)
	switch {
	case err != nil:
		return "", err
	case c.usable():
		return StageSecondFactor, nil
	case c.PasskeyRequired:
		return StageEnrol, nil
	}
	return "", nil
}

// stageWithoutFactor is where a correct password leaves an account with no second factor.
func (s *Service) stageWithoutFactor(role access.Role, pw string) Stage {
	if alone := s.FactorPolicy(role).PasswordAlone; alone > 0 && password.Length(pw) >= alone {
		return StageFull
	}
	return StageEnrol
}

func (s *Service) recordLogin(ctx context.Context, by access.Subject, resourceID, outcome, reason string, o Origin) error {
	return s.record(ctx, by, "auth.login", resourceID, outcome, reason, o)
}

// VerifySecondFactor checks a TOTP code, or a recovery code, for a session at the second-factor
// stage. Each code is
// accepted once per account: the matched time step is stored and no step up to it is accepted
// again. On success the session is fully signed in under a new token.
func (s *Service) VerifySecondFactor(ctx context.Context, sess *Session, code string, o Origin) (string, error) {
	if sess.Stage != StageSecondFactor {
		return "", ErrWrongStage
	}
	if s.passkeyRequired(sess.Subject.Role) {
		return "", ErrPasskeyRequired
	}
	if wait := s.throttle.take("totp:"+sess.Subject.AccountID, s.now()); wait > 0 {
		if err := s.record(ctx, sess.Subject, "auth.second-factor", sess.Subject.AccountID, audit.Failure, reasonThrottled, o); err != nil {
			return "", err
		}
		return "", throttled(wait)
	}
	reason, err := s.checkSecondFactor(ctx, sess.Subject.AccountID, code)
	if err != nil {
		return "", err
	}
	if reason == "" {
		if err := s.record(ctx, sess.Subject, "auth.second-factor", sess.Subject.AccountID, audit.Failure, reasonBadCode, o); err != nil {
			return "", err
		}
		return "", ErrInvalidCode
	}
	if err := s.record(ctx, sess.Subject, "auth.second-factor", sess.Subject.AccountID, audit.Success, reason, o); err != nil {
		return "", err
	}
	return s.advance(ctx, sess, StageFull, o)
}

// checkTOTP verifies a code against the account's TOTP secret, accepting each time step once.
func (s *Service) checkTOTP(ctx context.Context, accountID, code string) (bool, error) {
	acct, err := s.accountByID(ctx, accountID)
	if err != nil {
		return false, err
	}
	if !acct.HasTOTP {
		return false, nil
	}
	secret, err := s.dir.OpenDirectory(keys.Location{Table: "accounts", Row: acct.ID, Field: "totp_secret"}, acct.totpSealed)
	if err != nil {
		return false, fmt.Errorf("identity: open totp secret: %w", err)
	}
	step, ok := totp.Validate(string(secret), strings.TrimSpace(code), s.now(), acct.totpLastStep)
	if !ok {
		return false, nil
	}
	return s.useStep(ctx, acct.ID, step)
}

// useStep records step as the account's last used TOTP step, only if it is later than the one
// stored: of two concurrent requests with the same code, one wins.
func (s *Service) useStep(ctx context.Context, accountID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, accountID)
	if err != nil {
		return false, fmt.Errorf("identity: record totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// BeginTOTPEnrolment returns the secret a session is to enrol, creating it on first call and
// returning the same one until it is confirmed: while enrolling a first factor, or signed in
// (after a step-up, if the account already has a factor).
func (s *Service) BeginTOTPEnrolment(ctx context.Context, sess *Session) (totp.Key, error) {
	if s.passkeyRequired(sess.Subject.Role) {
		return totp.Key{}, ErrPasskeyRequired
	}
	switch sess.Stage {
	case StageEnrol:
	case StageFull: // adding (or replacing) an authenticator app is a factor change
		if err := s.requireStepUpIfFactor(ctx, sess); err != nil {
			return totp.Key{}, err
		}
	default:
		return totp.Key{}, ErrWrongStage
	}
	acct, err := s.accountByID(ctx, sess.Subject.AccountID)
	if err != nil {
		return totp.Key{}, err
	}
	label := acct.Email
	if label == "" {
		label = "patient"
	}
	loc := s.pendingTOTPLocation(acct.ID)
	var sealed []byte
	if err := s.db.QueryRowContext(ctx, selectPendingTOTP, sess.tokenHash).Scan(&sealed); err != nil {
		return totp.Key{}, fmt.Errorf("identity: load pending totp: %w", err)
	}
	if sealed != nil {
		url, err := s.dir.OpenDirectory(loc, sealed)
		if err != nil {
			return totp.Key{}, err
		}
		return totp.ParseURL(string(url))
	}
	k, err := totp.Generate(s.cfg.Issuer, label)
	if err != nil {
		return totp.Key{}, err
	}
	if sealed, err = s.dir.SealDirectory(loc, []byte(k.URL)); err != nil {
		return totp.Key{}, err
	}
	if _, err := s.db.ExecContext(ctx, setPendingTOTP, sealed, sess.tokenHash); err != nil {
		return totp.Key{}, fmt.Errorf("identity: store pending totp: %w", err)
	}
	return k, nil
}

// Enrolled is what completing a second factor's enrolment gives back.
type Enrolled struct {
	// Token is the session's new token when the enrolment completed sign-in (the session was at
	// StageEnrol); "" when the session was already signed in and keeps its token.
	Token string
	// RecoveryCodes are the account's first recovery codes, formatted XXXX-XXXX-XXXX-XXXX, when
	// this enrolment gave it its first second factor (see firstRecoveryCodes): returned this
	// once, stored only as MACs. Nil for a later enrolment.
	RecoveryCodes []string
}

// ConfirmTOTPEnrolment checks a code from the authenticator being enrolled and stores its secret
// on the account. An enrolling session is then fully signed in under a new token; a signed-in
// one keeps its token. The account's first factor comes with its recovery codes.
func (s *Service) ConfirmTOTPEnrolment(ctx context.Context, sess *Session, code string, o Origin) (Enrolled, error) {
	k, err := s.BeginTOTPEnrolment(ctx, sess)
	if err != nil {
		return Enrolled{}, err
	}
	step, ok := totp.Validate(k.Secret, strings.TrimSpace(code), s.now(), 0)
	if !ok {
		if err := s.record(ctx, sess.Subject, "auth.totp-enrol", sess.Subject.AccountID, audit.Failure, reasonBadCode, o); err != nil {
			return Enrolled{}, err
		}
		return Enrolled{}, ErrInvalidCode
	}
	id := sess.Subject.AccountID
	sealed, err := s.dir.SealDirectory(keys.Location{Table: "accounts", Row: id, Field: "totp_secret"}, []byte(k.Secret))
	if err != nil {
		return Enrolled{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET totp_secret_ct = $1, totp_last_step = $2 WHERE id = $3`, sealed, step, id); err != nil {
		return Enrolled{}, fmt.Errorf("identity: store totp secret: %w", err)
	}
	if err := s.record(ctx, sess.Subject, "auth.totp-enrol", id, audit.Success, reasonCodeOK, o); err != nil {
		return Enrolled{}, err
	}
	if sess.Stage == StageFull {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET totp_pending_ct = NULL WHERE token_hash = $1`, sess.tokenHash); err != nil {
			return Enrolled{}, fmt.Errorf("identity: clear pending totp: %w", err)
		}
		if err := s.notifyAccount(ctx, id, noticeTOTPAdded, o); err != nil {
			return Enrolled{}, err
		}
		return s.enrolled(ctx, sess, "", o)
	}
	token, err := s.advance(ctx, sess, StageFull, o)
	if err != nil {
		return Enrolled{}, err
	}
	return s.enrolled(ctx, sess, token, o)
}

// enrolled completes an enrolment whose factor is stored (and whose session, given token, is
// signed in) with the account's first recovery codes, if it is due them. The codes are made
// last: a failure before them leaves the account without codes, and the next enrolment makes
// them, rather than with codes nobody was shown.
func (s *Service) enrolled(ctx context.Context, sess *Session, token string, o Origin) (Enrolled, error) {
	codes, err := s.firstRecoveryCodes(ctx, sess, o)
	if err != nil {
		return Enrolled{}, err
	}
	return Enrolled{Token: token, RecoveryCodes: codes}, nil
}

// countFailure counts a wrong password on a known account, after the answer (see Login). At
// disableAfter consecutive failures the account is locked (its sessions end) until its password
// is reset.
func (s *Service) countFailure(ctx context.Context, acct *account, o Origin) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins`, acct.ID).Scan(&n); err != nil {
		return fmt.Errorf("identity: count failure: %w", err)
	}
	if n < disableAfter || acct.Status != StatusActive {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE id = $2`, StatusLocked, acct.ID); err != nil {
		return fmt.Errorf("identity: disable after failures: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, deleteSessionsOf, acct.ID); err != nil {
		return fmt.Errorf("identity: end sessions: %w", err)
	}
	return s.record(ctx, access.Subject{AccountID: acct.ID, Role: acct.Role}, "account.lock", acct.ID, audit.Success,
		fmt.Sprintf("%d consecutive failed sign-ins", n), o)
}

// PasswordHashRuns reports how many argon2id evaluations ran at cost parameters p, sign-ins
// of unknown accounts (the dummy hash) included.
func (s *Service) PasswordHashRuns(p password.Params) uint64 { return s.hasher.Runs(p) }
