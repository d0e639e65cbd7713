package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// noteCiphertext is a note's row as stored: its sealed body and its status.
func noteCiphertext(t *testing.T, e *servertest.Env, id string) ([]byte, string) {
	t.Helper()
	var ct []byte
	var status string
	if err := e.Srv.DB().QueryRowContext(context.Background(), `SELECT body_ct, status FROM notes WHERE id = $1`, id).Scan(&ct, &status); err != nil {
		t.Fatal(err)
	}
	return ct, status
}

var soap = map[string]string{"subjective": "synthetic: cough for a week", "objective": "synthetic: chest clear",
	"assessment": "synthetic: viral cough", "plan": "synthetic: rest and fluids"}

// TestAddendumKeepsOriginal: once signed, a note is not edited (409 in words); an addendum is
// its own note, the original stays byte for byte, and a read of the record shows both, in
// order.
func TestAddendumKeepsOriginal(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "notes-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		v := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
		n := clin.Must(200, "PUT", "/api/v1/visits/"+v+"/note", soap)
		id := n["id"].(string)
		if n["status"] != "draft" || n["soap"].(map[string]any)["assessment"] != soap["assessment"] {
			t.Fatalf("draft = %v", n)
		}
		if s := clin.Must(200, "POST", "/api/v1/notes/"+id+"/signature", nil); s["status"] != "signed" || s["signedAt"] == nil {
			t.Fatalf("signed = %v", s)
		}
		before, _ := noteCiphertext(t, e, id)
		code, m, raw := clin.Do("PUT", "/api/v1/visits/"+v+"/note", map[string]string{"plan": "synthetic: changed"})
		if code != http.StatusConflict || !strings.Contains(m["error"].(string), "add an addendum") {
			t.Fatalf("editing a signed note = %d %s, want 409 saying to add an addendum", code, raw)
		}
		e.Clock.Advance(time.Minute)
		a := clin.Must(201, "POST", "/api/v1/notes/"+id+"/addenda", map[string]string{"body": "synthetic: also advised to return if fever"})
		if a["id"] != id || a["soap"].(map[string]any)["plan"] != soap["plan"] || len(a["addenda"].([]any)) != 1 {
			t.Fatalf("after the addendum = %v", a)
		}
		after, status := noteCiphertext(t, e, id)
		if !bytes.Equal(before, after) || status != "signed" {
			t.Fatal("the original note's stored body changed when it was amended")
		}
		for _, c := range []*servertest.Client{clin, patient} {
			rec := c.Must(200, "GET", "/api/v1/patients/"+pid, nil)
			notes := rec["notes"].([]any)
			if len(notes) != 1 {
				t.Fatalf("record notes = %v, want the visit note with its addendum nested", notes)
			}
			got := notes[0].(map[string]any)
			ad := got["addenda"].([]any)
			if got["body"] != soap["plan"] || got["visitId"] != v || len(ad) != 1 || ad[0].(map[string]any)["body"] != "synthetic: also advised to return if fever" {
				t.Fatalf("record note = %v", got)
			}
		}
		// An addendum to an addendum amends the original.
		adID := a["addenda"].([]any)[0].(map[string]any)["id"].(string)
		if again := clin.Must(201, "POST", "/api/v1/notes/"+adID+"/addenda", map[string]string{"body": "synthetic: second"}); again["id"] != id || len(again["addenda"].([]any)) != 2 {
			t.Fatalf("addendum to an addendum = %v", again)
		}
	})
}

