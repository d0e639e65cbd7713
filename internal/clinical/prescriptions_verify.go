package clinical

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/clinical/rx"
	"haven/internal/fault"
	"haven/internal/guard"
)

// The pharmacy's check. Haven itself (access.SystemSubject) answers a pharmacy holding a
// prescription's identifier and its printed one-time code: the state, whether the signature
// verifies (recomputed from the sealed content), and what the paper already shows, no more.
// A wrong code is the same "not found" as an unknown prescription, and both are throttled per
// client address and per prescription.

// Verification states.
const (
	VerifyValid     = "valid"
	VerifyCancelled = "cancelled"
	VerifyDispensed = "dispensed"
)

// Pharmacy errors. Their text is safe to show and names no patient.
var (
	ErrRxNotFound        = fault.New(fault.NotFound, "no prescription has this identifier and code; check both against the paper")
	ErrRxAlreadyDispense = fault.New(fault.Conflict, "this prescription was already dispensed; do not dispense it again")
	ErrRxCancelled       = fault.New(fault.Conflict, "this prescription was cancelled by the prescriber; do not dispense it")
)

// Verification is what a pharmacy learns: the state, whether the signature verifies, and the
// lines the printout shows. The patient is named by initials only: the pharmacy compares
// them with the paper and the person in front of it.
type Verification struct {
	Status            string `json:"status"`
	SignatureVerifies bool   `json:"signatureVerifies"`
	// SignedWith is "passkey" or "key".
	SignedWith      string `json:"signedWith"`
	Medication      string `json:"medication"`
	Directions      string `json:"directions"`
	Quantity        string `json:"quantity"`
	Refills         int    `json:"refills"`
	Schedule        string `json:"schedule,omitempty"`
	PrescriberName  string `json:"prescriberName"`
	IssuedOn        string `json:"issuedOn"` // a date, YYYY-MM-DD
	PatientInitials string `json:"patientInitials"`
}

// MedicationLine is a prescription's medication as printed: "Amoxicillin 500 mg capsule".
func MedicationLine(c rx.Content) string {
	return joinNonEmpty(" ", c.Medication, c.Strength, c.Form)
}

// Directions are how to take it, as printed: "1 capsule, oral, three times a day".
func Directions(c rx.Content) string {
	return joinNonEmpty(", ", c.Dose, c.Route, c.Frequency)
}

// Line is the prescription's medication line, as printed.
func (p Prescription) Line() string { return MedicationLine(p.Content) }

// HowToTake is the prescription's directions, as printed.
func (p Prescription) HowToTake() string { return Directions(p.Content) }

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, s := range parts {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, sep)
}

// Initials are a name's initials, "A. L.".
func Initials(name string) string {
	var out []string
	for _, w := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(w)
		out = append(out, strings.ToUpper(string(r))+".")
	}
	return strings.Join(out, " ")
}

// pharmacyAct is Haven's own act for a pharmacy holding the code.
func pharmacyAct(a access.Action, id, patientID string, o Origin) guard.Act {
	g := act(access.SystemSubject(), a, "Prescription", id, patientID, o)
	g.Detail = access.ReasonVerificationCode
	return g
}

// checkCode throttles the attempt and returns the prescription the code opens, or
// ErrRxNotFound. Drafts are not found.
func (p *Prescriptions) checkCode(ctx context.Context, id, code string, o Origin) (patientID string, err error) {
	now := p.r.now()
	if err := p.byAddr.Take("addr:"+o.Addr, now); err != nil {
		return "", err
	}
	if len(id) > 64 {
		return "", ErrRxNotFound
	}
	if err := p.byRx.Take("rx:"+id, now); err != nil {
		return "", err
	}
	code = normalRxCode(code)
	var hash []byte
	var status string
	err = p.r.db.QueryRowContext(ctx, `SELECT patient_id, status, code_hash FROM prescriptions WHERE id = $1`, id).Scan(&patientID, &status, &hash)
	if err != nil || code == "" || status == RxDraft || len(hash) == 0 || subtle.ConstantTimeCompare(hash, codeHash(id, code)) != 1 {
		return "", ErrRxNotFound
	}
	return patientID, nil
}

