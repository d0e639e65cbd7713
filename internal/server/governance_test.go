package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/governance"
	"haven/internal/server/servertest"
)

var bo = servertest.PatientIn{Name: "Bo Keeper", BirthDate: "1972-07-07", Phone: "+1 555 0100 456", Email: "bo.keeper@example.test"}

// governanceCast is a clinic with a clinician, a privacy officer and two patients, each with a
// signed note.
type governanceCast struct {
	e               *servertest.Env
	admin, dr, po   *servertest.Client
	ada, bo         *servertest.Client
	adaID, boID     string
	adaNote, boNote string
	drID            string
}

func newGovernanceCast(t *testing.T, e *servertest.Env) *governanceCast {
	t.Helper()
	c := &governanceCast{e: e}
	c.admin = e.Admin()
	c.dr, c.drID = e.Clinician(c.admin, "gov-dr@haven.test")
	c.po, _ = e.Staff(c.admin, "gov-po@haven.test", "auditor")
	c.ada, c.adaID = e.Patient(c.dr, ada)
	c.bo, c.boID = e.Patient(c.dr, bo)
	c.adaNote = c.dr.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/notes", map[string]string{"body": "Ada's note body"})["id"].(string)
	c.boNote = c.dr.Must(201, "POST", "/api/v1/patients/"+c.boID+"/notes", map[string]string{"body": "Bo's note body"})["id"].(string)
	// Every second factor is past the step-up window: a step-up act needs a fresh one.
	e.Clock.Advance(6 * time.Minute)
	return c
}

func (c *governanceCast) stepUp(cl *servertest.Client) {
	c.e.Clock.Advance(31 * time.Second) // a new TOTP step: the sign-in's code is spent
	cl.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": cl.Code()})
}

func rowExists(t *testing.T, e *servertest.Env, table, id string) bool {
	t.Helper()
	var n int
	if err := e.Srv.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestExpiredRecordPurged: a note kept past its retention period (10 years after the last
// encounter by default) is deleted by the purge; a younger one is not; the run is recorded.
func TestExpiredRecordPurged(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		ctx := context.Background()
		// A visit of Ada's that ended, with its reminder sent: purged with the rest.
		start := e.Clock.Now().Add(-time.Hour)
		if _, err := e.Srv.DB().ExecContext(ctx, `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at, ended_at)
			VALUES ('old-visit', $1, $2, 'scheduled', 'ended', $3, $4, $1, $3, $4)`, c.drID, c.adaID, start.UnixNano(), start.Add(20*time.Minute).UnixNano()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Srv.DB().ExecContext(ctx, `INSERT INTO appointment_reminders (appointment_id, kind, sent_at) VALUES ('old-visit', 'day', $1)`, start.UnixNano()); err != nil {
			t.Fatal(err)
		}
		if res, err := e.Srv.Purge(ctx); err != nil || res.Deleted != 0 {
			t.Fatalf("purge of a young record = %+v, %v; want nothing deleted", res, err)
		}
		e.Clock.Advance(11 * governance.Year)
		c.dr.Login()
		fresh := c.dr.Must(201, "POST", "/api/v1/patients/"+c.boID+"/notes", map[string]string{"body": "Bo's new note"})
		res, err := e.Srv.Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rowExists(t, e, "notes", c.adaNote) {
			t.Fatalf("Ada's 11-year-old note survived the purge (%+v)", res)
		}
		if rowExists(t, e, "notes", c.boNote) == false && res.Deleted < 1 {
			t.Fatalf("purge reported %+v", res)
		}
		if rowExists(t, e, "appointments", "old-visit") {
			t.Fatal("the 11-year-old visit survived the purge")
		}
		if !rowExists(t, e, "notes", fresh["id"].(string)) {
			t.Fatal("a note written today was purged")
		}
		run, ok, err := governance.LastRun(ctx, e.Srv.DB(), governance.RunPurge, true)
		if err != nil || !ok || !strings.Contains(run.Detail, "deleted") {
			t.Fatalf("purge run = %+v %v %v, want a recorded successful run", run, ok, err)
		}
	})
}

// TestLegalHoldStopsPurge: a patient under a legal hold keeps every record past its period;
// the hold is placed only by the privacy officer with step-up; once lifted, the purge goes on.
func TestLegalHoldStopsPurge(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		ctx := context.Background()
		hold := "/api/v1/patients/" + c.adaID + "/legal-hold"
		c.dr.Must(http.StatusForbidden, "PUT", hold, map[string]string{"reason": "litigation"})
		c.po.Must(http.StatusForbidden, "PUT", hold, map[string]string{"reason": "litigation"}) // no step-up yet
		c.stepUp(c.po)
		c.po.Must(http.StatusUnprocessableEntity, "PUT", hold, map[string]string{"reason": "Ada sued us"})
		c.po.Must(200, "PUT", hold, map[string]string{"reason": "litigation"})

		e.Clock.Advance(11 * governance.Year)
		res, err := e.Srv.Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rowExists(t, e, "notes", c.adaNote) {
			t.Fatal("a note under legal hold was purged")
		}
		if rowExists(t, e, "notes", c.boNote) {
			t.Fatal("the other patient's expired note was kept")
		}
		if res.Held < 1 {
			t.Fatalf("purge = %+v, want the held note counted", res)
		}
		c.po.Login()
		c.stepUp(c.po)
		c.po.Must(200, "DELETE", hold, nil)
		c.po.Must(http.StatusConflict, "DELETE", hold, nil)
		if _, err := e.Srv.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if rowExists(t, e, "notes", c.adaNote) {
			t.Fatal("the hold was lifted but the expired note stays")
		}
	})
}

