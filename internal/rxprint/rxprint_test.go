package rxprint_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"haven/internal/clinical"
	"haven/internal/clinical/rx"
	"haven/internal/rxprint"
)

func sample(verifies bool) clinical.Printable {
	at := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC)
	return clinical.Printable{
		Prescription: clinical.Prescription{ID: "rx-1", Status: clinical.RxSigned, PrescriberName: "Dr Carl Clinician", SignedWith: "passkey", IssuedAt: &at,
			Content: rx.Content{Medication: "Amoxicillin", Strength: "500 mg", Form: "capsule", Dose: "1 capsule", Frequency: "three times a day",
				Quantity: "21 capsules", Refills: 1, Notes: "Synthetic <b>note</b> – café"}},
		PatientName: "Ada Canary", PatientBirthDate: "1980-02-29", Code: "ABCDE-FGHJK", Verifies: verifies,
	}
}

// TestPaper: the page and the PDF carry the lines, the code and a QR code of the check page
// with the code in its fragment; text is escaped; the issue date is in the reader's zone.
func TestPaper(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	p, err := rxprint.New(sample(true), "https://haven.test/", madrid)
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != "https://haven.test/rx/rx-1#ABCDE-FGHJK" {
		t.Fatalf("check URL %q", p.URL)
	}
	page, err := p.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Amoxicillin 500 mg capsule", "ABCDE-FGHJK", "<svg", "25 November 2026", "1 refill", "&lt;b&gt;note&lt;/b&gt;", "Ada Canary"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "does not verify") {
		t.Error("a verified prescription warns")
	}
	doc, err := p.PDF()
	if err != nil || !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("pdf: %v", err)
	}
	bad, _ := rxprint.New(sample(false), "https://haven.test", nil)
	if page, _ := bad.HTML(); !strings.Contains(string(page), "does not verify") {
		t.Error("an unverified prescription does not warn")
	}
}
