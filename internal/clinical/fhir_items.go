package clinical

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
)

// What the FHIR API (package fhir) needs of the record beyond the JSON API's acts: one item
// read by its identifier alone, a versioned replacement of an item (FHIR update with
// If-Match), and patients found by identifier. Each passes the door as the others do.

// ErrStaleItem refuses a change made against an older version of an item: someone else
// changed it since it was read.
var ErrStaleItem = fault.New(fault.Conflict, "this item changed since the version you read; read it again and apply your change to the new version")

// maxPatientIDs bounds a lookup by identifiers, as a search's results are bounded.
const maxPatientIDs = maxSearchResults

const (
	selectItemOwner = `SELECT patient_id, kind FROM record_items WHERE id = $1`
	reviseItem      = `UPDATE record_items SET status = $1, body_ct = $2, updated_at = $3, effective_at = $4, version = version + 1
		WHERE id = $5 AND patient_id = $6 AND version = $7`
	countPatient = `SELECT COUNT(*) FROM patients WHERE id = $1`
	// existingPatients is completed with a store.InList of identifiers from $1.
	existingPatients = `SELECT id FROM patients WHERE id IN `
)

// itemOwner is what the door needs before it decides on one item: whose it is, and its kind.
// An unknown identifier, or an item of another kind, is ErrNotFound.
func (r *Records) itemOwner(ctx context.Context, itemID string, kind ItemKind) (string, error) {
	if itemID == "" || len(itemID) > 64 {
		return "", ErrNotFound
	}
	var patientID, k string
	err := r.db.QueryRowContext(ctx, selectItemOwner, itemID).Scan(&patientID, &k)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && ItemKind(k) != kind) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("clinical: item owner: %w", err)
	}
	return patientID, nil
}

// ItemByID reads one item of kind by its identifier (record.read on the item's patient), with
// its recorder named. An item of another kind is ErrNotFound, as an unknown one is.
func (r *Records) ItemByID(ctx context.Context, by access.Subject, kind ItemKind, itemID string, o Origin) (Item, error) {
	_, typ, ok := kindAct(kind)
	if !ok {
		return Item{}, ErrNotFound
	}
	patientID, err := r.itemOwner(ctx, itemID, kind)
	if err != nil {
		return Item{}, err
	}
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, typ, itemID, patientID, o), func(ctx context.Context) (Item, error) {
		return r.loadOne(ctx, patientID, itemID, kind)
	})
}

func (r *Records) loadOne(ctx context.Context, patientID, itemID string, kind ItemKind) (Item, error) {
	items, err := r.queryItems(ctx, patientID, itemID, kind)
	if err != nil {
		return Item{}, err
	}
	if len(items) == 0 {
		return Item{}, ErrNotFound
	}
	if err := r.nameRecorders(ctx, items); err != nil {
		return Item{}, err
	}
	return items[0], nil
}

// CreateItem is AddItem for a caller who names the patient by identifier without having
// found them first (a connected system): a patient who does not exist is an invalid subject,
// not a write the door is asked about.
func (r *Records) CreateItem(ctx context.Context, by access.Subject, patientID string, kind ItemKind, in ItemInput, o Origin) (Item, error) {
	var n int
	if err := r.db.QueryRowContext(ctx, countPatient, patientID).Scan(&n); err != nil {
		return Item{}, fmt.Errorf("clinical: find patient: %w", err)
	}
	if n == 0 {
		return Item{}, fieldErr("subject", "no patient has this identifier; find the patient first")
	}
	it, err := r.AddItem(ctx, by, patientID, kind, in, o)
	if err != nil {
		return Item{}, err
	}
	// Named as a read of the item names its recorder, so the answer to the write is the
	// item as it will be read.
	items := []Item{it}
	if err := r.nameRecorders(ctx, items); err != nil {
		return Item{}, err
	}
	return items[0], nil
}

// ItemRevision is an item as it should read from now on: a FHIR update replaces the whole
// resource. Status is one of Statuses(kind); Input is validated as a new item's would be.
type ItemRevision struct {
	// PatientID, if set, must be the item's patient: an item never moves to another record.
	PatientID string
	Status    string
	Input     ItemInput
}

