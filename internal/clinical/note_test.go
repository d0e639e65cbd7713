package clinical_test

import (
	"context"
	"errors"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestNoteReadsOneNoteThroughTheDoor: one note (a visit's summary) is read as the record is:
// decided as record.read, recorded naming the patient; a note of another patient's record, or
// none, is not found; someone outside the care is refused.
func TestNoteReadsOneNoteThroughTheDoor(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		qid := h.register(t, "Bo Other", "bo@example.test")
		noteID, err := h.records.AddNote(ctx, h.clin, pid, "synthetic summary", origin)
		if err != nil {
			t.Fatal(err)
		}
		n, err := h.records.Note(ctx, h.clin, pid, noteID, origin)
		if err != nil || n.Body != "synthetic summary" || n.ID != noteID || n.AuthorID != h.clin.AccountID {
			t.Fatalf("note = %+v, %v", n, err)
		}
		if e := lastEntry(t, db); e.Action != string(access.ReadRecord) || e.PatientID != pid || e.ResourceID != noteID || e.Outcome != audit.Allow {
			t.Fatalf("entry = %+v", e)
		}
		if _, err := h.records.Note(ctx, h.clin, qid, noteID, origin); !errors.Is(err, clinical.ErrNotFound) {
			t.Fatalf("the note under another record = %v", err)
		}
		if _, err := h.records.Note(ctx, h.other, pid, noteID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("outside the care team = %v", err)
		}
	})
}
