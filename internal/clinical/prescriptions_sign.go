package clinical

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical/rx"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
)

// Signing. The prescriber signs the digest of the canonical prescription (package rx) with
// their own passkey (a WebAuthn assertion whose challenge is the digest) or, without one, with
// their own key in the key service right after a fresh second factor. A controlled substance
// needs the passkey. The public key is a leaf of the audit log ("prescriber.key-add") from its
// first use, and a signature counts only if its key has that leaf.

// Signing methods, as the API names them.
const (
	SignPasskey = rx.MethodPasskey
	SignKey     = rx.MethodKey
)

// Signing errors. Their text is safe to show.
var (
	ErrControlledNeedsPasskey = fault.New(fault.Conflict, "a controlled substance must be signed with your passkey; add a passkey on your account page, then sign again")
	ErrSignatureMismatch      = fault.New(fault.Conflict, "the prescription changed while you were signing it; review it and sign again")
	ErrSignMethod             = fault.InvalidField("method", `choose "passkey" or "key"`)
)

// EventPrescriberKey is the audit event that makes a prescriber's public key a leaf of the log.
const EventPrescriberKey = "prescriber.key-add"

// SigningStart is how to sign: with a passkey (Options for navigator.credentials.get, whose
// challenge is the prescription's digest), or with the key after a fresh second factor.
type SigningStart struct {
	Method  string                   `json:"method"`
	Options *identity.PasskeyOptions `json:"options,omitempty"`
}

