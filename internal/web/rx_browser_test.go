package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/keys"
	"haven/internal/server/servertest"
)

// TestBrowserPrescription: in Chromium with a virtual authenticator, the clinician records on
// the record page that their patient is allergic to penicillin, writes a prescription for
// penicillin and sees the warning,
// changes it, and signs it with their passkey (the assertion is the step-up); the patient, on
// a phone, sees it and opens the printable version; a pharmacist opens the QR code's check
// page, which answers valid with a signature that verifies, and marks it dispensed, once. A
// prescription whose stored content was altered by one byte shows "does not verify" there, with
// no dispense button. Every page is checked with axe-core.
func TestBrowserPrescription(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "rx-browser-dr@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.rx@example.test"})

	doc := newBrowser(t, e)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.addVirtualAuthenticator()
	doc.signIn(person{Email: clin.Email, PW: clin.PW, Secret: clin.Secret}, "My patients")
	doc.visit("/account", "Security and sessions")
	doc.fill("#passkey-name", "Laptop")
	doc.follow(chromedp.Click(chromedp.CSS("#passkey-register")), "Security and sessions")

	doc.visit("/clinician/patients/"+pid, "Patient record")
	doc.do(chromedp.Click(chromedp.CSS(`#allergies details.add summary`)))
	doc.fill("#allergies-text", "Penicillin", "#allergies-reaction", "hives")
	doc.submit(`form[action="/clinician/patients/`+pid+`/items/allergies"]`, "Patient record")
	doc.visit("/clinician/patients/"+pid+"/prescriptions", "Prescriptions")
	doc.fill("#medication", "Penicillin V potassium", "#strength", "250 mg", "#form", "tablet", "#quantity", "28 tablets", "#frequency", "four times a day")
	doc.submit(`form[action="/clinician/patients/`+pid+`/prescriptions"]`, "Draft prescription")
	if w := doc.text(`#rx-warnings[role="alert"]`); !strings.Contains(w, "Listed allergy: Penicillin (hives)") {
		t.Fatalf("warnings: %q", w)
	}
	doc.screenshot("prescription-warning")
	id := doc.eval(`location.pathname.split("/").pop()`)
	doc.fill("#medication", "Azithromycin", "#strength", "250 mg", "#quantity", "6 tablets", "#frequency", "once a day")
	doc.submit(`form[action="/clinician/prescriptions/`+id+`"]`, "Draft prescription")
	if n := doc.count("#rx-warnings"); n != 0 {
		t.Fatalf("a warning is left after the change: %s", doc.text("#rx-warnings"))
	}
	e.Clock.Advance(10 * time.Minute) // the sign-in's factor is stale: the passkey's assertion is the step-up
	doc.follow(chromedp.Click(chromedp.CSS("#rx-sign-passkey")), "Signed prescription")
	if s := doc.text("main dl"); !strings.Contains(s, "the prescriber's passkey") {
		t.Fatalf("signed: %q", s)
	}

	pat := doc.another()
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	pat.visit("/patient/prescriptions", "Your prescriptions")
	if s := pat.text("main"); !strings.Contains(s, "Azithromycin 250 mg") || !strings.Contains(s, "Ready for the pharmacy") {
		t.Fatalf("the patient's prescriptions: %q", s)
	}
	pat.screenshot("prescriptions-patient")
	pat.follow(chromedp.Click(chromedp.CSS(`a[href="/api/v1/prescriptions/`+id+`/printable"]`)), "Prescription")
	pat.screenshot("prescription-printable")
	code := pat.text(".code")
	if len(code) != 11 || pat.count("svg") != 1 {
		t.Fatalf("printable: code %q", code)
	}
	checkURL := pat.eval(`document.querySelector('a[href*="/rx/"]').getAttribute("href")`)
	if !strings.HasSuffix(checkURL, "/rx/"+id+"#"+code) {
		t.Fatalf("check page link %q", checkURL)
	}

	pharmacy := doc.another()
	pharmacy.visit("/rx/"+id+"#"+code, "Check a prescription")
	pharmacy.waitText("#rx-result", "Valid: not yet dispensed.")
	pharmacy.waitText("#rx-result", "Signature: verifies")
	if got := pharmacy.eval(`location.hash`); got != "" {
		t.Fatalf("the code stayed in the address bar: %q", got)
	}
	pharmacy.do(chromedp.Click(chromedp.CSS("#rx-dispense")))
	pharmacy.waitText("#rx-result", "Marked dispensed.")
	pharmacy.waitText("#rx-result", "Already dispensed")
	pharmacy.checkAccessibility("Check a prescription, dispensed")
	pharmacy.screenshot("prescription-check")
	if st, m, _ := e.Client().Do("POST", "/api/v1/prescriptions/"+id+"/dispense", map[string]string{"code": code}); st != http.StatusConflict || !strings.Contains(m["error"].(string), "already dispensed") {
		t.Fatalf("a second dispense = %d %v", st, m)
	}

	// A prescription whose stored content was altered by one byte (and sealed again under the
	// patient's key, as someone with the keys could) opens, but its signature does not verify.
	id2 := clin.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": pid, "medication": "Ibuprofen", "quantity": "20 tablets"})["id"].(string)
	e.Clock.Advance(31 * time.Second)
	clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": clin.Code()})
	code2 := clin.Must(200, "POST", "/api/v1/prescriptions/"+id2+"/signature", map[string]string{"method": "key"})["verificationCode"].(string)
	ctx := context.Background()
	loc := keys.Location{Table: "prescriptions", Row: id2, Field: "body"}
	var ct []byte
	if err := e.Srv.DB().QueryRowContext(ctx, `SELECT body_ct FROM prescriptions WHERE id = $1`, id2).Scan(&ct); err != nil {
		t.Fatal(err)
	}
	plain, err := e.Srv.Keys().Open(ctx, pid, loc, ct)
	if err != nil {
		t.Fatal(err)
	}
	plain = []byte(strings.Replace(string(plain), `"20 tablets"`, `"90 tablets"`, 1))
	if ct, err = e.Srv.Keys().Seal(ctx, pid, loc, plain); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Srv.DB().ExecContext(ctx, `UPDATE prescriptions SET body_ct = $1 WHERE id = $2`, ct, id2); err != nil {
		t.Fatal(err)
	}
	pharmacy.visit("/rx/"+id2+"#"+code2, "Check a prescription")
	pharmacy.waitText("#rx-result", "DOES NOT VERIFY")
	if hidden := pharmacy.eval(`String(document.getElementById("rx-dispense").hidden)`); hidden != "true" {
		t.Fatal("the dispense button is offered for a prescription that does not verify")
	}
}

// eval returns a JavaScript expression's string value in the page.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return s
}