// TestEachPurgeAudited: every deletion is an entry by Haven itself (retention.purge) naming
// the deleted row and its patient, and it shows in that patient's access log.
func TestEachPurgeAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		ctx := context.Background()
		before := countAction(e, "retention.purge")
		e.Clock.Advance(11 * governance.Year)
		res, err := e.Srv.Purge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted < 2 {
			t.Fatalf("purge = %+v, want both notes (at least) deleted", res)
		}
		if got := countAction(e, "retention.purge") - before; got != res.Deleted {
			t.Fatalf("%d purge entries for %d deletions", got, res.Deleted)
		}
		var actor, resource string
		if err := e.Srv.DB().QueryRowContext(ctx, `SELECT actor_id, resource_id FROM audit_entries WHERE action = 'retention.purge' AND patient_id = $1 AND resource_type = 'Note'`, c.adaID).Scan(&actor, &resource); err != nil {
			t.Fatal(err)
		}
		if actor != "haven" || resource != c.adaNote {
			t.Fatalf("purge entry by %q on %q, want haven on the note %s", actor, resource, c.adaNote)
		}
		c.po.Login()
		found := false
		for _, it := range c.po.List(200, "GET", "/api/v1/patients/"+c.adaID+"/access-log", nil) {
			if m := it.(map[string]any); strings.Contains(m["what"].(string), "retention") || strings.Contains(m["what"].(string), "deleted") {
				found = true
			}
		}
		if !found {
			t.Fatal("the purge is not in the patient's access log")
		}
	})
}

// TestErasureNeedsStepUpAndPrivacyOfficer: only the privacy officer approves an erasure, and
// only with a fresh second factor; a patient asks for their own record only.
func TestErasureNeedsStepUpAndPrivacyOfficer(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		req := c.ada.Must(201, "POST", "/api/v1/me/erasure-request", nil)["id"].(string)
		if again := c.ada.Must(201, "POST", "/api/v1/me/erasure-request", nil)["id"].(string); again != req {
			t.Fatalf("a second request made %s, want the open one %s", again, req)
		}
		c.dr.Must(http.StatusForbidden, "POST", "/api/v1/me/erasure-request", nil)
		c.bo.Must(http.StatusForbidden, "POST", "/api/v1/patients/"+c.adaID+"/erasure-requests", nil)
		c.dr.Must(http.StatusForbidden, "GET", "/api/v1/erasure-requests", nil)
		c.admin.Must(http.StatusForbidden, "GET", "/api/v1/erasure-requests", nil)
		approve := "/api/v1/erasure-requests/" + req + "/approval"
		for _, who := range []*servertest.Client{c.ada, c.dr, c.admin} {
			who.Must(http.StatusForbidden, "POST", approve, nil)
		}
		c.po.Must(http.StatusForbidden, "POST", approve, nil) // allowed, but not without step-up
		if got := e.LastAudit(); got[0] != "erasure.approve" || got[1] != "deny" {
			t.Fatalf("last entry %v, want the refused approval", got)
		}
		list := c.po.List(200, "GET", "/api/v1/erasure-requests", nil)
		if len(list) != 1 || list[0].(map[string]any)["state"] != "requested" {
			t.Fatalf("requests = %v", list)
		}
		c.stepUp(c.po)
		c.po.Must(200, "POST", approve, nil)
		c.po.Must(http.StatusConflict, "POST", approve, nil)
	})
}

