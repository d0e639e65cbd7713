package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserPatientSendsADocument: on a 375 px phone, a patient opens their documents, sends a
// letter (the page is checked with axe-core before and after), sees it listed, and is told
// what to do when they send a HEIC photo.
func TestBrowserPatientSendsADocument(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	pc, _ := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada@example.test"})
	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(375, 812))
	b.signIn(person{Email: pc.Email, PW: pc.PW, Secret: pc.Secret}, "My record")
	b.visit("/patient/documents", "My documents")

	dir := t.TempDir()
	letter := filepath.Join(dir, "referral-letter.pdf")
	if err := os.WriteFile(letter, []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{letter}))
	b.submit("#upload-form", "My documents")
	if got := b.text("#documents"); !strings.Contains(got, "referral-letter.pdf") || !strings.Contains(got, "sent by you") {
		t.Fatalf("the list shows %q", got)
	}
	heic, err := os.ReadFile("../clinical/upload/testdata/photo.heic")
	if err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "IMG_0001.HEIC")
	if err := os.WriteFile(photo, heic, 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{photo}))
	b.submit("#upload-form", "My documents")
	if got := b.text("#form-error"); !strings.Contains(got, "Most Compatible") {
		t.Fatalf("the HEIC refusal says %q", got)
	}
}
