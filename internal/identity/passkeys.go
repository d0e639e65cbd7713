package identity

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/keys"
)

// Passkeys are WebAuthn credentials held by the person's device. Haven asks for discoverable
// credentials with user verification, so one passkey is a multi-factor, phishing-resistant
// authenticator on its own (NIST SP 800-63B AAL2, and AAL3 where the device's key is
// hardware-bound): it signs a person in without a password, completes a password sign-in as the
// second factor, and answers step-up.

// Passkey errors. Their text is safe to show.
var (
	ErrPasskeyInvalid  = fault.New(fault.Unauthenticated, "the passkey could not be verified; try again")
	ErrPasskeyNotFound = fault.New(fault.NotFound, "no passkey of yours has this identifier")
	ErrLastFactor      = fault.New(fault.Conflict, "this is your only second factor: add another before removing it")
	ErrPasskeyRequired = fault.New(fault.Forbidden, "your organisation requires a passkey for staff sign-in")
)

// CeremonyLifetime bounds the time between a WebAuthn challenge and its answer.
const CeremonyLifetime = 5 * time.Minute

// Ceremony kinds.
const (
	ceremonyRegister = "register" // a signed-in (or enrolling) account adds a passkey
	ceremonyLogin    = "login"    // passwordless sign-in: the account is not known yet
	ceremonyVerify   = "verify"   // a known account proves possession: second factor or step-up
)

const reasonPasskey = "passkey"

// Passkey is one of an account's passkeys as its owner sees it.
type Passkey struct {
	ID        string    `json:"id"` // base64url credential ID
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	LastUsed  time.Time `json:"lastUsed,omitzero"` // absent until first used
}

// PasskeyOptions is what the browser passes to navigator.credentials.create or .get, with the
// handle of the ceremony to finish.
type PasskeyOptions struct {
	Ceremony string `json:"ceremony"`
	// PublicKey is the WebAuthn options object (base64url fields), for
	// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON.
	PublicKey any `json:"publicKey"`
}

// newRelyingParty builds the WebAuthn relying party. The relying-party ID is the host name people
// reach Haven at (never an IP address); origin is the one origin a passkey may be used from.
func newRelyingParty(cfg Config) (*webauthn.WebAuthn, error) {
	if cfg.PasskeyRPID == "" || cfg.PasskeyOrigin == "" {
		return nil, nil // passkeys off: the server gave no host name
	}
	return webauthn.New(&webauthn.Config{
		RPID:          cfg.PasskeyRPID,
		RPDisplayName: cfg.Issuer,
		RPOrigins:     []string{cfg.PasskeyOrigin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyLifetime},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyLifetime},
		},
	})
}

