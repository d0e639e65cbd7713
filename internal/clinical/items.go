package clinical

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"haven/internal/keys"
)

// ItemKind is what a structured record item is.
type ItemKind string

// Item kinds, as stored in record_items.kind.
const (
	KindCondition    ItemKind = "condition"
	KindAllergy      ItemKind = "allergy"
	KindMedication   ItemKind = "medication"
	KindObservation  ItemKind = "observation"
	KindImmunization ItemKind = "immunization"
)

// Item statuses. A condition is active or resolved; an allergy active or inactive; a
// medication active or stopped; any item may be marked entered-in-error (kept, but not shown
// as part of the patient's current state and never counted in a warning).
const (
	StatusActive         = "active"
	StatusResolved       = "resolved"
	StatusInactive       = "inactive"
	StatusStopped        = "stopped"
	StatusCompleted      = "completed" // an observation or an immunization once recorded
	StatusEnteredInError = "entered-in-error"
)

// Code is a coded concept: a LOINC code for an observation, or an optional code of any system
// for the others ("http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm", …).
type Code struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Component is one part of a measurement with several values (blood pressure's systolic and
// diastolic), each with its own LOINC code.
type Component struct {
	Code  Code    `json:"code"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Item is one entry of the structured record. Text is the item as people name it
// ("Penicillin", "Lisinopril 10 mg tablet"); Code is optional except for observations. The
// kind-specific fields are empty for the other kinds.
type Item struct {
	ID              string    `json:"id"`
	PatientID       string    `json:"patientId"`
	Kind            ItemKind  `json:"kind"`
	Status          string    `json:"status"`
	Text            string    `json:"text"`
	Code            *Code     `json:"code,omitempty"`
	Note            string    `json:"note,omitempty"`
	PatientReported bool      `json:"patientReported,omitempty"`
	RecordedBy      string    `json:"recordedBy"`
	RecordedByName  string    `json:"recordedByName,omitempty"`
	EffectiveAt     time.Time `json:"effectiveAt"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	// Version counts the item's changes from 1 (its creation); FHIR serves it as
	// meta.versionId and refuses a write naming an older one (fhir_items.go).
	Version int64 `json:"-"`

	// Allergy: what happens ("hives"), how bad (mild, moderate, severe), and what the
	// substance is (medication, food, environment, biologic).
	Reaction string `json:"reaction,omitempty"`
	Severity string `json:"severity,omitempty"`
	Category string `json:"category,omitempty"`
	// Medication: how it is taken, as written ("10 mg once a day").
	Dosage string `json:"dosage,omitempty"`
	// Observation: a value with its UCUM unit, or components (blood pressure).
	Value      *float64    `json:"value,omitempty"`
	Unit       string      `json:"unit,omitempty"`
	Components []Component `json:"components,omitempty"`
	// Immunization: the vaccine's lot number, if known.
	Lot string `json:"lot,omitempty"`
}

// itemBody is the sealed part of an item: everything but the identifiers, kind, status and
// times.
type itemBody struct {
	Text       string      `json:"text"`
	Code       *Code       `json:"code,omitempty"`
	Note       string      `json:"note,omitempty"`
	Reaction   string      `json:"reaction,omitempty"`
	Severity   string      `json:"severity,omitempty"`
	Category   string      `json:"category,omitempty"`
	Dosage     string      `json:"dosage,omitempty"`
	Value      *float64    `json:"value,omitempty"`
	Unit       string      `json:"unit,omitempty"`
	Components []Component `json:"components,omitempty"`
	Lot        string      `json:"lot,omitempty"`
}

func (it Item) body() itemBody {
	return itemBody{Text: it.Text, Code: it.Code, Note: it.Note, Reaction: it.Reaction, Severity: it.Severity,
		Category: it.Category, Dosage: it.Dosage, Value: it.Value, Unit: it.Unit, Components: it.Components, Lot: it.Lot}
}

func (it *Item) setBody(b itemBody) {
	it.Text, it.Code, it.Note, it.Reaction, it.Severity = b.Text, b.Code, b.Note, b.Reaction, b.Severity
	it.Category, it.Dosage, it.Value, it.Unit, it.Components, it.Lot = b.Category, b.Dosage, b.Value, b.Unit, b.Components, b.Lot
}

func itemLocation(id string) keys.Location {
	return keys.Location{Table: "record_items", Row: id, Field: "body"}
}

const (
	insertItem = `INSERT INTO record_items (id, patient_id, kind, status, body_ct, patient_reported, recorded_by, effective_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	updateItem = `UPDATE record_items SET status = $1, body_ct = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND patient_id = $5`
	selectItem = `SELECT id, kind, status, body_ct, patient_reported, recorded_by, effective_at, created_at, updated_at, version
		FROM record_items WHERE patient_id = $1`
)

// storeItem seals it under its patient's key and inserts it. The caller has passed the door.
func (r *Records) storeItem(ctx context.Context, it Item) error {
	plain, err := json.Marshal(it.body())
	if err != nil {
		return fmt.Errorf("clinical: encode item: %w", err)
	}
	ct, err := r.cipher.Seal(ctx, it.PatientID, itemLocation(it.ID), plain)
	if err != nil {
		return fmt.Errorf("clinical: seal item: %w", err)
	}
	reported := 0
	if it.PatientReported {
		reported = 1
	}
	if _, err := r.db.ExecContext(ctx, insertItem, it.ID, it.PatientID, string(it.Kind), it.Status, ct, reported,
		it.RecordedBy, it.EffectiveAt.UnixNano(), it.CreatedAt.UnixNano(), it.UpdatedAt.UnixNano()); err != nil {
		return fmt.Errorf("clinical: insert item: %w", err)
	}
	return nil
}

// rewriteItem seals it again and stores its new status and body. The caller has passed the
// door. An item of another patient is ErrNotFound.
func (r *Records) rewriteItem(ctx context.Context, it Item) error {
	plain, err := json.Marshal(it.body())
	if err != nil {
		return fmt.Errorf("clinical: encode item: %w", err)
	}
	ct, err := r.cipher.Seal(ctx, it.PatientID, itemLocation(it.ID), plain)
	if err != nil {
		return fmt.Errorf("clinical: seal item: %w", err)
	}
	res, err := r.db.ExecContext(ctx, updateItem, it.Status, ct, it.UpdatedAt.UnixNano(), it.ID, it.PatientID)
	if err != nil {
		return fmt.Errorf("clinical: update item: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// loadItems reads and opens a patient's items of the given kinds (all kinds if none), oldest
// first by when they took effect. The caller has passed the door; a ciphertext that does not
// open is reported (ErrUnreadable) and raises the integrity alert.
func (r *Records) loadItems(ctx context.Context, patientID string, kinds ...ItemKind) ([]Item, error) {
	return r.queryItems(ctx, patientID, "", kinds...)
}

// queryItems is loadItems, narrowed to one item if itemID is set.
func (r *Records) queryItems(ctx context.Context, patientID, itemID string, kinds ...ItemKind) ([]Item, error) {
	q := selectItem
	args := []any{patientID}
	if itemID != "" {
		args = append(args, itemID)
		q += fmt.Sprintf(` AND id = $%d`, len(args))
	}
	if len(kinds) > 0 {
		marks := make([]string, len(kinds))
		for i, k := range kinds {
			args = append(args, string(k))
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		q += ` AND kind IN (` + strings.Join(marks, ", ") + `)`
	}
	q += ` ORDER BY effective_at, id`
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("clinical: load items: %w", err)
	}
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		it := Item{PatientID: patientID}
		var kind string
		var ct []byte
		var reported int
		var eff, created, updated int64
		if err := rows.Scan(&it.ID, &kind, &it.Status, &ct, &reported, &it.RecordedBy, &eff, &created, &updated, &it.Version); err != nil {
			return nil, fmt.Errorf("clinical: scan item: %w", err)
		}
		plain, err := r.cipher.Open(ctx, patientID, itemLocation(it.ID), ct)
		if err != nil {
			return nil, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open item %s: %w", it.ID, err))
		}
		var b itemBody
		if err := json.Unmarshal(plain, &b); err != nil {
			return nil, r.unreadable(ctx, patientID, fmt.Errorf("clinical: decode item %s: %w", it.ID, err))
		}
		it.setBody(b)
		it.Kind, it.PatientReported = ItemKind(kind), reported == 1
		it.EffectiveAt, it.CreatedAt, it.UpdatedAt = time.Unix(0, eff).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinical: load items: %w", err)
	}
	return items, nil
}

// Current is the items of a list that describe the patient now: neither entered in error nor,
// for conditions, allergies and medications, resolved, inactive or stopped.
func Current(items []Item) []Item {
	var out []Item
	for _, it := range items {
		switch it.Status {
		case StatusEnteredInError, StatusResolved, StatusInactive, StatusStopped:
			continue
		}
		out = append(out, it)
	}
	return out
}
