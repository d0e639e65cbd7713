package clinical

import (
	"context"
	"fmt"
	"haven/internal/ids"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
)

// The structured record: problems, allergies, medications, observations and immunizations,
// each item added and changed through the door under its own action (a nurse records
// allergies, medications, vitals and immunizations but not problems; a patient records only
// their own vitals, marked patient-reported), and read as part of the record (record.read).

// Lengths, in characters.
const (
	maxItemText  = 200
	maxItemNote  = 2000
	maxCodeField = 200
	maxLot       = 60
	// vitalHistory bounds the readings of one vital a summary carries for its trend.
	vitalHistory = 30
)

// ItemInput is a new item as a caller sends it. Text names the item (not for an observation,
// which is named by its code); an observation's code is a LOINC code from Vitals, with a value,
// or for blood pressure a systolic and a diastolic value (or components with their codes).
type ItemInput struct {
	Text        string      `json:"text,omitempty"`
	Code        *Code       `json:"code,omitempty"`
	Note        string      `json:"note,omitempty"`
	Reaction    string      `json:"reaction,omitempty"`
	Severity    string      `json:"severity,omitempty"`
	Category    string      `json:"category,omitempty"`
	Dosage      string      `json:"dosage,omitempty"`
	Value       *float64    `json:"value,omitempty"`
	Unit        string      `json:"unit,omitempty"`
	Systolic    *float64    `json:"systolic,omitempty"`
	Diastolic   *float64    `json:"diastolic,omitempty"`
	Components  []Component `json:"components,omitempty"`
	Lot         string      `json:"lot,omitempty"`
	EffectiveAt *time.Time  `json:"effectiveAt,omitempty"`
	// Status is the status the item starts with, one of Statuses(kind); empty is the first.
	// Only FHIR sets it (a system recording a resolved problem); the JSON API cannot.
	Status string `json:"-"`
}

// ItemChange changes an item: its status (resolve a problem, stop a medication, mark an
// allergy inactive, or anything entered in error), and for some kinds its words. A field left
// out is kept.
type ItemChange struct {
	Status   string  `json:"status,omitempty"`
	Text     *string `json:"text,omitempty"`
	Note     *string `json:"note,omitempty"`
	Reaction *string `json:"reaction,omitempty"`
	Severity *string `json:"severity,omitempty"`
	Dosage   *string `json:"dosage,omitempty"`
}

// Summary is a patient's record at a glance, read in one pass through the door: current
// problems, allergies and medications, the latest reading of each vital (in the order of
// Vitals) with the recent readings for their trends, immunizations, newest first, and the
// notes, so that a page showing the whole record makes one read of it.
type Summary struct {
	Patient       Patient `json:"patient"`
	Notes         []Note  `json:"notes"`
	Problems      []Item  `json:"problems"`
	Allergies     []Item  `json:"allergies"`
	Medications   []Item  `json:"medications"`
	LatestVitals  []Item  `json:"latestVitals"`
	Vitals        []Item  `json:"vitals"` // oldest first, at most 30 of each vital
	Immunizations []Item  `json:"immunizations"`
}

// kindAct is what each kind is for the door: its write action and its resource type.
func kindAct(k ItemKind) (access.Action, string, bool) {
	switch k {
	case KindCondition:
		return access.WriteCondition, "Condition", true
	case KindAllergy:
		return access.WriteAllergy, "AllergyIntolerance", true
	case KindMedication:
		return access.WriteMedication, "MedicationStatement", true
	case KindObservation:
		return access.WriteObservation, "Observation", true
	case KindImmunization:
		return access.WriteImmunization, "Immunization", true
	}
	return "", "", false
}

// ParseKind reads a kind from its plural as the API's paths name it ("allergies").
func ParseKind(plural string) (ItemKind, bool) {
	switch plural {
	case "conditions":
		return KindCondition, true
	case "allergies":
		return KindAllergy, true
	case "medications":
		return KindMedication, true
	case "observations":
		return KindObservation, true
	case "immunizations":
		return KindImmunization, true
	}
	return "", false
}

