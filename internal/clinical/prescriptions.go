package clinical

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"haven/internal/ids"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/clinical/rx"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/keys"
)

// Prescriptions: a clinician writes a draft, reviews it against the patient's current
// allergies and medications, and signs it with their own passkey or key
// (prescriptions_sign.go); a pharmacy then checks it and marks it dispensed with the printed
// one-time code (prescriptions_verify.go). Every state change passes the door and is audited.

// Prescription states.
const (
	RxDraft     = "draft"
	RxSigned    = "signed"
	RxDispensed = "dispensed"
	RxCancelled = "cancelled"
)

// Limits of a prescription's text fields, in characters.
const (
	maxRxField = 200
	maxRxNotes = 2000
	maxRefills = 12
)

// Prescription errors. Their text is safe to show.
var (
	ErrNotDraft        = fault.New(fault.Conflict, "this prescription is signed: it cannot be changed; cancel it or renew it as a new draft")
	ErrNotSigned       = fault.New(fault.Conflict, "only a signed prescription can be renewed or printed")
	ErrAlreadyFinished = fault.New(fault.Conflict, "this prescription is already cancelled or dispensed")
)

// Warning is what the review found: a listed allergy, or a duplicate of a current medication.
type Warning struct {
	Kind    string `json:"kind"` // "allergy" or "duplicate"
	Message string `json:"message"`
	ItemID  string `json:"itemId"`
}

// Prescription is one prescription as its readers see it.
type Prescription struct {
	ID             string `json:"id"`
	PatientID      string `json:"patientId"`
	PrescriberID   string `json:"prescriberId"`
	PrescriberName string `json:"prescriberName"`
	Status         string `json:"status"`
	rx.Content
	// SignedWith is how it was signed: "passkey" or "key".
	SignedWith  string     `json:"signedWith,omitempty"`
	RenewedFrom string     `json:"renewedFrom,omitempty"`
	IssuedAt    *time.Time `json:"issuedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	SignedAt    *time.Time `json:"signedAt,omitempty"`
	DispensedAt *time.Time `json:"dispensedAt,omitempty"`
	CancelledAt *time.Time `json:"cancelledAt,omitempty"`
	// Warnings are the review's findings against the patient's current allergies and
	// medications (on a single prescription's read).
	Warnings []Warning `json:"warnings"`
}

// Controlled reports whether the prescriber set a controlled-substance schedule.
func (p Prescription) Controlled() bool { return p.Schedule != "" }

// PrescriberKeys signs with a clinician's own Ed25519 key (package keys).
type PrescriberKeys interface {
	SignAsPrescriber(ctx context.Context, accountID string, digest []byte) (sig, publicKey []byte, err error)
}

// PasskeySigner runs a signing ceremony with a clinician's own passkeys (package identity).
type PasskeySigner interface {
	HasPasskey(ctx context.Context, accountID string) (bool, error)
	BeginPasskeySigning(ctx context.Context, by access.Subject, digest []byte) (identity.PasskeyOptions, error)
	FinishPasskeySigning(ctx context.Context, by access.Subject, ceremony string, response []byte, o Origin) (identity.PasskeyAssertion, error)
}

// Prescriptions is the prescription service, over the record service.
type Prescriptions struct {
	r        *Records
	keys     PrescriberKeys
	passkeys PasskeySigner
	// The public check is throttled per client address and per prescription; wrong codes count.
	byAddr, byRx *identity.Limiter
}

// Throttle of the public check: attempts per window, per address and per prescription.
const (
	rxCheckWindow  = 15 * time.Minute
	rxChecksPerRx  = 10
	rxChecksPerIP  = 30
	rxCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford's base 32
	rxCodeLength   = 10                                 // 50 bits
)

// NewPrescriptions builds the prescription service.
func NewPrescriptions(r *Records, k PrescriberKeys, p PasskeySigner) *Prescriptions {
	return &Prescriptions{r: r, keys: k, passkeys: p,
		byAddr: identity.NewLimiter(rxChecksPerIP, rxCheckWindow), byRx: identity.NewLimiter(rxChecksPerRx, rxCheckWindow)}
}

// rxBody is the sealed part of a prescription.
type rxBody struct {
	Content   rx.Content    `json:"content"`
	Signature *rx.Signature `json:"signature,omitempty"`
	// Code is the printed one-time verification code, sealed so that the patient's printable
	// can show it again; the public check compares its hash (code_hash).
	Code string `json:"code,omitempty"`
}

// rxRow is a stored prescription with its body opened.
type rxRow struct {
	Prescription
	body     rxBody
	codeHash []byte
}

func rxLocation(id string) keys.Location {
	return keys.Location{Table: "prescriptions", Row: id, Field: "body"}
}

const (
	insertRx = `INSERT INTO prescriptions (id, patient_id, prescriber_id, status, body_ct, renewed_from, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	updateRxDraft = `UPDATE prescriptions SET body_ct = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'`
	selectRxCols  = `SELECT id, patient_id, prescriber_id, status, body_ct, code_hash, renewed_from, issued_at, created_at,
		updated_at, signed_at, dispensed_at, cancelled_at FROM prescriptions`
	selectRxMeta = `SELECT patient_id, prescriber_id, status FROM prescriptions WHERE id = $1`
	cancelRx     = `UPDATE prescriptions SET status = 'cancelled', cancelled_at = $1, updated_at = $1 WHERE id = $2 AND status IN ('draft', 'signed')`
)

// meta is what the door needs before it decides: whose prescription, by whom, in which state.
func (p *Prescriptions) meta(ctx context.Context, id string) (patientID, prescriberID, status string, err error) {
	if id == "" || len(id) > 64 {
		return "", "", "", ErrNotFound
	}
	err = p.r.db.QueryRowContext(ctx, selectRxMeta, id).Scan(&patientID, &prescriberID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", ErrNotFound
	}
	if err != nil {
		return "", "", "", fmt.Errorf("clinical: prescription: %w", err)
	}
	return patientID, prescriberID, status, nil
}

func (p *Prescriptions) seal(ctx context.Context, patientID, id string, b rxBody) ([]byte, error) {
	plain, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("clinical: encode prescription: %w", err)
	}
	ct, err := p.r.cipher.Seal(ctx, patientID, rxLocation(id), plain)
	if err != nil {
		return nil, fmt.Errorf("clinical: seal prescription: %w", err)
	}
	return ct, nil
}

