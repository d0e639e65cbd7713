package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/principal"
	"haven/internal/visits"
)

func TestDurationWords(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{2 * time.Hour, "2 hours"}, {time.Hour, "1 hour"}, {15 * time.Minute, "15 minutes"}, {time.Minute, "1 minute"},
		{24 * time.Hour, "1 day"}, {48 * time.Hour, "2 days"}, {90 * time.Minute, "90 minutes"},
	} {
		if got := durationWords(tc.d); got != tc.want {
			t.Errorf("durationWords(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestNavMarksTheSection: the header marks the page's own section, the longest match winning
// ("/clinician/schedule" is Schedule, not My patients).
func TestNavMarksTheSection(t *testing.T) {
	for _, tc := range []struct {
		role principal.Role
		path string
		want string
	}{
		{principal.Clinician, "/clinician", "My patients"},
		{principal.Clinician, "/clinician/patients/x", "My patients"},
		{principal.Clinician, "/clinician/schedule", "Schedule"},
		{principal.Patient, "/patient/appointments", "Appointments"},
		{principal.Patient, "/visits/x", ""},
		{principal.FrontDesk, "/frontdesk/clinicians/x/availability", "Clinicians' hours"},
		{principal.Guest, "/visits/x", ""},
	} {
		var got string
		for _, l := range navFor(tc.role, tc.path) {
			if l.Current {
				got += l.Label
			}
		}
		if got != tc.want {
			t.Errorf("%s at %s: current %q, want %q", tc.role, tc.path, got, tc.want)
		}
	}
}

// TestReadAvailability: the editor's form becomes the API's availability: empty ranges and the
// empty exception row are dropped, removed exceptions go, half a range is refused by name.
func TestReadAvailability(t *testing.T) {
	form := url.Values{
		"timeZone": {" Europe/Madrid "}, "slotMinutes": {"20"}, "bufferMinutes": {"5"}, "acceptsNewPatients": {"yes"},
		"mon-start": {"09:00", "15:00", ""}, "mon-end": {"13:00", "18:00", ""},
		"tue-start": {""}, "tue-end": {""},
		"exc-kind": {"off", "extra", "off"}, "exc-date": {"2026-12-24", "2026-12-05", ""}, "exc-until": {"2026-12-26", "", ""},
		"exc-start": {"", "10:00", ""}, "exc-end": {"", "12:00", ""}, "exc-remove": {"1"},
	}
	got, err := readAvailability(post(form))
	if err != nil {
		t.Fatal(err)
	}
	want := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 20, BufferMinutes: 5, AcceptsNewPatients: true,
		Weekly:     []visits.Hours{{Day: "mon", Start: "09:00", End: "13:00"}, {Day: "mon", Start: "15:00", End: "18:00"}},
		Exceptions: []visits.Exception{{Kind: "off", Date: "2026-12-24", Until: "2026-12-26"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("availability (-want +got):\n%s", diff)
	}
	for name, bad := range map[string]url.Values{
		"half a range":    {"timeZone": {"UTC"}, "slotMinutes": {"20"}, "wed-start": {"09:00"}, "wed-end": {""}},
		"no slot length":  {"timeZone": {"UTC"}, "slotMinutes": {"twenty"}},
		"negative buffer": {"timeZone": {"UTC"}, "slotMinutes": {"20"}, "bufferMinutes": {"-5"}},
	} {
		if _, err := readAvailability(post(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func post(form url.Values) *http.Request {
	r := httptest.NewRequest("POST", "/clinician/availability", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestBookFlowQuery: a step's links carry the flow's identifiers and the step's own, encoded.
func TestBookFlowQuery(t *testing.T) {
	f := bookFlow{Carry: []formField{{"patient", "p 1"}}}
	if got := string(f.Query("clinician", "c&2", "day", "2026-11-25")); got != "clinician=c%262&day=2026-11-25&patient=p+1" {
		t.Errorf("Query = %q", got)
	}
}

// TestConsentBlocks: the consent's words are laid out, never changed: every word of the text is
// in a block, in order.
func TestConsentBlocks(t *testing.T) {
	text := "# Video visits\n\nPlease read this.\nIt is short.\n\n## Who can join\n\nOnly you.\n- an interpreter\n- a family member\nNobody else.\n"
	want := []consentBlock{{Kind: "title", Text: "Video visits"}, {Kind: "p", Text: "Please read this. It is short."},
		{Kind: "section", Text: "Who can join"}, {Kind: "p", Text: "Only you."}, {Kind: "list", Items: []string{"an interpreter", "a family member"}},
		{Kind: "p", Text: "Nobody else."}}
	if diff := cmp.Diff(want, consentBlocks(text)); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if got := consentBlocks("Plain words."); got[0].Text != "Telehealth consent" || got[1].Text != "Plain words." {
		t.Errorf("a text without a title: %+v", got)
	}
	var words []string
	for _, b := range consentBlocks(text) {
		words = append(words, strings.Fields(b.Text+" "+strings.Join(b.Items, " "))...)
	}
	var orig []string
	for _, w := range strings.Fields(text) {
		if w != "#" && w != "##" && w != "-" {
			orig = append(orig, w)
		}
	}
	if diff := cmp.Diff(orig, words); diff != "" {
		t.Errorf("words (-text +shown):\n%s", diff)
	}
}