// Statuses are the statuses an item of a kind may have, the first the one it starts with.
func Statuses(k ItemKind) []string {
	switch k {
	case KindCondition:
		return []string{StatusActive, StatusResolved, StatusEnteredInError}
	case KindAllergy:
		return []string{StatusActive, StatusInactive, StatusEnteredInError}
	case KindMedication:
		return []string{StatusActive, StatusStopped, StatusEnteredInError}
	}
	return []string{StatusCompleted, StatusEnteredInError}
}

// AddItem records a new item of kind in a patient's record. The caller's right is decided
// before the item is looked at; the write is recorded once the item is valid. A patient's own
// observation is marked patient-reported.
func (r *Records) AddItem(ctx context.Context, by access.Subject, patientID string, kind ItemKind, in ItemInput, o Origin) (Item, error) {
	action, typ, ok := kindAct(kind)
	if !ok {
		return Item{}, ErrNotFound
	}
	now := r.now()
	it := Item{ID: ids.New(), PatientID: patientID, Kind: kind, Status: Statuses(kind)[0], RecordedBy: by.AccountID,
		EffectiveAt: now, CreatedAt: now, UpdatedAt: now, Version: 1, PatientReported: kind == KindObservation && by.Role == access.Patient}
	a := act(by, action, typ, it.ID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Item{}, err
	}
	if err := fillItem(&it, in, now); err != nil {
		return Item{}, err
	}
	if in.Status != "" {
		if !slices.Contains(Statuses(kind), in.Status) {
			return Item{}, fieldErr("status", "choose one of: %s", strings.Join(Statuses(kind), ", "))
		}
		it.Status = in.Status
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Item, error) {
		if err := r.storeItem(ctx, it); err != nil {
			return Item{}, err
		}
		return it, nil
	})
}

// UpdateItem changes an item of kind in a patient's record. A patient changes nothing once
// recorded (their own readings are kept as they sent them); an item of another kind or
// patient is ErrNotFound.
func (r *Records) UpdateItem(ctx context.Context, by access.Subject, patientID string, kind ItemKind, itemID string, ch ItemChange, o Origin) (Item, error) {
	action, typ, ok := kindAct(kind)
	if !ok {
		return Item{}, ErrNotFound
	}
	a := act(by, action, typ, itemID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Item{}, err
	}
	if by.Role == access.Patient {
		return Item{}, r.door.Refuse(ctx, a, access.ReasonRoleForbidden)
	}
	if ch.Status != "" && !slices.Contains(Statuses(kind), ch.Status) {
		return Item{}, fieldErr("status", "choose one of: %s", strings.Join(Statuses(kind), ", "))
	}
	probe := Item{Kind: kind}
	if err := applyChange(&probe, ch); err != nil {
		return Item{}, err
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Item, error) {
		items, err := r.loadItems(ctx, patientID, kind)
		if err != nil {
			return Item{}, err
		}
		i := slices.IndexFunc(items, func(it Item) bool { return it.ID == itemID })
		if i < 0 {
			return Item{}, ErrNotFound
		}
		it := items[i]
		if ch.Status != "" {
			it.Status = ch.Status
		}
		if err := applyChange(&it, ch); err != nil {
			return Item{}, err
		}
		it.UpdatedAt = r.now()
		if err := r.rewriteItem(ctx, it); err != nil {
			return Item{}, err
		}
		return it, nil
	})
}

// Items lists a patient's items of kind, newest first, entered-in-error ones included (the
// record keeps them, marked). code, if set, keeps the items with that code (an observation's
// LOINC code). It is a read of the record (record.read).
func (r *Records) Items(ctx context.Context, by access.Subject, patientID string, kind ItemKind, code string, o Origin) ([]Item, error) {
	_, typ, ok := kindAct(kind)
	if !ok {
		return nil, ErrNotFound
	}
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, typ, patientID, patientID, o), func(ctx context.Context) ([]Item, error) {
		items, err := r.loadItems(ctx, patientID, kind)
		if err != nil {
			return nil, err
		}
		out := []Item{}
		for _, it := range slices.Backward(items) {
			if code == "" || (it.Code != nil && it.Code.Code == code) {
				out = append(out, it)
			}
		}
		if err := r.nameRecorders(ctx, out); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// Summary reads a patient's record at a glance: demographics, every section of the
// structured record and the notes, in one read of the record (one audit entry).
func (r *Records) Summary(ctx context.Context, by access.Subject, patientID string, o Origin) (Summary, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, "Patient", patientID, patientID, o), func(ctx context.Context) (Summary, error) {
		p, err := r.loadPatient(ctx, patientID)
		if err != nil {
			return Summary{}, err
		}
		items, err := r.loadItems(ctx, patientID)
		if err != nil {
			return Summary{}, err
		}
		if err := r.nameRecorders(ctx, items); err != nil {
			return Summary{}, err
		}
		notes, err := r.loadNotes(ctx, patientID)
		if err != nil {
			return Summary{}, err
		}
		s := summarise(p, items)
		s.Notes = notes
		return s, nil
	})
}