func scanRx(sc interface{ Scan(...any) error }) (rxRow, []byte, error) {
	var row rxRow
	var ct []byte
	var issued, created, updated, signed, dispensed, cancelled int64
	err := sc.Scan(&row.ID, &row.PatientID, &row.PrescriberID, &row.Status, &ct, &row.codeHash, &row.RenewedFrom,
		&issued, &created, &updated, &signed, &dispensed, &cancelled)
	if err != nil {
		return row, nil, err
	}
	at := func(n int64) *time.Time {
		if n == 0 {
			return nil
		}
		t := time.Unix(0, n).UTC()
		return &t
	}
	row.IssuedAt, row.SignedAt, row.DispensedAt, row.CancelledAt = at(issued), at(signed), at(dispensed), at(cancelled)
	row.CreatedAt, row.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return row, ct, nil
}

func (p *Prescriptions) open(ctx context.Context, row *rxRow, ct []byte) error {
	plain, err := p.r.cipher.Open(ctx, row.PatientID, rxLocation(row.ID), ct)
	if err != nil {
		return p.r.unreadable(ctx, row.PatientID, fmt.Errorf("clinical: open prescription %s: %w", row.ID, err))
	}
	if err := json.Unmarshal(plain, &row.body); err != nil {
		return p.r.unreadable(ctx, row.PatientID, fmt.Errorf("clinical: decode prescription %s: %w", row.ID, err))
	}
	row.Content = row.body.Content
	if row.body.Signature != nil {
		row.SignedWith = row.body.Signature.Method
	}
	row.Warnings = []Warning{}
	return nil
}

// load reads and opens one prescription of patientID. The caller has passed the door.
func (p *Prescriptions) load(ctx context.Context, id, patientID string) (rxRow, error) {
	row, ct, err := scanRx(p.r.db.QueryRowContext(ctx, selectRxCols+` WHERE id = $1 AND patient_id = $2`, id, patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return rxRow{}, ErrNotFound
	}
	if err != nil {
		return rxRow{}, fmt.Errorf("clinical: load prescription: %w", err)
	}
	if err := p.open(ctx, &row, ct); err != nil {
		return rxRow{}, err
	}
	return row, p.name(ctx, []*Prescription{&row.Prescription})
}

// name fills in the prescribers' names.
func (p *Prescriptions) name(ctx context.Context, ps []*Prescription) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]string, len(ps))
	for i, x := range ps {
		ids[i] = x.PrescriberID
	}
	names, err := p.r.accounts.DisplayNames(ctx, ids)
	if err != nil {
		return fmt.Errorf("clinical: prescribers: %w", err)
	}
	for _, x := range ps {
		name, ok := names[x.PrescriberID]
		if !ok {
			return fmt.Errorf("clinical: prescription %s: prescriber %s: %w", x.ID, x.PrescriberID, ErrNoAuthor)
		}
		x.PrescriberName = name
	}
	return nil
}