// SignRequest finishes a signature: the passkey's ceremony and assertion, or the key.
type SignRequest struct {
	Method     string          `json:"method"`
	Ceremony   string          `json:"ceremony,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

// Signed is a signed prescription with its one-time verification code (also on the printable).
type Signed struct {
	Prescription Prescription `json:"prescription"`
	Code         string       `json:"verificationCode"`
}

const (
	setIssued = `UPDATE prescriptions SET issued_at = $1 WHERE id = $2 AND status = 'draft'`
	signRx    = `UPDATE prescriptions SET status = 'signed', body_ct = $1, code_hash = $2, issued_at = $3, signed_at = $4, updated_at = $4
		WHERE id = $5 AND status = 'draft'`
)

// mayFor is the door's check of an act without its step-up: a passkey assertion is the
// step-up, so it is asked for only once the policy would allow the act. A refusal is recorded.
func (p *Prescriptions) mayFor(ctx context.Context, a guard.Act) error {
	if ok, reason := p.r.door.May(ctx, a.By, a.Action, a.Resource); !ok {
		return p.r.door.Refuse(ctx, a, reason)
	}
	return nil
}

// BeginSigning fixes the prescription's issue time and says how the prescriber signs it: with
// a passkey when they have one (the options' challenge is the digest), else with their key.
func (p *Prescriptions) BeginSigning(ctx context.Context, by access.Subject, id string, o Origin) (SigningStart, error) {
	patientID, prescriber, status, err := p.meta(ctx, id)
	if err != nil {
		return SigningStart{}, err
	}
	a := act(by, access.SignPrescription, "Prescription", id, patientID, o)
	if err := p.mayFor(ctx, a); err != nil {
		return SigningStart{}, err
	}
	if status != RxDraft {
		return SigningStart{}, ErrNotDraft
	}
	if prescriber != by.AccountID {
		return SigningStart{}, p.r.door.Refuse(ctx, a, "not-prescriber")
	}
	has, err := p.passkeys.HasPasskey(ctx, by.AccountID)
	if err != nil {
		return SigningStart{}, err
	}
	if !has {
		row, err := p.load(ctx, id, patientID)
		if err != nil {
			return SigningStart{}, err
		}
		if row.Controlled() {
			return SigningStart{}, ErrControlledNeedsPasskey
		}
		return SigningStart{Method: SignKey}, nil
	}
	issued := p.r.now().UTC().Truncate(time.Second)
	if _, err := p.r.db.ExecContext(ctx, setIssued, issued.UnixNano(), id); err != nil {
		return SigningStart{}, fmt.Errorf("clinical: prescription issue time: %w", err)
	}
	row, err := p.load(ctx, id, patientID)
	if err != nil {
		return SigningStart{}, err
	}
	opts, err := p.passkeys.BeginPasskeySigning(ctx, by, rx.Digest(canonical(row.Prescription, issued)))
	if err != nil {
		return SigningStart{}, err
	}
	return SigningStart{Method: SignPasskey, Options: &opts}, nil
}

func canonical(x Prescription, issued time.Time) []byte {
	return rx.Canonical(rx.Header{PrescriptionID: x.ID, PatientID: x.PatientID, PrescriberID: x.PrescriberID, IssuedAt: issued}, x.Content)
}

// Sign signs a draft. With a passkey, the assertion must answer the ceremony BeginSigning
// started and sign this prescription's digest; being user-verified, it is the step-up. With
// the key, the door asks for a second factor within the step-up window.
func (p *Prescriptions) Sign(ctx context.Context, by access.Subject, id string, req SignRequest, o Origin) (Signed, error) {
	patientID, prescriber, status, err := p.meta(ctx, id)
	if err != nil {
		return Signed{}, err
	}
	a := act(by, access.SignPrescription, "Prescription", id, patientID, o)
	switch req.Method {
	case SignPasskey:
		if err := p.mayFor(ctx, a); err != nil {
			return Signed{}, err
		}
	case SignKey:
		if err := p.r.door.Admit(ctx, a); err != nil {
			return Signed{}, err
		}
	default:
		return Signed{}, ErrSignMethod
	}
	if status != RxDraft {
		return Signed{}, ErrNotDraft
	}
	if prescriber != by.AccountID {
		return Signed{}, p.r.door.Refuse(ctx, a, "not-prescriber")
	}
	row, err := p.load(ctx, id, patientID)
	if err != nil {
		return Signed{}, err
	}
	var sig rx.Signature
	var issued time.Time
	if req.Method == SignPasskey {
		if row.IssuedAt == nil {
			return Signed{}, ErrSignatureMismatch
		}
		issued = *row.IssuedAt
		as, err := p.passkeys.FinishPasskeySigning(ctx, by, req.Ceremony, req.Credential, o)
		if err != nil {
			return Signed{}, err
		}
		sig = rx.Signature{Method: rx.MethodPasskey, PublicKey: as.PublicKey, CredentialID: as.CredentialID,
			AuthenticatorData: as.AuthenticatorData, ClientDataJSON: as.ClientDataJSON, Signature: as.Signature}
		if err := rx.Verify(canonical(row.Prescription, issued), sig); err != nil {
			return Signed{}, fault.Wrap(fault.Conflict, ErrSignatureMismatch.Message, err)
		}
		// The assertion was user-verified just now: that is the step-up.
		a.By.FactorAt = p.r.now()
	} else if row.Controlled() {
		return Signed{}, ErrControlledNeedsPasskey
	}
	code, err := newRxCode()
	if err != nil {
		return Signed{}, err
	}
	return guard.Do(ctx, p.r.door, a, func(ctx context.Context) (Signed, error) {
		if req.Method == SignKey {
			issued = p.r.now().UTC().Truncate(time.Second)
			digest := rx.Digest(canonical(row.Prescription, issued))
			s, pub, err := p.keys.SignAsPrescriber(ctx, by.AccountID, digest)
			if err != nil {
				return Signed{}, fmt.Errorf("clinical: sign prescription: %w", err)
			}
			sig = rx.Signature{Method: rx.MethodKey, PublicKey: pub, Signature: s}
		}
		if err := p.ensureKeyLeaf(ctx, by, sig, o); err != nil {
			return Signed{}, err
		}
		ct, err := p.seal(ctx, patientID, id, rxBody{Content: row.Content, Signature: &sig, Code: code})
		if err != nil {
			return Signed{}, err
		}
		now := p.r.now().UnixNano()
		res, err := p.r.db.ExecContext(ctx, signRx, ct, codeHash(id, code), issued.UnixNano(), now, id)
		if err != nil {
			return Signed{}, fmt.Errorf("clinical: store signed prescription: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return Signed{}, ErrNotDraft
		}
		done, err := p.load(ctx, id, patientID)
		if err != nil {
			return Signed{}, err
		}
		return Signed{Prescription: done.Prescription, Code: formatRxCode(code)}, nil
	})
}

// ensureKeyLeaf records the signature's public key in the audit log the first time it signs.
func (p *Prescriptions) ensureKeyLeaf(ctx context.Context, by access.Subject, sig rx.Signature, o Origin) error {
	ok, err := p.keyInLog(ctx, by.AccountID, sig)
	if err != nil || ok {
		return err
	}
	return p.r.door.Record(ctx, guard.Event{By: by, Action: EventPrescriberKey,
		Resource: access.Resource{Type: "PrescriberKey", ID: rx.Fingerprint(sig.PublicKey)},
		Outcome:  audit.Success, Reason: rx.LeafReason(sig.Alg(), sig.PublicKey), Origin: o})
}

// keyInLog reports whether the audit log has the leaf that makes sig's key prescriberID's.
func (p *Prescriptions) keyInLog(ctx context.Context, prescriberID string, sig rx.Signature) (bool, error) {
	entries, err := audit.Search(ctx, p.r.db, audit.Filter{ActorID: prescriberID, Action: EventPrescriberKey, Outcome: audit.Success, Limit: 1000})
	if err != nil {
		return false, fmt.Errorf("clinical: prescriber keys: %w", err)
	}
	fp, reason := rx.Fingerprint(sig.PublicKey), rx.LeafReason(sig.Alg(), sig.PublicKey)
	for _, e := range entries {
		if e.ResourceType == "PrescriberKey" && e.ResourceID == fp && e.Reason == reason {
			return true, nil
		}
	}
	return false, nil
}

// newRxCode is a random one-time verification code of 50 bits.
func newRxCode() (string, error) {
	var b [rxCodeLength]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("clinical: verification code: %w", err)
	}
	for i := range b {
		b[i] = rxCodeAlphabet[b[i]&31]
	}
	return string(b[:]), nil
}

// formatRxCode groups a code for reading aloud: "ABCDE-FGHJK".
func formatRxCode(code string) string {
	if len(code) != rxCodeLength {
		return code
	}
	return code[:5] + "-" + code[5:]
}

// normalRxCode reads a code as people type it: any case, with or without the dash or spaces,
// O for 0 and I or L for 1. It returns "" for anything that cannot be a code.
func normalRxCode(s string) string {
	out := make([]byte, 0, rxCodeLength)
	for _, r := range s {
		switch {
		case r == '-' || r == ' ':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || !containsByte(rxCodeAlphabet, byte(r)) || len(out) == rxCodeLength {
			return ""
		}
		out = append(out, byte(r))
	}
	if len(out) != rxCodeLength {
		return ""
	}
	return string(out)
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// codeHash binds a code to its prescription.
func codeHash(id, code string) []byte {
	h := sha256.Sum256([]byte("haven/rx-code\x00" + id + "\x00" + code))
	return h[:]
}