// summarise sorts a record's items (oldest first) into its sections.
func summarise(p Patient, items []Item) Summary {
	s := Summary{Patient: p, Problems: []Item{}, Allergies: []Item{}, Medications: []Item{}, LatestVitals: []Item{}, Vitals: []Item{}, Immunizations: []Item{}}
	readings := map[string][]Item{}
	for _, it := range Current(items) {
		switch it.Kind {
		case KindCondition:
			s.Problems = append(s.Problems, it)
		case KindAllergy:
			s.Allergies = append(s.Allergies, it)
		case KindMedication:
			s.Medications = append(s.Medications, it)
		case KindImmunization:
			s.Immunizations = append(s.Immunizations, it)
		case KindObservation:
			if it.Code != nil {
				readings[it.Code.Code] = append(readings[it.Code.Code], it)
			}
		}
	}
	slices.Reverse(s.Immunizations)
	for _, v := range Vitals() {
		rs := readings[v.Code]
		if len(rs) == 0 {
			continue
		}
		s.LatestVitals = append(s.LatestVitals, rs[len(rs)-1])
		s.Vitals = append(s.Vitals, rs[max(0, len(rs)-vitalHistory):]...)
	}
	return s
}

// allergiesAndMedications returns a patient's current allergies and medications, for a
// check made inside another guarded act on the same record (a prescription's review). It
// passes no door of its own: the caller has.
func (r *Records) allergiesAndMedications(ctx context.Context, patientID string) ([]Item, []Item, error) {
	items, err := r.loadItems(ctx, patientID, KindAllergy, KindMedication)
	if err != nil {
		return nil, nil, err
	}
	var allergies, meds []Item
	for _, it := range Current(items) {
		if it.Kind == KindAllergy {
			allergies = append(allergies, it)
		} else {
			meds = append(meds, it)
		}
	}
	return allergies, meds, nil
}