// TestSignedNoteNeverEdited: no path changes a signed note: not a draft save, not a second
// signature, and a free-text note (signed when written) neither; a draft cannot be amended.
func TestSignedNoteNeverEdited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "notes-dr@haven.test")
		_, pid := e.Patient(clin, ada)
		v := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
		id := clin.Must(200, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"plan": "synthetic plan"})["id"].(string)
		clin.Must(409, "POST", "/api/v1/notes/"+id+"/addenda", map[string]string{"body": "synthetic: too early"})
		clin.Must(200, "POST", "/api/v1/notes/"+id+"/signature", nil)
		before, _ := noteCiphertext(t, e, id)
		clin.Must(409, "POST", "/api/v1/notes/"+id+"/signature", nil)
		clin.Must(409, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"plan": "synthetic: rewritten"})
		if after, _ := noteCiphertext(t, e, id); !bytes.Equal(before, after) {
			t.Fatal("a signed note's body changed")
		}
		// Nor does a path around the service: the database refuses it.
		if _, err := e.Srv.DB().ExecContext(context.Background(), `UPDATE notes SET body_ct = $1 WHERE id = $2`, []byte("tampered"), id); err == nil {
			t.Fatal("the database let a signed note be changed")
		}
		free := clin.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "synthetic free note"})["id"].(string)
		if n := clin.Must(200, "GET", "/api/v1/notes/"+free, nil); n["status"] != "signed" || n["kind"] != "note" {
			t.Fatalf("a free-text note = %v, want signed", n)
		}
		clin.Must(409, "POST", "/api/v1/notes/"+free+"/signature", nil)
		clin.Must(201, "POST", "/api/v1/notes/"+free+"/addenda", map[string]string{"body": "synthetic: amended"})
	})
}

// TestDraftEditableOnlyByAuthor: another clinician of the patient's care team neither changes,
// signs nor reads a draft; a nurse does not sign or amend; the patient sees no draft in the
// record.
func TestDraftEditableOnlyByAuthor(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "notes-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		other, otherID := e.Clinician(admin, "notes-other@haven.test")
		admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"clinicianId": otherID, "patientId": pid})
		nurse, nurseID := e.Staff(admin, "notes-nurse@haven.test", "nurse")
		admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"clinicianId": nurseID, "patientId": pid})
		v := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
		id := clin.Must(200, "PUT", "/api/v1/visits/"+v+"/note", soap)["id"].(string)

		other.Must(403, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"plan": "synthetic: not mine"})
		other.Must(403, "POST", "/api/v1/notes/"+id+"/signature", nil)
		other.Must(403, "GET", "/api/v1/notes/"+id, nil)
		nurse.Must(403, "POST", "/api/v1/notes/"+id+"/signature", nil)
		if notes := patient.Must(200, "GET", "/api/v1/me/record", nil)["notes"].([]any); len(notes) != 0 {
			t.Fatalf("the patient's record shows a draft: %v", notes)
		}
		if n := clin.Must(200, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"plan": "synthetic: revised", "category": "mental-health"}); n["sensitive"] != true || n["category"] != "mental-health" {
			t.Fatalf("the author's revision = %v", n)
		}
		clin.Must(422, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"category": "astrology"})
		clin.Must(200, "POST", "/api/v1/notes/"+id+"/signature", nil)
		nurse.Must(403, "POST", "/api/v1/notes/"+id+"/addenda", map[string]string{"body": "synthetic: nurse"})
		other.Must(201, "POST", "/api/v1/notes/"+id+"/addenda", map[string]string{"body": "synthetic: colleague's addendum"})
		if n := nurse.Must(200, "GET", "/api/v1/notes/"+id, nil); len(n["addenda"].([]any)) != 1 {
			t.Fatalf("the nurse reads = %v", n)
		}
	})
}

