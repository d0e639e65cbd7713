// Package identity owns accounts, sign-in, second factors, sessions and invitations.
//
// Sign-in is two steps: a first factor (a password, or for staff the organisation's OpenID
// Connect provider), then a second factor, a TOTP code, a recovery code or a passkey (an account
// without one must enrol before anything else). A passkey alone, a patient's long password where
// the organisation allows it, and a provider's MFA assertion for staff are the exceptions, each
// documented where it is decided. Sessions are opaque 256-bit random tokens; only their SHA-256
// is stored. Every sign-in attempt, whatever its outcome, appends an audit entry before the
// answer is given, and a failure to record it fails the attempt. Invitation and reset links are
// single use and stored hashed (links.go, reset.go); a sign-in from a new browser sends a notice
// (devices.go).
//
// Identity stores no PHI: a patient's account holds a blind index of the e-mail address used to
// sign in (or, for a patient without one, of their phone number: phone.go), not the address. To reach a patient (a sign-in notice) it asks the records
// component for the address on the record, through Config.PatientEmail.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity/oidc"
	"haven/internal/identity/passkey"
	"haven/internal/identity/password"
	"haven/internal/keys"
	"haven/internal/store"
)

// Errors. Their text is safe to show: none says whether an account exists. ErrThrottled is never
// returned alone: it is the cause inside a *fault.Error of kind fault.Throttled that says how
// long to wait (errors.Is still finds it).
var (
	ErrInvalidCredentials = fault.New(fault.Unauthenticated, "the e-mail address, phone number or password is not correct")
	ErrInvalidCode        = fault.New(fault.Unauthenticated, "the code is not correct or was already used")
	ErrThrottled          = fault.New(fault.Throttled, "too many attempts; wait and try again")
	ErrNoSession          = fault.New(fault.Unauthenticated, "not signed in")
	ErrSessionExpired     = fault.New(fault.Unauthenticated, "your session has ended; please sign in again")
	ErrWrongStage         = fault.New(fault.Forbidden, "finish signing in first")
	ErrInviteInvalid      = fault.New(fault.Gone, "this link is not valid: it was already used or has expired")
	ErrSetupDone          = fault.New(fault.Gone, "setup is already complete")
	ErrEmailTaken         = fault.New(fault.Conflict, "an account with this e-mail address already exists")
	ErrInvalidInput       = fault.New(fault.Invalid, "invalid input")
)

// invalid is an input error whose message says what to enter; errors.Is still finds
// ErrInvalidInput.
func invalid(message string) error { return fault.Wrap(fault.Invalid, message, ErrInvalidInput) }

// Stage is how far a session has got through sign-in.
type Stage string

const (
	StageSecondFactor Stage = "second-factor" // password accepted, TOTP code required
	StageEnrol        Stage = "enrol"         // must enrol TOTP before anything else
	StageFull         Stage = "full"          // fully signed in
)

// Account statuses.
const (
	StatusInvited  = "invited"
	StatusActive   = "active"
	StatusDisabled = "disabled" // by an administrator
	StatusLocked   = "locked"   // after disableAfter consecutive failed sign-ins, until a password reset
)

