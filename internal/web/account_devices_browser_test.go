package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// waitDevices polls the API until c has n devices, and answers them.
func waitDevices(t *testing.T, c *servertest.Client, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got := myDeviceIDs(c)
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account has devices %v, want %d", got, n)
		}
	}
}

// TestBrowserRemoveDevice: a patient's browser registers itself when they open their messages;
// the Security page lists it, "Remove" shows what removing does, and confirming removes it (each
// page checked with axe-core as it loads). Opening the messages again adds the browser back as a
// new device, as the page's words say.
func TestBrowserRemoveDevice(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "rivera@haven.test")
	patient, _ := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada.canary@example.test"})

	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(375, 812))
	b.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	b.visit("/patient/messages", "Messages with your care team")
	first := waitDevices(t, patient, 1)[0]

	b.visit("/account", "Security and sessions")
	if n := b.count("#devices li form"); n != 1 {
		t.Fatalf("the Security page lists %d devices with a Remove button, want 1", n)
	}
	label := b.text("#devices .device")
	b.submit(`#devices form[action="/account/devices/`+first+`/remove"]`, "Remove “"+label+"”?")
	b.submit(`#confirm-remove-device form`, "Security and sessions")
	if got := b.text(`p.ok[role="status"]`); got != "Device removed. New messages and visits are no longer encrypted to it." {
		t.Fatalf("after removing, the page says %q", got)
	}
	if n := b.count("#devices li form"); n != 0 {
		t.Fatalf("the Security page still lists %d devices", n)
	}
	waitDevices(t, patient, 0)

	b.visit("/patient/messages", "Messages with your care team")
	if again := waitDevices(t, patient, 1)[0]; again == first {
		t.Fatalf("the browser came back as the removed device %s, want a new one", first)
	}
}