// Verify answers a pharmacy's check of a prescription with its printed code.
func (p *Prescriptions) Verify(ctx context.Context, id, code string, o Origin) (Verification, error) {
	patientID, err := p.checkCode(ctx, id, code, o)
	if err != nil {
		return Verification{}, err
	}
	return guard.Do(ctx, p.r.door, pharmacyAct(access.VerifyPrescription, id, patientID, o), func(ctx context.Context) (Verification, error) {
		row, err := p.load(ctx, id, patientID)
		if err != nil {
			return Verification{}, err
		}
		pt, err := p.r.loadPatient(ctx, patientID)
		if err != nil {
			return Verification{}, err
		}
		v := Verification{Status: VerifyValid, Medication: MedicationLine(row.Content), Directions: Directions(row.Content),
			Quantity: row.Quantity, Refills: row.Refills, Schedule: row.Schedule, PrescriberName: row.PrescriberName,
			SignedWith: row.SignedWith, PatientInitials: Initials(pt.Name)}
		switch row.Status {
		case RxCancelled:
			v.Status = VerifyCancelled
		case RxDispensed:
			v.Status = VerifyDispensed
		}
		if row.IssuedAt != nil {
			v.IssuedOn = row.IssuedAt.Format(time.DateOnly)
		}
		v.SignatureVerifies, err = p.verifies(ctx, row)
		return v, err
	})
}

// verifies recomputes a stored prescription's signature from its sealed content: the
// canonical form again, its digest, the signature over it, and the key's audit-log leaf.
func (p *Prescriptions) verifies(ctx context.Context, row rxRow) (bool, error) {
	if row.body.Signature == nil || row.IssuedAt == nil {
		return false, nil
	}
	if rx.Verify(canonical(row.Prescription, *row.IssuedAt), *row.body.Signature) != nil {
		return false, nil
	}
	return p.keyInLog(ctx, row.PrescriberID, *row.body.Signature)
}

// Dispense marks a prescription dispensed for a pharmacy holding its printed code, once.
func (p *Prescriptions) Dispense(ctx context.Context, id, code string, o Origin) error {
	patientID, err := p.checkCode(ctx, id, code, o)
	if err != nil {
		return err
	}
	_, _, status, err := p.meta(ctx, id)
	if err != nil {
		return ErrRxNotFound
	}
	switch status {
	case RxDispensed:
		return ErrRxAlreadyDispense
	case RxCancelled:
		return ErrRxCancelled
	}
	return guard.Run(ctx, p.r.door, pharmacyAct(access.DispensePrescription, id, patientID, o), func(ctx context.Context) error {
		now := p.r.now().UnixNano()
		res, err := p.r.db.ExecContext(ctx, `UPDATE prescriptions SET status = 'dispensed', dispensed_at = $1, updated_at = $1 WHERE id = $2 AND status = 'signed'`, now, id)
		if err != nil {
			return fmt.Errorf("clinical: dispense prescription: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrRxAlreadyDispense
		}
		return nil
	})
}

// Printable is what the paper shows: the prescription, the patient's name and birth date, and
// the one-time verification code the pharmacy checks it with.
type Printable struct {
	Prescription     Prescription
	PatientName      string
	PatientBirthDate string
	Code             string
	// Verifies: the stored signature verifies now (the printable says so, or refuses).
	Verifies bool
}

// Printable returns a signed prescription's printable form, for its patient or its
// prescriber: the code is on it.
func (p *Prescriptions) Printable(ctx context.Context, by access.Subject, id string, o Origin) (Printable, error) {
	patientID, prescriber, status, err := p.meta(ctx, id)
	if err != nil {
		return Printable{}, err
	}
	a := act(by, access.ReadPrescription, "Prescription", id, patientID, o)
	a.Detail = "printable"
	if err := p.r.door.Admit(ctx, a); err != nil {
		return Printable{}, err
	}
	if by.Role != access.Patient && by.AccountID != prescriber {
		return Printable{}, p.r.door.Refuse(ctx, a, "not-prescriber")
	}
	if status == RxDraft {
		if by.Role == access.Patient {
			return Printable{}, ErrNotFound // a draft is the prescriber's until signed
		}
		return Printable{}, ErrNotSigned
	}
	return guard.Do(ctx, p.r.door, a, func(ctx context.Context) (Printable, error) {
		row, err := p.load(ctx, id, patientID)
		if err != nil {
			return Printable{}, err
		}
		pt, err := p.r.loadPatient(ctx, patientID)
		if err != nil {
			return Printable{}, err
		}
		ok, err := p.verifies(ctx, row)
		if err != nil {
			return Printable{}, err
		}
		return Printable{Prescription: row.Prescription, PatientName: pt.Name, PatientBirthDate: pt.BirthDate,
			Code: formatRxCode(row.body.Code), Verifies: ok}, nil
	})
}