// nameRecorders names the staff who recorded items; a patient's own item names no one.
func (r *Records) nameRecorders(ctx context.Context, items []Item) error {
	var ids []string
	for _, it := range items {
		if !it.PatientReported && !slices.Contains(ids, it.RecordedBy) {
			ids = append(ids, it.RecordedBy)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := r.accounts.DisplayNames(ctx, ids)
	if err != nil {
		return fmt.Errorf("clinical: item recorders: %w", err)
	}
	for i := range items {
		if !items[i].PatientReported {
			items[i].RecordedByName = names[items[i].RecordedBy]
		}
	}
	return nil
}

// fillItem validates in for it's kind and copies it in. Every error names its field and says
// what to enter.
func fillItem(it *Item, in ItemInput, now time.Time) error {
	if in.EffectiveAt != nil {
		at := in.EffectiveAt.UTC()
		if at.After(now.Add(time.Hour)) || at.Year() < 1900 {
			return fieldErr("effectiveAt", "enter a date that is not in the future")
		}
		it.EffectiveAt = at
	}
	if err := text("note", in.Note, 0, maxItemNote); err != nil {
		return err
	}
	it.Note = strings.TrimSpace(in.Note)
	if it.Kind == KindObservation {
		if in.Code == nil || in.Code.Code == "" {
			return fieldErr("code", "choose what was measured: blood pressure, heart rate, weight, temperature or glucose")
		}
		v, ok := VitalByCode(strings.TrimSpace(in.Code.Code))
		if !ok {
			return fieldErr("code", "choose what was measured: blood pressure, heart rate, weight, temperature or glucose")
		}
		return measure(it, v, in)
	}
	if err := text("text", in.Text, 1, maxItemText); err != nil {
		return err
	}
	it.Text = strings.TrimSpace(in.Text)
	if in.Code != nil && strings.TrimSpace(in.Code.Code) != "" {
		c := Code{System: strings.TrimSpace(in.Code.System), Code: strings.TrimSpace(in.Code.Code), Display: strings.TrimSpace(in.Code.Display)}
		for _, f := range []string{c.System, c.Code, c.Display} {
			if err := text("code", f, 0, maxCodeField); err != nil {
				return err
			}
		}
		it.Code = &c
	}
	if it.Kind != KindAllergy && (in.Reaction != "" || in.Severity != "" || in.Category != "") {
		return fieldErr("reaction", "only an allergy has a reaction, a severity or a category")
	}
	if it.Kind != KindMedication && in.Dosage != "" {
		return fieldErr("dosage", "only a medication has a dosage")
	}
	if it.Kind != KindImmunization && in.Lot != "" {
		return fieldErr("lot", "only an immunization has a lot number")
	}
	switch it.Kind {
	case KindAllergy:
		if err := text("reaction", in.Reaction, 0, maxItemText); err != nil {
			return err
		}
		if err := oneOf("severity", in.Severity, "mild", "moderate", "severe"); err != nil {
			return err
		}
		if err := oneOf("category", in.Category, "medication", "food", "environment", "biologic"); err != nil {
			return err
		}
		it.Reaction, it.Severity, it.Category = strings.TrimSpace(in.Reaction), in.Severity, in.Category
	case KindMedication:
		if err := text("dosage", in.Dosage, 0, maxItemText); err != nil {
			return err
		}
		it.Dosage = strings.TrimSpace(in.Dosage)
	case KindImmunization:
		if err := text("lot", in.Lot, 0, maxLot); err != nil {
			return err
		}
		it.Lot = strings.TrimSpace(in.Lot)
	}
	return nil
}

// applyChange validates ch's words for it's kind and copies them in.
func applyChange(it *Item, ch ItemChange) error {
	if ch.Text != nil {
		if it.Kind == KindObservation {
			return fieldErr("text", "an observation is named by what was measured; record a new one instead")
		}
		if err := text("text", *ch.Text, 1, maxItemText); err != nil {
			return err
		}
		it.Text = strings.TrimSpace(*ch.Text)
	}
	if ch.Note != nil {
		if err := text("note", *ch.Note, 0, maxItemNote); err != nil {
			return err
		}
		it.Note = strings.TrimSpace(*ch.Note)
	}
	if ch.Reaction != nil || ch.Severity != nil {
		if it.Kind != KindAllergy {
			return fieldErr("reaction", "only an allergy has a reaction and a severity")
		}
		if ch.Reaction != nil {
			if err := text("reaction", *ch.Reaction, 0, maxItemText); err != nil {
				return err
			}
			it.Reaction = strings.TrimSpace(*ch.Reaction)
		}
		if ch.Severity != nil {
			if err := oneOf("severity", *ch.Severity, "mild", "moderate", "severe"); err != nil {
				return err
			}
			it.Severity = *ch.Severity
		}
	}
	if ch.Dosage != nil {
		if it.Kind != KindMedication {
			return fieldErr("dosage", "only a medication has a dosage")
		}
		if err := text("dosage", *ch.Dosage, 0, maxItemText); err != nil {
			return err
		}
		it.Dosage = strings.TrimSpace(*ch.Dosage)
	}
	return nil
}

func text(field, s string, lo, hi int) error {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < lo || n > hi || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' }) {
		words := map[string]string{"text": "name", "lot": "lot number"}[field]
		if words == "" {
			words = field
		}
		if lo > 0 {
			return fieldErr(field, "write the %s in %d to %d characters", words, lo, hi)
		}
		return fieldErr(field, "write the %s in at most %d characters", words, hi)
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	if v != "" && !slices.Contains(allowed, v) {
		return fieldErr(field, "choose one of: %s", strings.Join(allowed, ", "))
	}
	return nil
}

func fieldErr(field, format string, args ...any) error {
	return fault.InvalidField(field, fmt.Sprintf(format, args...))
}