// validRx checks a prescription's content and returns it trimmed.
func validRx(c rx.Content) (rx.Content, error) {
	fields := []struct {
		name string
		v    *string
		max  int
		need bool
	}{
		{"medication", &c.Medication, maxRxField, true}, {"code", &c.Code, 64, false}, {"codeSystem", &c.CodeSystem, maxRxField, false},
		{"strength", &c.Strength, maxRxField, false}, {"form", &c.Form, maxRxField, false}, {"dose", &c.Dose, maxRxField, false},
		{"route", &c.Route, maxRxField, false}, {"frequency", &c.Frequency, maxRxField, false},
		{"quantity", &c.Quantity, maxRxField, true}, {"notes", &c.Notes, maxRxNotes, false}, {"schedule", &c.Schedule, 4, false},
	}
	for _, f := range fields {
		*f.v = strings.TrimSpace(*f.v)
		if !utf8.ValidString(*f.v) || utf8.RuneCountInString(*f.v) > f.max {
			return c, fault.InvalidField(f.name, fmt.Sprintf("write at most %d characters", f.max))
		}
		if f.need && *f.v == "" {
			return c, fault.InvalidField(f.name, "write the "+f.name)
		}
	}
	switch c.Schedule {
	case "", "II", "III", "IV", "V":
	default:
		return c, fault.InvalidField("schedule", "choose a controlled-substance schedule from II to V, or none")
	}
	if c.Refills < 0 || c.Refills > maxRefills {
		return c, fault.InvalidField("refills", fmt.Sprintf("choose 0 to %d refills", maxRefills))
	}
	if c.Schedule == "II" && c.Refills > 0 {
		return c, fault.InvalidField("refills", "a schedule II prescription cannot be refilled")
	}
	return c, nil
}

// Write starts a draft prescription for a patient.
func (p *Prescriptions) Write(ctx context.Context, by access.Subject, patientID string, c rx.Content, o Origin) (Prescription, error) {
	id := ids.New()
	a := act(by, access.WritePrescription, "Prescription", id, patientID, o)
	if err := p.r.door.Admit(ctx, a); err != nil {
		return Prescription{}, err
	}
	c, err := validRx(c)
	if err != nil {
		return Prescription{}, err
	}
	return guard.Do(ctx, p.r.door, a, func(ctx context.Context) (Prescription, error) {
		return p.insert(ctx, by, patientID, id, c, "")
	})
}

func (p *Prescriptions) insert(ctx context.Context, by access.Subject, patientID, id string, c rx.Content, from string) (Prescription, error) {
	ct, err := p.seal(ctx, patientID, id, rxBody{Content: c})
	if err != nil {
		return Prescription{}, err
	}
	now := p.r.now().UnixNano()
	if _, err := p.r.db.ExecContext(ctx, insertRx, id, patientID, by.AccountID, RxDraft, ct, from, now, now); err != nil {
		return Prescription{}, fmt.Errorf("clinical: insert prescription: %w", err)
	}
	row, err := p.load(ctx, id, patientID)
	if err != nil {
		return Prescription{}, err
	}
	return row.Prescription, nil
}