// passkeyUser adapts an account to go-webauthn. The user handle is the account ID, which carries
// no personal detail.
type passkeyUser struct {
	id, name string
	creds    []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyLocation names a sealed passkey field. The row is the account and the credential ID
// together, so a row moved onto another account no longer opens.
func passkeyLocation(accountID, credID, field string) keys.Location {
	return keys.Location{Table: "passkeys", Row: accountID + "/" + credID, Field: field}
}

// loadPasskeyUser returns account id with its passkeys. A patient's name is not in the directory,
// so the name their device shows is a neutral label.
func (s *Service) loadPasskeyUser(ctx context.Context, accountID string) (*passkeyUser, *account, error) {
	acct, err := s.accountByID(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	u := &passkeyUser{id: acct.ID, name: acct.Email}
	if u.name == "" {
		u.name = s.cfg.Issuer + " patient account"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, credential_ct FROM passkeys WHERE account_id = $1 ORDER BY created_at`, acct.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: load passkeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, nil, fmt.Errorf("identity: load passkeys: %w", err)
		}
		raw, err := s.dir.OpenDirectory(passkeyLocation(acct.ID, id, "credential"), sealed)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: open passkey: %w", err)
		}
		var c webauthn.Credential
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, nil, fmt.Errorf("identity: decode passkey: %w", err)
		}
		u.creds = append(u.creds, c)
	}
	return u, acct, rows.Err()
}

func (s *Service) passkeyCount(ctx context.Context, accountID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE account_id = $1`, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("identity: count passkeys: %w", err)
	}
	return n, nil
}

// saveCeremony stores a ceremony's session data and returns its single-use handle.
func (s *Service) saveCeremony(ctx context.Context, kind, accountID string, sd *webauthn.SessionData) (string, error) {
	raw, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("identity: encode ceremony: %w", err)
	}
	token, hash := newToken()
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < $1`, now.UnixNano()); err != nil {
		return "", fmt.Errorf("identity: expire ceremonies: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (token_hash, kind, account_id, session, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, kind, accountID, raw, now.Add(CeremonyLifetime).UnixNano()); err != nil {
		return "", fmt.Errorf("identity: store ceremony: %w", err)
	}
	return token, nil
}

// takeCeremony removes and returns a ceremony of kind begun for accountID ("" for a sign-in).
// A ceremony is used once, whatever the outcome.
func (s *Service) takeCeremony(ctx context.Context, token, kind, accountID string) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if token == "" || len(token) > 100 {
		return sd, ErrPasskeyInvalid
	}
	var raw []byte
	var expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM webauthn_ceremonies WHERE token_hash = $1 AND kind = $2 AND account_id = $3 RETURNING session, expires_at`,
		hashToken(token), kind, accountID).Scan(&raw, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return sd, ErrPasskeyInvalid
	}
	if err != nil {
		return sd, fmt.Errorf("identity: load ceremony: %w", err)
	}
	if s.now().UnixNano() > expires {
		return sd, ErrPasskeyInvalid
	}
	if err := json.Unmarshal(raw, &sd); err != nil {
		return sd, fmt.Errorf("identity: decode ceremony: %w", err)
	}
	// go-webauthn checks the expiry against the wall clock; Haven's own check above uses the
	// service clock, so tests can move time.
	sd.Expires = time.Time{}
	return sd, nil
}

func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.rp == nil {
		return nil, invalid("passkeys need a host name (--host)")
	}
	return s.rp, nil
}

// BeginPasskeyRegistration starts adding a passkey: while enrolling a first second factor, or,
// for a signed-in account, after a recent step-up (adding a factor is a sensitive act).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, sess *Session) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	switch sess.Stage {
	case StageEnrol:
	case StageFull:
		if err := s.requireStepUpIfFactor(ctx, sess); err != nil {
			return PasskeyOptions{}, err
		}
	default:
		return PasskeyOptions{}, ErrWrongStage
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	exclude := make([]protocol.CredentialDescriptor, len(u.creds))
	for i, c := range u.creds {
		exclude[i] = c.Descriptor()
	}
	creation, sd, err := rp.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return PasskeyOptions{}, fmt.Errorf("identity: begin passkey registration: %w", err)
	}
	token, err := s.saveCeremony(ctx, ceremonyRegister, u.id, sd)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return PasskeyOptions{Ceremony: token, PublicKey: creation.Response}, nil
}