// ReviseItem replaces an item of kind with rev, if the item is still at version (0: whatever
// its version), and returns it at its new version. A problem, an allergy, a medication or an
// immunization may change its words, code and dates; an observation's measurement is never
// changed once recorded (it is marked entered-in-error and recorded again), only its status
// and note. A patient changes nothing once recorded, as in UpdateItem. A change against an
// older version is ErrStaleItem.
func (r *Records) ReviseItem(ctx context.Context, by access.Subject, kind ItemKind, itemID string, version int64, rev ItemRevision, o Origin) (Item, error) {
	action, typ, ok := kindAct(kind)
	if !ok {
		return Item{}, ErrNotFound
	}
	patientID, err := r.itemOwner(ctx, itemID, kind)
	if err != nil {
		return Item{}, err
	}
	a := act(by, action, typ, itemID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Item{}, err
	}
	if by.Role == access.Patient {
		return Item{}, r.door.Refuse(ctx, a, access.ReasonRoleForbidden)
	}
	if rev.PatientID != "" && rev.PatientID != patientID {
		return Item{}, fieldErr("subject", "an item stays in its patient's record; record it in the other record instead")
	}
	if !slices.Contains(Statuses(kind), rev.Status) {
		return Item{}, fieldErr("status", "choose one of: %s", strings.Join(Statuses(kind), ", "))
	}
	now := r.now()
	want := Item{Kind: kind}
	if err := fillItem(&want, rev.Input, now); err != nil {
		return Item{}, err
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Item, error) {
		it, err := r.loadOne(ctx, patientID, itemID, kind)
		if err != nil {
			return Item{}, err
		}
		if version > 0 && it.Version != version {
			return Item{}, ErrStaleItem
		}
		if err := revise(&it, want, rev.Input.EffectiveAt != nil); err != nil {
			return Item{}, err
		}
		it.Status, it.UpdatedAt = rev.Status, now
		if err := r.storeRevision(ctx, it); err != nil {
			return Item{}, err
		}
		it.Version++
		return it, nil
	})
}

func (r *Records) sealItem(ctx context.Context, it Item) ([]byte, error) {
	plain, err := json.Marshal(it.body())
	if err != nil {
		return nil, fmt.Errorf("clinical: encode item: %w", err)
	}
	ct, err := r.cipher.Seal(ctx, it.PatientID, itemLocation(it.ID), plain)
	if err != nil {
		return nil, fmt.Errorf("clinical: seal item: %w", err)
	}
	return ct, nil
}

// storeRevision seals it again and stores it if its stored version is still it.Version.
func (r *Records) storeRevision(ctx context.Context, it Item) error {
	ct, err := r.sealItem(ctx, it)
	if err != nil {
		return err
	}
	res, err := r.db.ExecContext(ctx, reviseItem, it.Status, ct, it.UpdatedAt.UnixNano(), it.EffectiveAt.UnixNano(), it.ID, it.PatientID, it.Version)
	if err != nil {
		return fmt.Errorf("clinical: revise item: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrStaleItem // changed between the read and the write
	}
	return nil
}

// revise copies into it what want changes, refusing a change to an observation's measurement.
// effective: the revision names when the item took effect.
func revise(it *Item, want Item, effective bool) error {
	if it.Kind == KindObservation {
		if !sameMeasurement(*it, want) || (effective && !want.EffectiveAt.Equal(it.EffectiveAt)) {
			return fieldErr("value", "a measurement is not changed once recorded: mark this one entered-in-error and record a new one")
		}
		it.Note = want.Note
		return nil
	}
	if effective {
		it.EffectiveAt = want.EffectiveAt
	}
	it.setBody(want.body()) // a replacement: what it leaves out is removed
	return nil
}

func sameMeasurement(a, b Item) bool {
	if (a.Code == nil) != (b.Code == nil) || (a.Code != nil && a.Code.Code != b.Code.Code) {
		return false
	}
	if (a.Value == nil) != (b.Value == nil) || (a.Value != nil && *a.Value != *b.Value) {
		return false
	}
	return slices.EqualFunc(a.Components, b.Components, func(x, y Component) bool {
		return x.Code.Code == y.Code.Code && x.Value == y.Value
	})
}

// PatientsByID reads the demographics of the patients named by identifier that the caller may
// read, as a search does (patient.search): an identifier the caller may not read, or that names
// no one, is dropped without a trace in the answer, and each patient shown gets an audit entry.
func (r *Records) PatientsByID(ctx context.Context, by access.Subject, ids []string, o Origin) ([]Patient, error) {
	a := act(by, access.SearchPatients, "Patient", "", "", o)
	if err := r.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
	uniq = slices.DeleteFunc(uniq, func(id string) bool { return id == "" || len(id) > 64 })
	if len(uniq) > maxPatientIDs {
		return nil, fieldErr("_id", "name at most %d patients at a time", maxPatientIDs)
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) ([]Patient, []guard.Disclosed, error) {
		if len(uniq) == 0 {
			return []Patient{}, nil, nil
		}
		list, args := store.InList(1, uniq)
		found, err := r.queryIDs(ctx, existingPatients+list, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("clinical: patients by id: %w", err)
		}
		slices.Sort(found)
		return r.disclose(ctx, by, found, nil)
	})
}