// Update changes a draft. A signed prescription is never changed (ErrNotDraft).
func (p *Prescriptions) Update(ctx context.Context, by access.Subject, id string, c rx.Content, o Origin) (Prescription, error) {
	patientID, _, status, err := p.meta(ctx, id)
	if err != nil {
		return Prescription{}, err
	}
	a := act(by, access.WritePrescription, "Prescription", id, patientID, o)
	if err := p.r.door.Admit(ctx, a); err != nil {
		return Prescription{}, err
	}
	if status != RxDraft {
		return Prescription{}, ErrNotDraft
	}
	if c, err = validRx(c); err != nil {
		return Prescription{}, err
	}
	return guard.Do(ctx, p.r.door, a, func(ctx context.Context) (Prescription, error) {
		ct, err := p.seal(ctx, patientID, id, rxBody{Content: c})
		if err != nil {
			return Prescription{}, err
		}
		res, err := p.r.db.ExecContext(ctx, updateRxDraft, ct, p.r.now().UnixNano(), id)
		if err != nil {
			return Prescription{}, fmt.Errorf("clinical: update prescription: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return Prescription{}, ErrNotDraft
		}
		return p.review(ctx, id, patientID)
	})
}

// review loads a prescription with the warnings of its review.
func (p *Prescriptions) review(ctx context.Context, id, patientID string) (Prescription, error) {
	row, err := p.load(ctx, id, patientID)
	if err != nil {
		return Prescription{}, err
	}
	allergies, meds, err := p.r.rxContext(ctx, patientID)
	if err != nil {
		return Prescription{}, err
	}
	row.Warnings = Review(row.Content, allergies, meds)
	return row.Prescription, nil
}

// Get returns one prescription with its review's warnings.
func (p *Prescriptions) Get(ctx context.Context, by access.Subject, id string, o Origin) (Prescription, error) {
	patientID, _, status, err := p.meta(ctx, id)
	if err != nil {
		return Prescription{}, err
	}
	return guard.Do(ctx, p.r.door, act(by, access.ReadPrescription, "Prescription", id, patientID, o), func(ctx context.Context) (Prescription, error) {
		if status == RxDraft && by.Role == access.Patient {
			return Prescription{}, ErrNotFound // a draft is the prescriber's until signed
		}
		return p.review(ctx, id, patientID)
	})
}

// List returns a patient's prescriptions, newest first; a patient does not see drafts.
func (p *Prescriptions) List(ctx context.Context, by access.Subject, patientID string, o Origin) ([]Prescription, error) {
	return guard.Do(ctx, p.r.door, act(by, access.ReadPrescription, "Prescription", "", patientID, o), func(ctx context.Context) ([]Prescription, error) {
		rows, err := p.r.db.QueryContext(ctx, selectRxCols+` WHERE patient_id = $1 ORDER BY created_at DESC, id`, patientID)
		if err != nil {
			return nil, fmt.Errorf("clinical: list prescriptions: %w", err)
		}
		defer rows.Close()
		out := []Prescription{}
		for rows.Next() {
			row, ct, err := scanRx(rows)
			if err != nil {
				return nil, fmt.Errorf("clinical: scan prescription: %w", err)
			}
			if row.Status == RxDraft && by.Role == access.Patient {
				continue // a draft is the prescriber's until signed
			}
			if err := p.open(ctx, &row, ct); err != nil {
				return nil, err
			}
			out = append(out, row.Prescription)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("clinical: list prescriptions: %w", err)
		}
		ps := make([]*Prescription, len(out))
		for i := range out {
			ps[i] = &out[i]
		}
		return out, p.name(ctx, ps)
	})
}

// Cancel cancels a draft or a signed prescription: a pharmacy's check then answers cancelled.
func (p *Prescriptions) Cancel(ctx context.Context, by access.Subject, id string, o Origin) error {
	patientID, _, status, err := p.meta(ctx, id)
	if err != nil {
		return err
	}
	a := act(by, access.CancelPrescription, "Prescription", id, patientID, o)
	if err := p.r.door.Admit(ctx, a); err != nil {
		return err
	}
	if status != RxDraft && status != RxSigned {
		return ErrAlreadyFinished
	}
	return guard.Run(ctx, p.r.door, a, func(ctx context.Context) error {
		res, err := p.r.db.ExecContext(ctx, cancelRx, p.r.now().UnixNano(), id)
		if err != nil {
			return fmt.Errorf("clinical: cancel prescription: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrAlreadyFinished
		}
		return nil
	})
}

// Renew starts a new draft copied from a signed (or dispensed) prescription.
func (p *Prescriptions) Renew(ctx context.Context, by access.Subject, id string, o Origin) (Prescription, error) {
	patientID, _, status, err := p.meta(ctx, id)
	if err != nil {
		return Prescription{}, err
	}
	newRx := ids.New()
	a := act(by, access.WritePrescription, "Prescription", newRx, patientID, o)
	a.Detail = "renews " + id
	if err := p.r.door.Admit(ctx, a); err != nil {
		return Prescription{}, err
	}
	if status != RxSigned && status != RxDispensed {
		return Prescription{}, ErrNotSigned
	}
	return guard.Do(ctx, p.r.door, a, func(ctx context.Context) (Prescription, error) {
		old, err := p.load(ctx, id, patientID)
		if err != nil {
			return Prescription{}, err
		}
		return p.insert(ctx, by, patientID, newRx, old.Content, id)
	})
}

// rxContext is the patient's current allergies and medications, for the review. The caller
// has passed the door.
func (r *Records) rxContext(ctx context.Context, patientID string) (allergies, medications []Item, err error) {
	items, err := r.loadItems(ctx, patientID, KindAllergy, KindMedication)
	if err != nil {
		return nil, nil, err
	}
	for _, it := range Current(items) {
		switch it.Kind {
		case KindAllergy:
			allergies = append(allergies, it)
		case KindMedication:
			medications = append(medications, it)
		}
	}
	return allergies, medications, nil
}

// Review warns of a prescription's match with a listed allergy or a current medication. With
// no drug database, a match is the same code, or the same normalised name: case, spaces,
// punctuation, strengths, forms and common salt words ("hydrochloride", "sodium") set aside,
// one name's words all found in the other's ("Penicillin" matches "penicillin V potassium").
func Review(c rx.Content, allergies, medications []Item) []Warning {
	out := []Warning{}
	for _, it := range allergies {
		if matches(c, it) {
			msg := "Listed allergy: " + it.Text
			if it.Reaction != "" {
				msg += " (" + it.Reaction + ")"
			}
			out = append(out, Warning{Kind: "allergy", Message: msg, ItemID: it.ID})
		}
	}
	for _, it := range medications {
		if matches(c, it) {
			msg := "Duplicate of a current medication: " + it.Text
			if it.Dosage != "" {
				msg += ", " + it.Dosage
			}
			out = append(out, Warning{Kind: "duplicate", Message: msg, ItemID: it.ID})
		}
	}
	return out
}

func matches(c rx.Content, it Item) bool {
	if c.Code != "" && it.Code != nil && strings.EqualFold(strings.TrimSpace(it.Code.Code), c.Code) &&
		(c.CodeSystem == "" || it.Code.System == "" || c.CodeSystem == it.Code.System) {
		return true
	}
	a, b := drugWords(c.Medication), drugWords(it.Text)
	return len(a) > 0 && len(b) > 0 && (subset(a, b) || subset(b, a))
}

// ignoredWords are set aside when names are compared: salts, strengths' units and forms.
var ignoredWords = map[string]bool{
	"hydrochloride": true, "hcl": true, "hydrobromide": true, "sodium": true, "potassium": true, "calcium": true,
	"magnesium": true, "sulfate": true, "sulphate": true, "maleate": true, "tartrate": true, "succinate": true,
	"besylate": true, "besilate": true, "mesylate": true, "mesilate": true, "citrate": true, "phosphate": true,
	"acetate": true, "bromide": true, "chloride": true, "fumarate": true, "hyclate": true, "monohydrate": true,
	"dihydrate": true, "trihydrate": true, "anhydrous": true,
	"mg": true, "mcg": true, "µg": true, "g": true, "ml": true, "iu": true, "units": true, "unit": true,
	"tablet": true, "tablets": true, "tab": true, "tabs": true, "capsule": true, "capsules": true, "cap": true,
	"caps": true, "oral": true, "solution": true, "suspension": true, "injection": true, "cream": true,
	"er": true, "xr": true, "sr": true, "xl": true, "cr": true,
}

// drugWords is a name's words, lower-cased, without punctuation, numbers or ignored words. A
// name made only of ignored words ("potassium chloride") keeps them.
func drugWords(name string) map[string]bool {
	all := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	kept, words := map[string]bool{}, map[string]bool{}
	for _, w := range all {
		if r, _ := utf8.DecodeRuneInString(w); unicode.IsDigit(r) {
			continue // a strength: "10", "500mg"
		}
		words[w] = true
		if !ignoredWords[w] {
			kept[w] = true
		}
	}
	if len(kept) == 0 {
		return words
	}
	return kept
}

func subset(a, b map[string]bool) bool {
	for w := range a {
		if !b[w] {
			return false
		}
	}
	return true
}
