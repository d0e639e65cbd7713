package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserBilling: a clinician at a desk adds the charge for an ended visit; a billing
// account signs in straight to its list of charges, submits the charge, and is asked to confirm
// a second factor before an export; the patient reads the charge on a phone, in words. Every
// page is checked with axe-core.
func TestBrowserBilling(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	withMail, inbox := servertest.WithMail(t)
	e := servertest.New(t, "", withMail)
	admin := e.Admin()
	drP := staffByMail(t, e, admin, inbox, "Dr Grace Hopper", "grace@haven.test", "clinician")
	clerkP := staffByMail(t, e, admin, inbox, "Bill Ledger", "ledger@haven.test", "billing")
	dr := e.Client()
	dr.Email, dr.PW, dr.Secret = drP.Email, drP.PW, drP.Secret
	dr.Login()
	reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Ada Canary", "birthDate": "1980-02-29", "phone": "+1 555 0100 123", "email": "ada.canary@example.test"})
	patP := person{Name: "Ada Canary", Email: "ada.canary@example.test", PW: "patient pw 12", ID: reg["patientId"].(string)}
	patP.Secret = activate(t, e, linkFor(t, inbox, reg, patP.Email), patP.Email, patP.PW)
	start := e.Clock.Now().Add(-2 * time.Hour)
	if _, err := e.Srv.DB().ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at, ended_at)
		VALUES ('visit-1', $1, $2, 'scheduled', 'ended', $3, $4, $1, $3, $4)`, drP.ID, patP.ID, start.UnixNano(), start.Add(20*time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}

	doc := newBrowserFor(t, e, 4*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.signIn(drP, "My patients")
	doc.visit("/clinician/patients/"+patP.ID+"/charges", "Charges")
	doc.fill("#procedureCodes", "99213", "#diagnosisCodes", "j069", "#amount", "125")
	doc.submit("#add-charge", "Charges")
	if msg := doc.text("#charge-added"); !strings.Contains(msg, "draft") {
		t.Fatalf("after adding the charge: %q", msg)
	}
	if row := doc.text("#charges tbody"); !strings.Contains(row, "J06.9") || !strings.Contains(row, "$125.00") {
		t.Fatalf("the clinician's charges: %q", row)
	}
	doc.noInternalCodes("patient charges")

	clerk := doc.another()
	clerk.do(chromedp.EmulateViewport(1280, 900))
	clerk.signIn(clerkP, "Charges")
	if row := clerk.text("#charges tbody"); !strings.Contains(row, "Ada Canary") || !strings.Contains(row, "Draft") {
		t.Fatalf("billing's list: %q", row)
	}
	clerk.screenshot("billing-charges")
	clerk.follow(chromedp.Click(chromedp.CSS(`#charges form button[type="submit"]`)), "Charges")
	if msg := clerk.text("#billing-done"); !strings.Contains(msg, "changed") {
		t.Fatalf("after submitting: %q", msg)
	}
	if row := clerk.text("#charges tbody"); !strings.Contains(row, "Submitted") {
		t.Fatalf("billing's list after submitting: %q", row)
	}
	clerk.noInternalCodes("billing")
	e.Clock.Advance(6 * time.Minute)
	clerk.follow(chromedp.Click(chromedp.CSS("#export-csv")), "Confirm it is you")

	pat := doc.another()
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(patP, "My record")
	pat.visit("/patient/charges", "Charges")
	if card := pat.text("#my-charges"); !strings.Contains(card, "Video visit") || !strings.Contains(card, "$125.00") || !strings.Contains(card, "Billed") || strings.Contains(card, "J06.9") {
		t.Fatalf("the patient's charges: %q", card)
	}
	pat.screenshot("patient-charges")
	pat.noInternalCodes("my charges")
}