// TestLegalHoldBlocksErasure: an erasure is refused while a legal hold is on the patient, and
// nothing is destroyed; once the hold is lifted it goes through.
func TestLegalHoldBlocksErasure(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		req := c.po.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/erasure-requests", nil)["id"].(string)
		c.stepUp(c.po)
		c.po.Must(200, "PUT", "/api/v1/patients/"+c.adaID+"/legal-hold", map[string]string{"reason": "investigation"})
		if code, _, raw := c.po.Do("POST", "/api/v1/erasure-requests/"+req+"/approval", nil); code != http.StatusConflict || !strings.Contains(string(raw), "legal hold") {
			t.Fatalf("approval under hold = %d %s, want 409 naming the hold", code, raw)
		}
		c.dr.Must(200, "GET", "/api/v1/patients/"+c.adaID, nil)
		if erased, _ := governance.ErasedPatients(e.DataDir); len(erased) != 0 {
			t.Fatalf("ledger lists %v after a refused erasure", erased)
		}
		c.po.Must(200, "DELETE", "/api/v1/patients/"+c.adaID+"/legal-hold", nil)
		c.po.Must(200, "POST", "/api/v1/erasure-requests/"+req+"/approval", nil)
	})
}

// TestErasureMakesRecordsUnreadable: after an approved erasure, the patient's record answers
// "erased" (410, no integrity alert), the ledger beside the root key names them, their account
// is closed, the other patient reads as before, billing rows stay, and the audit log verifies.
func TestErasureMakesRecordsUnreadable(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		ctx := context.Background()
		// Ciphertext in Ada's encrypted thread and in Bo's, as the consultation stores it.
		for _, p := range []string{c.adaID, c.boID} {
			if _, err := e.Srv.DB().ExecContext(ctx, `INSERT INTO consult_messages (thread, id, sender_account, sender_device, seq, envelope, size_bytes, created_at)
				VALUES ($1, 'm1', 'a', 'd', 1, $2, 3, 1)`, "patient."+p, []byte("ct!")); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Srv.DB().ExecContext(ctx, `INSERT INTO consult_attachments (thread, id, sender_account, size_bytes, bytes, created_at)
				VALUES ($1, 'f1', 'a', 3, $2, 1)`, "patient."+p, []byte("ct!")); err != nil {
				t.Fatal(err)
			}
		}
		req := c.ada.Must(201, "POST", "/api/v1/me/erasure-request", nil)["id"].(string)
		c.stepUp(c.po)
		c.po.Must(200, "POST", "/api/v1/erasure-requests/"+req+"/approval", nil)
		for _, table := range []string{"consult_messages", "consult_attachments"} {
			for p, want := range map[string]int{c.adaID: 0, c.boID: 1} {
				var n int
				if err := e.Srv.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE thread = $1`, "patient."+p).Scan(&n); err != nil || n != want {
					t.Errorf("%s of %s after Ada's erasure = %d, %v; want %d", table, p, n, err, want)
				}
			}
		}

		if erased, err := governance.ErasedPatients(e.DataDir); err != nil || len(erased) != 1 || erased[0] != c.adaID {
			t.Fatalf("ledger = %v, %v; want Ada", erased, err)
		}
		for i := 0; i < 2; i++ {
			code, _, raw := c.dr.Do("GET", "/api/v1/patients/"+c.adaID, nil)
			if code != http.StatusGone || !strings.Contains(string(raw), "erased") || strings.Contains(string(raw), ada.Name) {
				t.Fatalf("erased record = %d %s, want 410 saying it was erased", code, raw)
			}
		}
		if code, _, raw := c.dr.Do("GET", "/api/v1/patients/"+c.boID, nil); code != 200 || !strings.Contains(string(raw), bo.Name) {
			t.Fatalf("the other patient reads %d %s", code, raw)
		}
		if code, _, raw := c.dr.Do("POST", "/api/v1/patients/"+c.adaID+"/notes", map[string]string{"body": "after the erasure"}); code != http.StatusGone {
			t.Fatalf("a note for the erased patient = %d %s, want 410", code, raw)
		}
		for _, it := range c.dr.List(200, "GET", "/api/v1/patients", nil) {
			if p := it.(map[string]any); p["id"] == c.adaID && p["name"] != "" {
				t.Fatalf("the erased patient is listed with %v", p)
			}
		}
		if found := c.dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": ada.Name}); len(found) != 0 {
			t.Fatalf("search by the erased patient's name finds %v", found)
		}
		for _, it := range c.po.List(200, "GET", "/api/v1/audit/alerts", nil) {
			if a := it.(map[string]any); a["kind"] == "record-integrity" {
				t.Fatalf("the erasure raised an integrity alert: %v", a)
			}
		}
		if code, _, _ := c.ada.Do("GET", "/api/v1/me/record", nil); code != http.StatusUnauthorized {
			t.Fatalf("the erased patient's session still answers %d", code)
		}
		var n int
		if err := e.Srv.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM patient_keys WHERE patient_id = $1`, c.adaID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("keyset rows = %d, %v; want none", n, err)
		}
		rep, err := audit.Verify(ctx, e.Srv.DB(), nil)
		if err != nil || rep.Problem != "" {
			t.Fatalf("audit verification after erasure = %+v, %v", rep, err)
		}
	})
}

