package web_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// registerTestDevice registers a device with fresh public keys for c, as a browser does when it
// first opens a visit or its messages, and answers its id.
func registerTestDevice(t *testing.T, c *servertest.Client, label string) string {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	agree := make([]byte, 32)
	rand.Read(agree)
	b64 := base64.RawURLEncoding.EncodeToString
	return c.Must(201, "POST", "/api/v1/me/devices", map[string]string{"signKey": b64(pub), "agreeKey": b64(agree), "label": label})["deviceId"].(string)
}

// myDeviceIDs lists c's devices as the API answers them.
func myDeviceIDs(c *servertest.Client) []string {
	var out []string
	for _, d := range c.Must(200, "GET", "/api/v1/me/devices", nil)["devices"].([]any) {
		out = append(out, d.(map[string]any)["deviceId"].(string))
	}
	return out
}

// TestAccountDevicesListAndRemove: the account page lists one's devices for encrypted visits and
// messages, each with a Remove button; the button first shows what removing does, and only the
// confirmation's answer removes the device (a key-transparency leaf), after which the page says
// so. The attack: a patient who posts the removal of their clinician's device (an id seen in a
// visit's key list) removes nothing, and the confirmation page does not even name it.
func TestAccountDevicesListAndRemove(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "rivera@haven.test")
	patient, _ := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada.canary@example.test"})

	code, _, body := page(t, e, patient, "GET", "/account", nil)
	if code != 200 || !strings.Contains(body, "Devices for encrypted visits and messages") || !strings.Contains(body, "No devices yet.") {
		t.Fatalf("the account page before any device = %d, want the section saying there are none:\n%s", code, body)
	}
	phone := registerTestDevice(t, patient, "Chrome on a phone")
	laptop := registerTestDevice(t, patient, "Firefox on a computer")
	clinDevice := registerTestDevice(t, clin, "Edge on the clinic's desk")

	code, _, body = page(t, e, patient, "GET", "/account", nil)
	for _, want := range []string{"Chrome on a phone", "Firefox on a computer", `action="/account/devices/` + phone + `/remove"`,
		`action="/account/devices/` + laptop + `/remove"`, "cannot read new messages", "safety number"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("the account page = %d, want %q in:\n%s", code, want, body)
		}
	}
	if strings.Contains(body, "Edge on the clinic") || strings.Contains(body, clinDevice) {
		t.Fatal("the patient's account page lists the clinician's device")
	}

	// The button without the confirmation's answer: the confirmation, nothing removed.
	code, _, body = page(t, e, patient, "POST", "/account/devices/"+phone+"/remove", url.Values{})
	if code != 200 || !strings.Contains(body, "Remove “Chrome on a phone”?") || !strings.Contains(body, `name="confirm" value="yes"`) || !strings.Contains(body, `href="/account"`) {
		t.Fatalf("the remove button = %d, want the confirmation:\n%s", code, body)
	}
	if !slices.Contains(myDeviceIDs(patient), phone) {
		t.Fatal("the device was removed before the confirmation")
	}

	code, loc, _ := page(t, e, patient, "POST", "/account/devices/"+phone+"/remove", url.Values{"confirm": {"yes"}})
	if code != http.StatusSeeOther || loc != "/account?done=device-removed" {
		t.Fatalf("confirming = %d → %q, want 303 → /account?done=device-removed", code, loc)
	}
	if got := myDeviceIDs(patient); slices.Contains(got, phone) || !slices.Contains(got, laptop) {
		t.Fatalf("after removing the phone the devices are %v", got)
	}
	if last := e.LastAudit(); last[0] != "device.key-remove" || last[1] != "success" {
		t.Errorf("the last audit entry is %v, want the device.key-remove leaf", last)
	}
	code, _, body = page(t, e, patient, "GET", "/account?done=device-removed", nil)
	if code != 200 || !strings.Contains(body, "Device removed.") || strings.Contains(body, "Chrome on a phone") {
		t.Fatalf("the account page after removing = %d:\n%s", code, body)
	}

	// Another person's device: no confirmation naming it, and the confirmed form removes nothing.
	code, _, body = page(t, e, patient, "POST", "/account/devices/"+clinDevice+"/remove", url.Values{})
	if code != http.StatusNotFound || strings.Contains(body, "Edge on the clinic") {
		t.Errorf("the confirmation for the clinician's device = %d, want 404 without its name", code)
	}
	code, _, _ = page(t, e, patient, "POST", "/account/devices/"+clinDevice+"/remove", url.Values{"confirm": {"yes"}})
	if code < 400 {
		t.Errorf("removing the clinician's device as the patient = %d, want a refusal", code)
	}
	if !slices.Contains(myDeviceIDs(clin), clinDevice) {
		t.Fatal("the patient removed the clinician's device")
	}
	if last := e.LastAudit(); last[0] != "device.remove" || last[1] == "success" {
		t.Errorf("the last audit entry is %v, want the refused device.remove", last)
	}
}