// FinishPasskeyRegistration verifies the authenticator's answer and stores the new passkey under
// name. For an enrolling session it is the first second factor: the session is then fully signed
// in under a new token, which is returned ("" otherwise).
func (s *Service) FinishPasskeyRegistration(ctx context.Context, sess *Session, ceremony, name string, response []byte, o Origin) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	name, err = cleanPasskeyName(name)
	if err != nil {
		return "", err
	}
	if sess.Stage != StageEnrol && sess.Stage != StageFull {
		return "", ErrWrongStage
	}
	id := sess.Subject.AccountID
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyRegister, id)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, "auth.passkey-register", "unknown-or-expired-ceremony", err, o)
	}
	u, _, err := s.loadPasskeyUser(ctx, id)
	if err != nil {
		return "", err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, "auth.passkey-register", "malformed-response", ErrPasskeyInvalid, o)
	}
	cred, err := rp.CreateCredential(u, sd, parsed)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, "auth.passkey-register", "verification-failed", ErrPasskeyInvalid, o)
	}
	credID := base64.RawURLEncoding.EncodeToString(cred.ID)
	raw, err := json.Marshal(cred)
	if err != nil {
		return "", fmt.Errorf("identity: encode passkey: %w", err)
	}
	sealedCred, err := s.dir.SealDirectory(passkeyLocation(id, credID, "credential"), raw)
	if err != nil {
		return "", err
	}
	sealedName, err := s.dir.SealDirectory(passkeyLocation(id, credID, "name"), []byte(name))
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO passkeys (id, account_id, name_ct, credential_ct, created_at) VALUES ($1, $2, $3, $4, $5)`,
		credID, id, sealedName, sealedCred, s.now().UnixNano()); err != nil {
		// The exclusion list keeps an authenticator from registering twice; a clash here is a
		// credential ID already held by another account.
		return "", s.passkeyFailure(ctx, sess.Subject, "auth.passkey-register", "credential-id-in-use", ErrPasskeyInvalid, o)
	}
	if err := s.record(ctx, sess.Subject, "auth.passkey-register", id, audit.Success, reasonPasskey, o); err != nil {
		return "", err
	}
	if sess.Stage == StageEnrol {
		return s.advance(ctx, sess, StageFull, o)
	}
	return "", s.notifyAccount(ctx, id, noticePasskeyAdded, o)
}

// BeginPasskeySignIn starts a passwordless sign-in: the browser offers the person's discoverable
// passkeys for this site, and the answer names the account.
func (s *Service) BeginPasskeySignIn(ctx context.Context, o Origin) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	if wait := s.throttle.take("addr:"+o.Addr, s.now()); wait > 0 {
		return PasskeyOptions{}, throttled(wait)
	}
	assertion, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyOptions{}, fmt.Errorf("identity: begin passkey sign-in: %w", err)
	}
	token, err := s.saveCeremony(ctx, ceremonyLogin, "", sd)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return PasskeyOptions{Ceremony: token, PublicKey: assertion.Response}, nil
}

// FinishPasskeySignIn verifies a passwordless sign-in and starts a fully signed-in session. The
// passkey was verified by the person's device (user verification), so it counts as a second
// factor for step-up as well.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, o Origin) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	fail := func(by access.Subject, reason string) (string, error) {
		return "", s.passkeyFailure(ctx, by, "auth.login", reason, ErrPasskeyInvalid, o)
	}
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyLogin, "")
	if err != nil {
		return fail(access.Subject{}, "unknown-or-expired-ceremony")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return fail(access.Subject{}, "malformed-response")
	}
	var acct *account
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, a, err := s.loadPasskeyUser(ctx, string(userHandle))
		if err != nil {
			return nil, err
		}
		acct = a
		return u, nil
	}
	user, cred, err := rp.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil || acct == nil {
		return fail(access.Subject{}, "verification-failed")
	}
	subject := access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	if acct.Status != StatusActive {
		return fail(subject, reasonNotActive)
	}
	if err := s.updatePasskey(ctx, user.(*passkeyUser), cred); err != nil {
		return "", err
	}
	if err := s.recordLogin(ctx, subject, acct.ID, audit.Success, reasonPasskey, o); err != nil {
		return "", err
	}
	token, err := s.signIn(ctx, acct.ID, StageFull, o)
	if err != nil {
		return "", err
	}
	if _, err := s.markSecondFactor(ctx, hashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// BeginPasskeyVerification asks a known account's passkeys for an assertion: the second factor
// of a password sign-in, or a step-up for a signed-in session.
func (s *Service) BeginPasskeyVerification(ctx context.Context, sess *Session) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	if sess.Stage != StageSecondFactor && sess.Stage != StageFull {
		return PasskeyOptions{}, ErrWrongStage
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	if len(u.creds) == 0 {
		return PasskeyOptions{}, invalid("this account has no passkey")
	}
	assertion, sd, err := rp.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyOptions{}, fmt.Errorf("identity: begin passkey verification: %w", err)
	}
	token, err := s.saveCeremony(ctx, ceremonyVerify, u.id, sd)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return PasskeyOptions{Ceremony: token, PublicKey: assertion.Response}, nil
}

// FinishPasskeyVerification checks the assertion. At the second-factor stage the session is then
// fully signed in under a new token (returned); a signed-in session is stepped up ("" returned).
func (s *Service) FinishPasskeyVerification(ctx context.Context, sess *Session, ceremony string, response []byte, o Origin) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	action := "auth.second-factor"
	if sess.Stage == StageFull {
		action = "auth.step-up"
	} else if sess.Stage != StageSecondFactor {
		return "", ErrWrongStage
	}
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyVerify, sess.Subject.AccountID)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, action, "unknown-or-expired-ceremony", err, o)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, action, "malformed-response", ErrPasskeyInvalid, o)
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return "", err
	}
	cred, err := rp.ValidateLogin(u, sd, parsed)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, action, "verification-failed", ErrPasskeyInvalid, o)
	}
	if err := s.updatePasskey(ctx, u, cred); err != nil {
		return "", err
	}
	if err := s.record(ctx, sess.Subject, action, sess.Subject.AccountID, audit.Success, reasonPasskey, o); err != nil {
		return "", err
	}
	if sess.Stage == StageSecondFactor {
		return s.advance(ctx, sess, StageFull, o)
	}
	if sess.Subject.FactorAt, err = s.markSecondFactor(ctx, sess.tokenHash); err != nil {
		return "", err
	}
	return "", nil
}

// updatePasskey stores a used credential's new sign count and flags. go-webauthn has already
// refused an assertion whose counter went backwards (a cloned authenticator).
func (s *Service) updatePasskey(ctx context.Context, u *passkeyUser, cred *webauthn.Credential) error {
	credID := base64.RawURLEncoding.EncodeToString(cred.ID)
	for _, c := range u.creds {
		if bytes.Equal(c.ID, cred.ID) {
			c.Authenticator.SignCount = cred.Authenticator.SignCount
			c.Authenticator.CloneWarning = cred.Authenticator.CloneWarning
			c.Flags = cred.Flags
			raw, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("identity: encode passkey: %w", err)
			}
			sealed, err := s.dir.SealDirectory(passkeyLocation(u.id, credID, "credential"), raw)
			if err != nil {
				return err
			}
			if _, err := s.db.ExecContext(ctx, `UPDATE passkeys SET credential_ct = $1, last_used_at = $2 WHERE id = $3 AND account_id = $4`,
				sealed, s.now().UnixNano(), credID, u.id); err != nil {
				return fmt.Errorf("identity: update passkey: %w", err)
			}
			return nil
		}
	}
	return ErrPasskeyInvalid
}

// passkeyFailure audits a failed ceremony and returns err (or the audit failure).
func (s *Service) passkeyFailure(ctx context.Context, by access.Subject, action, reason string, err error, o Origin) error {
	if aerr := s.record(ctx, by, action, by.AccountID, audit.Failure, reason, o); aerr != nil {
		return aerr
	}
	return err
}

// Passkeys lists the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, sess *Session) ([]Passkey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name_ct, created_at, last_used_at FROM passkeys WHERE account_id = $1 ORDER BY created_at`,
		sess.Subject.AccountID)
	if err != nil {
		return nil, fmt.Errorf("identity: list passkeys: %w", err)
	}
	defer rows.Close()
	out := []Passkey{}
	for rows.Next() {
		var p Passkey
		var sealed []byte
		var created, used int64
		if err := rows.Scan(&p.ID, &sealed, &created, &used); err != nil {
			return nil, fmt.Errorf("identity: list passkeys: %w", err)
		}
		name, err := s.dir.OpenDirectory(passkeyLocation(sess.Subject.AccountID, p.ID, "name"), sealed)
		if err != nil {
			return nil, fmt.Errorf("identity: open passkey name: %w", err)
		}
		p.Name, p.CreatedAt = string(name), time.Unix(0, created).UTC()
		if used > 0 {
			p.LastUsed = time.Unix(0, used).UTC()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RenamePasskey changes the name of one of the caller's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, sess *Session, id, name string, o Origin) error {
	name, err := cleanPasskeyName(name)
	if err != nil {
		return err
	}
	sealed, err := s.dir.SealDirectory(passkeyLocation(sess.Subject.AccountID, id, "name"), []byte(name))
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE passkeys SET name_ct = $1 WHERE id = $2 AND account_id = $3`, sealed, id, sess.Subject.AccountID)
	if err != nil {
		return fmt.Errorf("identity: rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrPasskeyNotFound
	}
	return s.record(ctx, sess.Subject, "auth.passkey-rename", sess.Subject.AccountID, audit.Success, "", o)
}

// RemovePasskey deletes one of the caller's passkeys. Removing a factor needs a recent step-up,
// and the last second factor cannot be removed.
func (s *Service) RemovePasskey(ctx context.Context, sess *Session, id string, o Origin) error {
	if err := s.admit(ctx, sess.Subject, access.RemovePasskey, sess.Subject.AccountID, o); err != nil {
		return err
	}
	err := s.changeFactors(ctx, sess.Subject.AccountID, func(tx *sql.Tx, hasTOTP bool, passkeys int) error {
		if passkeys <= 1 && (!hasTOTP || s.passkeyRequired(sess.Subject.Role)) {
			return ErrLastFactor
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = $1 AND account_id = $2`, id, sess.Subject.AccountID)
		if err != nil {
			return fmt.Errorf("identity: remove passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrPasskeyNotFound
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.record(ctx, sess.Subject, "auth.passkey-remove", sess.Subject.AccountID, audit.Success, "", o); err != nil {
		return err
	}
	return s.notifyAccount(ctx, sess.Subject.AccountID, noticePasskeyGone, o)
}

// RemoveTOTP removes the caller's authenticator app. It needs a recent step-up and another
// second factor (a passkey) to remain.
func (s *Service) RemoveTOTP(ctx context.Context, sess *Session, o Origin) error {
	if err := s.admit(ctx, sess.Subject, access.RemoveTOTP, sess.Subject.AccountID, o); err != nil {
		return err
	}
	err := s.changeFactors(ctx, sess.Subject.AccountID, func(tx *sql.Tx, _ bool, passkeys int) error {
		if passkeys == 0 {
			return ErrLastFactor
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret_ct = NULL WHERE id = $1`, sess.Subject.AccountID); err != nil {
			return fmt.Errorf("identity: remove totp: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.record(ctx, sess.Subject, "auth.totp-remove", sess.Subject.AccountID, audit.Success, "", o); err != nil {
		return err
	}
	return s.notifyAccount(ctx, sess.Subject.AccountID, noticeTOTPRemoved, o)
}

// changeFactors runs fn in a transaction holding the account's row lock, with the factors the
// account has at that moment: two removals at once queue, so neither can leave the other's
// factor as the last and then remove it too.
func (s *Service) changeFactors(ctx context.Context, accountID string, fn func(tx *sql.Tx, hasTOTP bool, passkeys int) error) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET failed_logins = failed_logins WHERE id = $1`, accountID); err != nil {
			return fmt.Errorf("identity: lock account: %w", err)
		}
		var hasTOTP bool
		var passkeys int
		if err := tx.QueryRowContext(ctx, `SELECT totp_secret_ct IS NOT NULL, (SELECT COUNT(*) FROM passkeys WHERE account_id = $1)
			FROM accounts WHERE id = $1`, accountID).Scan(&hasTOTP, &passkeys); err != nil {
			return fmt.Errorf("identity: read factors: %w", err)
		}
		return fn(tx, hasTOTP, passkeys)
	})
}

// passkeyRequired reports whether the organisation's policy makes a passkey the only second
// factor for role.
func (s *Service) passkeyRequired(r access.Role) bool {
	return s.cfg.RequireWorkforcePasskey && r != access.Patient
}

// requireStepUpIfFactor asks for a step-up before a factor is added, unless the account has no
// second factor yet (a password-only patient adding their first), where there is nothing to
// step up with.
func (s *Service) requireStepUpIfFactor(ctx context.Context, sess *Session) error {
	acct, err := s.accountByID(ctx, sess.Subject.AccountID)
	if err != nil {
		return err
	}
	n, err := s.passkeyCount(ctx, acct.ID)
	if err != nil {
		return err
	}
	if !acct.HasTOTP && n == 0 {
		return nil
	}
	return s.RequireStepUp(sess)
}

// cleanPasskeyName trims a passkey's name and bounds it.
func cleanPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > 60 || strings.ContainsAny(name, "\x00\r\n") {
		return "", invalid("a passkey name is one line of at most 60 characters")
	}
	return name, nil
}