// TestErasureInPatientAccessLog: the erasure, its request and its approval are in the
// patient's access log, which reads entries by patient identifier and so outlives the keyset.
func TestErasureInPatientAccessLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		req := c.ada.Must(201, "POST", "/api/v1/me/erasure-request", nil)["id"].(string)
		c.stepUp(c.po)
		c.po.Must(200, "POST", "/api/v1/erasure-requests/"+req+"/approval", nil)
		e.Clock.Advance(time.Minute)
		var asked, erased bool
		for _, it := range c.po.List(200, "GET", "/api/v1/patients/"+c.adaID+"/access-log", nil) {
			m := it.(map[string]any)
			switch {
			case strings.Contains(m["what"].(string), "asked for"):
				asked = true
			case strings.Contains(m["what"].(string), "erasure") || strings.Contains(m["what"].(string), "erased"):
				erased = true
			}
		}
		if !asked || !erased {
			t.Fatalf("access log: request %v, erasure %v; want both", asked, erased)
		}
	})
}

// TestLedgerShredsListedPatients: a patient the erasure ledger lists has no keyset once the
// ledger is applied (server.New applies it at every start), even if the database still held
// it: a crash between the ledger and the keyset, or a database put back from before the
// erasure.
func TestLedgerShredsListedPatients(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "ledger-dr@haven.test")
	_, pid := e.Patient(dr, ada)
	if err := governance.RecordErasure(e.DataDir, pid, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	n, err := governance.ApplyLedger(context.Background(), e.DataDir, e.Srv.Keys())
	if err != nil || n != 1 {
		t.Fatalf("ApplyLedger = %d, %v", n, err)
	}
	if code, _, _ := dr.Do("GET", "/api/v1/patients/"+pid, nil); code != http.StatusGone {
		t.Fatalf("the listed patient's record = %d, want 410", code)
	}
}

// TestRefusedErasureDestroysNothing: a refused request destroys nothing, cannot be approved
// afterwards, and the patient reads the decision in their access log.
func TestRefusedErasureDestroysNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newGovernanceCast(t, e)
		req := c.ada.Must(201, "POST", "/api/v1/me/erasure-request", nil)["id"].(string)
		c.dr.Must(http.StatusForbidden, "POST", "/api/v1/erasure-requests/"+req+"/refusal", nil)
		c.po.Must(200, "POST", "/api/v1/erasure-requests/"+req+"/refusal", nil)
		c.po.Must(http.StatusConflict, "POST", "/api/v1/erasure-requests/"+req+"/refusal", nil)
		c.stepUp(c.po)
		c.po.Must(http.StatusConflict, "POST", "/api/v1/erasure-requests/"+req+"/approval", nil)
		c.dr.Must(200, "GET", "/api/v1/patients/"+c.adaID, nil)
		if list := c.po.List(200, "GET", "/api/v1/erasure-requests", nil); list[0].(map[string]any)["state"] != "refused" {
			t.Fatalf("requests = %v", list)
		}
		found := false
		for _, it := range c.ada.List(200, "GET", "/api/v1/me/access-log", nil) {
			if strings.Contains(it.(map[string]any)["what"].(string), "refused the request to erase") {
				found = true
			}
		}
		if !found {
			t.Fatal("the refusal is not in the patient's access log")
		}
	})
}