// TestVisitSummaryBecomesVisitNote: ending a visit writes its summary as the plan of a signed
// visit note tied to the visit, with the sections the end gives and those the draft held; the
// visit's page shows the summary as before.
func TestVisitSummaryBecomesVisitNote(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "notes-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		v := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
		visit := "/api/v1/visits/" + v
		consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]
		patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent})
		patient.Must(200, "POST", visit+"/check-in", nil)
		clin.Must(200, "POST", visit+"/admit", nil)
		clin.Must(200, "PUT", visit+"/note", map[string]string{"subjective": soap["subjective"], "objective": soap["objective"]})
		clin.Must(200, "POST", visit+"/end", map[string]string{"summary": "synthetic: rest and fluids", "assessment": soap["assessment"], "category": "sexual-health"})
		n := clin.Must(200, "GET", visit+"/note", nil)
		s := n["soap"].(map[string]any)
		if n["status"] != "signed" || n["kind"] != "visit" || n["visitId"] != v || n["sensitive"] != true ||
			s["plan"] != "synthetic: rest and fluids" || s["subjective"] != soap["subjective"] || s["assessment"] != soap["assessment"] {
			t.Fatalf("the visit's note = %v", n)
		}
		if mine := patient.Must(200, "GET", visit, nil); mine["summary"] != "synthetic: rest and fluids" {
			t.Fatalf("the patient's ended visit = %v", mine)
		}
		clin.Must(409, "PUT", visit+"/note", map[string]string{"plan": "synthetic: after the end"})
	})
}

// docNoteCanaries are the values documentAndNotePHI writes, for TestNoPlaintextPHIAtRest.
var docNoteCanaries = []string{"CANARY-DOCNAME", "xerosis", "CANARY-DOCTITLE", "CANARY-DOCBODY", "hyperkeratosis",
	"CANARY-SOAP", "dysgeusia", "anosmia", "CANARY-ADDENDUM", "mental-health", "CANARY-PHOTO"}

// documentAndNotePHI writes a document (its name, title and content canaries), a photo with a
// canary comment (stripped), a visit note in a sensitive category with canaries in every
// section, and an addendum; and reads them back, so that the reads' logs are scanned too.
func documentAndNotePHI(t *testing.T, e *servertest.Env, dr *servertest.Client, drID string, p *servertest.Client, pid string) {
	t.Helper()
	pdf := []byte("%PDF-1.4\n% CANARY-DOCBODY hyperkeratosis of both heels\n%%EOF\n")
	code, raw := doRaw(t, e, p, "POST", "/api/v1/patients/"+pid+"/documents", "application/pdf", pdf,
		"X-Filename", "CANARY-DOCNAME-xerosis.pdf", "X-Title", "CANARY-DOCTITLE")
	var doc struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("upload = %d %s", code, raw)
	}
	id := doc.ID
	if code, _, got := dr.DoRaw("GET", "/api/v1/patients/"+pid+"/documents/"+id, nil); code != http.StatusOK || !bytes.Equal(got, pdf) {
		t.Fatalf("download = %d", code)
	}
	photo := jpegWithGPS(t)
	com := append([]byte{0xFF, 0xFE, 0, 14}, []byte("CANARY-PHOTO")...)
	photo = append(append(append([]byte{}, photo[:2]...), com...), photo[2:]...)
	if code, raw := doRaw(t, e, p, "POST", "/api/v1/patients/"+pid+"/documents", "image/jpeg", photo, "X-Filename", "me.jpg"); code != http.StatusCreated {
		t.Fatalf("photo upload = %d %s", code, raw)
	}
	v := bookVisit(t, e, drID, pid, e.Clock.Now().Add(3*time.Hour))
	n := dr.Must(200, "PUT", "/api/v1/visits/"+v+"/note", map[string]string{"subjective": "CANARY-SOAP-S dysgeusia", "objective": "CANARY-SOAP-O anosmia",
		"assessment": "CANARY-SOAP-A", "plan": "CANARY-SOAP-P", "category": "mental-health"})
	dr.Must(200, "POST", "/api/v1/notes/"+n["id"].(string)+"/signature", nil)
	dr.Must(201, "POST", "/api/v1/notes/"+n["id"].(string)+"/addenda", map[string]string{"body": "CANARY-ADDENDUM"})
	if rec := p.Must(200, "GET", "/api/v1/me/record", nil); !strings.Contains(string(mustJSON(t, rec["notes"])), "dysgeusia") {
		t.Fatalf("the patient cannot read the visit note: %v", rec)
	}
}
