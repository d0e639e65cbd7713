package clinical

import (
	"context"
	"fmt"
	"strings"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// Registering someone twice loses half of their record, so a registration whose name and
// birth date match an existing record is refused (a conflict) until the clinician confirms
// it (NewPatient.ConfirmDuplicate). Names match whatever the order, case, accents or hyphens of
// their parts (the "fullname:" search token), birth dates exactly.
//
// The check passes the door as a search (access.SearchPatients), and says no more than the
// registering clinician may know:
//
//   - matches in their care are named (they may open those records anyway), each an entry in
//     that patient's log ("found you in a search", reason care-team duplicate-check);
//   - when none is in their care, the answer says only that a record with this name and birth
//     date exists: no identifier, no count, nothing of the record. Being a patient here is
//     itself health information, so each such record gets an entry in its own log
//     (reason registration-check): the patient and the privacy officer see who learnt it.
//     The clinician typed the name and birth date, holds the register permission, and a
//     probe that finds nothing registers a real record, itself an entry: guessing who is a
//     patient here is slow, visible and recorded.
//   - a match in their care hides whether others exist elsewhere.

// Duplicate is the cause of a registration refused because a record with the same name and
// birth date exists. It carries identifiers only.
type Duplicate struct {
	// InCare are the matching records the clinician may open, oldest first.
	InCare []string
	// Elsewhere says that matching records exist, none of them in the clinician's care.
	Elsewhere bool
}

func (d *Duplicate) Error() string {
	return fmt.Sprintf("clinical: registration matches %d record(s) in care, elsewhere=%v", len(d.InCare), d.Elsewhere)
}

// Is makes a *Duplicate an ErrDuplicate for errors.Is.
func (d *Duplicate) Is(target error) bool { return target == ErrDuplicate }

// ErrDuplicate is the conflict a registration matching an existing record answers with.
var ErrDuplicate = fault.New(fault.Conflict, "a patient with this name and birth date is already registered: open their record, or register anyway with confirmDuplicate")

// Audit reasons of the duplicate check.
const (
	detailDuplicateCheck = "duplicate-check"
	// ReasonRegistrationCheck is recorded for a matching record outside the clinician's care:
	// they were told only that it exists.
	ReasonRegistrationCheck = "registration-check"
)

// searchFieldsOf is what a registration's search tokens are made from.
func searchFieldsOf(in NewPatient) SearchFields {
	return SearchFields{Name: strings.TrimSpace(in.Name), BirthDate: strings.TrimSpace(in.BirthDate), Phone: strings.TrimSpace(in.Phone)}
}

// checkDuplicate refuses a registration that matches an existing record (ErrDuplicate, with a
// *Duplicate cause), after recording what the answer tells. It records nothing when nothing
// matches.
func (r *Records) checkDuplicate(ctx context.Context, by access.Subject, in NewPatient, o Origin) error {
	full := fullNameToken(in.Name)
	d, err := keys.Normalize(keys.IndexBirthDate, in.BirthDate)
	if full == "" || err != nil {
		return nil // Validate refuses these first
	}
	macs, err := r.searchMACs(searchQuery{tokens: []string{full, tokBirth + d}})
	if err != nil {
		return err
	}
	ids, err := r.candidates(ctx, macs)
	if err != nil {
		return fmt.Errorf("clinical: duplicate check: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	a := act(by, access.SearchPatients, "Patient", "", "", o)
	dup, err := guard.List(ctx, r.door, a, func(ctx context.Context) (*Duplicate, []guard.Disclosed, error) {
		rs := make([]access.Resource, len(ids))
		for i, id := range ids {
			rs[i] = access.Resource{Type: "Patient", ID: id, PatientID: id}
		}
		dup := &Duplicate{}
		var shown []guard.Disclosed
		for i, dec := range r.door.MayEach(ctx, by, access.ReadDemographics, rs) {
			if dec.Allow {
				dup.InCare = append(dup.InCare, ids[i])
				shown = append(shown, guard.Disclosed{PatientID: ids[i], Reason: dec.Reason + " " + detailDuplicateCheck})
			}
		}
		if len(dup.InCare) > 0 {
			return dup, shown, nil
		}
		dup.Elsewhere = true
		for _, id := range ids {
			shown = append(shown, guard.Disclosed{PatientID: id, Reason: ReasonRegistrationCheck})
		}
		return dup, shown, nil
	})
	if err != nil {
		return err
	}
	return fault.Wrap(fault.Conflict, ErrDuplicate.Message, dup)
}