// Config holds identity policy.
type Config struct {
	Issuer            string        // shown in authenticator apps
	IdleWorkforce     time.Duration // idle timeout for staff sessions
	IdlePatient       time.Duration // idle timeout for patient sessions
	AbsoluteLifetime  time.Duration // a session ends this long after sign-in, active or not
	InviteLifetime    time.Duration
	ResetLifetime     time.Duration // password-reset links
	SetupLifetime     time.Duration
	PasswordParams    password.Params
	AttemptsPerMinute int // sign-in attempts allowed per source address per minute
	// HashConcurrency bounds how many password hashes run at once; zero means
	// password.DefaultConcurrency (half the processors), which keeps a sign-in storm from
	// starving other requests.
	HashConcurrency int
	// PasskeyRPID is the WebAuthn relying-party ID (the host name people reach Haven at) and
	// PasskeyOrigin the one origin passkeys are used from (https://host[:port]). Both empty
	// turns passkeys off.
	PasskeyRPID, PasskeyOrigin string
	// RequireWorkforcePasskey makes a passkey the only second factor staff may use (phishing
	// resistant, AAL3-style); TOTP and recovery codes are then refused for staff.
	RequireWorkforcePasskey bool
	// RequirePatientMFA makes patients enrol a second factor too. Without it a patient whose
	// password has at least password.MinLengthAlone characters may sign in with it alone.
	RequirePatientMFA bool
	// BaseURL is the external URL that invitation and reset links start with.
	BaseURL string
	// Mail, when set, e-mails invitation and reset links to their owners; without it the issuer
	// is shown the link once, and self-service reset is off.
	Mail Mailer
	// PatientEmail returns the address on a patient's record, for security notices and the
	// password context check; identity holds no patient contact details itself. The read is
	// Haven's own and passes the door (why names the occasion), so the patient sees it.
	PatientEmail func(ctx context.Context, patientID, why string, o Origin) (string, error)
	// ApplyPatientEmail writes a patient's confirmed new e-mail address onto their record: it
	// passes the door as the patient, then, in one transaction, runs take, which uses the
	// confirmation link, moves the account's sign-in name and returns the address's blind
	// index and its ciphertext sealed for the record, and stores them on the record. Any error
	// of take is returned as it is.
	ApplyPatientEmail func(ctx context.Context, patient access.Subject, o Origin, take func(ctx context.Context, tx *sql.Tx) (bidx, sealed []byte, err error)) error
	// Log receives failures of background work; never PHI or addresses.
	Log *slog.Logger
	// OIDC configures staff sign-in through the organisation's OpenID Connect provider; an
	// empty Issuer turns it off.
	OIDC oidc.Config
}

// DefaultConfig is the policy for a production deployment.
func DefaultConfig() Config {
	return Config{
		Issuer:            "Haven",
		IdleWorkforce:     15 * time.Minute,
		IdlePatient:       30 * time.Minute,
		AbsoluteLifetime:  12 * time.Hour,
		InviteLifetime:    72 * time.Hour,
		ResetLifetime:     30 * time.Minute,
		SetupLifetime:     24 * time.Hour,
		PasswordParams:    password.DefaultParams,
		AttemptsPerMinute: 20,
	}
}

// Directory seals workforce details and account secrets, and computes blind indexes.
type Directory interface {
	SealDirectory(loc keys.Location, plaintext []byte) ([]byte, error)
	OpenDirectory(loc keys.Location, ciphertext []byte) ([]byte, error)
	BlindIndex(kind keys.IndexKind, value string) ([]byte, error)
}

// Origin describes where a request came from, for the audit log.
type Origin = audit.Origin

// Service is the identity component.
type Service struct {
	cfg      Config
	db       *store.DB
	dir      Directory
	door     *guard.Door
	hasher   *password.Hasher
	now      func() time.Time
	throttle *throttle
	backoff  *backoff
	// resetMail limits self-service reset e-mails per account, so the form cannot be used to
	// flood someone's inbox.
	resetMail  *throttle
	background sync.WaitGroup
	rp         *passkey.RelyingParty // nil when passkeys are off
	oidc       *oidc.Client          // nil when federated sign-in is off
	// later runs work after an answer (afterAnswer): runBackground, or in a test, a queue the
	// test runs when it chooses.
	later func(work func())
}

// New builds the identity service.
func New(cfg Config, db *store.DB, dir Directory, door *guard.Door, now func() time.Time) (*Service, error) {
	rp, err := newRelyingParty(cfg)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	var rpOIDC *oidc.Client
	if cfg.OIDC.Issuer != "" {
		if rpOIDC, err = oidc.New(cfg.OIDC, now); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
	}
	s := &Service{
		cfg: cfg, db: db, dir: dir, door: door, now: now,
		hasher:    password.NewHasher(cfg.PasswordParams, cfg.HashConcurrency),
		throttle:  newThrottle(cfg.AttemptsPerMinute, time.Minute),
		backoff:   newBackoff(),
		resetMail: newThrottle(3, time.Hour),
		rp:        rp,
		oidc:      rpOIDC,
	}
	s.later = s.runBackground
	return s, nil
}

// runBackground runs work in a goroutine that Wait waits for.
func (s *Service) runBackground(work func()) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		work()
	}()
}

// Account is an account as the workforce directory shows it. Name and Email are empty for
// patients: their details live in the encrypted patient record.
type Account struct {
	ID        string
	Role      access.Role
	Status    string
	Name      string
	Email     string
	PatientID string
	HasTOTP   bool
	CreatedAt time.Time
}

// newToken returns a 256-bit random token and its SHA-256.
func newToken() (token string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
