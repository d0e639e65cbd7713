package fhir_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// scheduleStores runs fn on a server over each store.
func scheduleStores(t *testing.T, fn func(t *testing.T, e *servertest.Env)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := ""
			if d != store.SQLite {
				dsn = storetest.DSN(t, d)
			}
			fn(t, servertest.New(t, dsn))
		})
	}
}

// fhirDo sends a FHIR request (body: a resource, or nil) with extra headers and returns the
// status, the headers and the decoded answer.
func fhirDo(t *testing.T, e *servertest.Env, c *servertest.Client, method, path string, body any, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.TS.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Accept", "application/fhir+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, m
}

// fhirMust is fhirDo expecting status want.
func fhirMust(t *testing.T, e *servertest.Env, c *servertest.Client, want int, method, path string, body any, header ...string) (http.Header, map[string]any) {
	t.Helper()
	code, h, m := fhirDo(t, e, c, method, path, body, header...)
	if code != want {
		t.Fatalf("%s %s = %d %v, want %d", method, path, code, m, want)
	}
	return h, m
}

// entries are a searchset's resources.
func entries(t *testing.T, b map[string]any) []map[string]any {
	t.Helper()
	if b["resourceType"] != "Bundle" || b["type"] != "searchset" {
		t.Fatalf("not a searchset: %v", b)
	}
	var out []map[string]any
	es, _ := b["entry"].([]any)
	for _, e := range es {
		out = append(out, e.(map[string]any)["resource"].(map[string]any))
	}
	return out
}

func versionOf(r map[string]any) string {
	m, _ := r["meta"].(map[string]any)
	v, _ := m["versionId"].(string)
	return v
}

// TestScheduleAsFHIR: a patient finds their clinician, the schedule and its free slots, books
// one with POST Appointment, reads it, moves it with If-Match (a stale version is 412), and
// cancels it; the front desk finds appointments by date; another patient reading the
// appointment is refused and the refusal recorded; a visit that ended is a finished
// Encounter.
func TestScheduleAsFHIR(t *testing.T) {
	scheduleStores(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "fhir-sched@haven.test")
		pt, pid := e.Patient(dr, servertest.PatientIn{Name: "Sam Slot", BirthDate: "1970-01-02", Phone: "+1 555 0100 201", Email: "sam.slot@example.test"})
		other, _ := e.Patient(dr, servertest.PatientIn{Name: "Olga Other", BirthDate: "1971-01-02", Phone: "+1 555 0100 202", Email: "olga.other@example.test"})
		desk, _ := e.Staff(admin, "fhir-desk@haven.test", "frontdesk")
		var weekly []map[string]string
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			weekly = append(weekly, map[string]string{"day": d, "start": "09:00", "end": "13:00"})
		}
		dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", map[string]any{"timeZone": "UTC", "slotMinutes": 30, "weekly": weekly})

		// The people and the schedule.
		_, b := fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Practitioner?name=dr", nil)
		if es := entries(t, b); len(es) != 1 || es[0]["id"] != drID {
			t.Fatalf("Practitioner?name=dr = %v", b)
		}
		if _, b := fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Practitioner?name=zz", nil); len(entries(t, b)) != 0 {
			t.Fatalf("Practitioner?name=zz = %v", b)
		}
		_, p := fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Practitioner/"+drID, nil)
		if p["resourceType"] != "Practitioner" || p["telecom"] != nil {
			t.Fatalf("Practitioner = %v", p)
		}
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/PractitionerRole?practitioner=Practitioner/"+drID, nil)
		if es := entries(t, b); len(es) != 1 || len(es[0]["availableTime"].([]any)) != 7 {
			t.Fatalf("PractitionerRole = %v", b)
		}
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Schedule?actor=Practitioner/"+drID, nil)
		if es := entries(t, b); len(es) != 1 || es[0]["id"] != drID {
			t.Fatalf("Schedule = %v", b)
		}
		tomorrow := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Slot?"+url.Values{"schedule": {"Schedule/" + drID}, "start": {"ge2026-11-25", "lt2026-11-26"}, "status": {"free"}}.Encode(), nil)
		slots := entries(t, b)
		slotID := drID + "." + strconv.FormatInt(tomorrow.Unix(), 10)
		if len(slots) != 8 || slots[0]["id"] != slotID || slots[0]["start"] != "2026-11-25T09:00:00Z" || slots[0]["status"] != "free" {
			t.Fatalf("Slot search = %d slots %v", len(slots), b)
		}
		fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Slot/"+slotID, nil)

		// Booking, reading, moving, cancelling.
		book := map[string]any{"resourceType": "Appointment", "status": "booked", "slot": []any{map[string]string{"reference": "Slot/" + slotID}},
			"participant": []any{map[string]any{"actor": map[string]string{"reference": "Practitioner/" + drID}, "status": "accepted"}}}
		h, ap := fhirMust(t, e, pt, 201, "POST", "/fhir/R4/Appointment", book)
		id, _ := ap["id"].(string)
		if h.Get("ETag") != `W/"1"` || !strings.HasSuffix(h.Get("Location"), "/Appointment/"+id+"/_history/1") || ap["status"] != "booked" {
			t.Fatalf("created %v %v", h, ap)
		}
		fhirMust(t, e, pt, 404, "GET", "/fhir/R4/Slot/"+slotID, nil) // the slot is taken
		fhirMust(t, e, pt, 409, "POST", "/fhir/R4/Appointment", book)
		_, ap = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Appointment/"+id, nil)
		if versionOf(ap) != "1" || ap["start"] != "2026-11-25T09:00:00Z" || ap["minutesDuration"] != float64(30) || len(ap["participant"].([]any)) != 2 {
			t.Fatalf("read %v", ap)
		}
		move := map[string]any{"resourceType": "Appointment", "id": id, "status": "booked", "start": "2026-11-25T10:00:00Z",
			"participant": ap["participant"]}
		h, moved := fhirMust(t, e, pt, 200, "PUT", "/fhir/R4/Appointment/"+id, move, "If-Match", `W/"1"`)
		if versionOf(moved) != "2" || moved["start"] != "2026-11-25T10:00:00Z" || h.Get("ETag") != `W/"2"` {
			t.Fatalf("moved %v %v", h, moved)
		}
		move["start"] = "2026-11-25T11:00:00Z"
		code, _, oo := fhirDo(t, e, pt, "PUT", "/fhir/R4/Appointment/"+id, move, "If-Match", `W/"1"`)
		if code != http.StatusPreconditionFailed || oo["resourceType"] != "OperationOutcome" {
			t.Fatalf("stale If-Match = %d %v, want 412", code, oo)
		}
		_, ap = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Appointment/"+id, nil)
		if ap["start"] != "2026-11-25T10:00:00Z" {
			t.Fatalf("a stale update moved the appointment: %v", ap)
		}

		// The front desk's day; the patient's own list.
		_, b = fhirMust(t, e, desk, 200, "GET", "/fhir/R4/Appointment?date=2026-11-25", nil)
		if es := entries(t, b); len(es) != 1 || es[0]["id"] != id {
			t.Fatalf("desk Appointment?date = %v", b)
		}
		_, b = fhirMust(t, e, desk, 200, "GET", "/fhir/R4/Appointment?date=2026-11-26", nil)
		if len(entries(t, b)) != 0 {
			t.Fatalf("desk Appointment?date=2026-11-26 = %v", b)
		}
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Appointment?patient=Patient/"+pid+"&status=booked&practitioner=Practitioner/"+drID, nil)
		if es := entries(t, b); len(es) != 1 {
			t.Fatalf("patient Appointment search = %v", b)
		}

		// Another patient: refused, and the refusal is in the trail.
		if code, _, oo := fhirDo(t, e, other, "GET", "/fhir/R4/Appointment/"+id, nil); code != http.StatusForbidden || oo["resourceType"] != "OperationOutcome" {
			t.Fatalf("another patient reads the appointment = %d %v, want 403", code, oo)
		}
		if last := e.LastAudit(); last[1] != "deny" || last[3] != pid {
			t.Fatalf("the refusal's entry = %v", last)
		}
		if code, _, _ := fhirDo(t, e, other, "GET", "/fhir/R4/Appointment?patient=Patient/"+pid, nil); code != http.StatusForbidden {
			t.Fatalf("another patient searches the appointments = %d, want 403", code)
		}

		cancel := map[string]any{"resourceType": "Appointment", "id": id, "status": "cancelled", "participant": ap["participant"]}
		_, done := fhirMust(t, e, pt, 200, "PUT", "/fhir/R4/Appointment/"+id, cancel, "If-Match", `W/"2"`)
		if done["status"] != "cancelled" || versionOf(done) != "3" {
			t.Fatalf("cancelled %v", done)
		}

		// A visit today, from booking to its end, is an Encounter.
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Slot?schedule=Schedule/"+drID+"&start=lt2026-11-25", nil)
		today := entries(t, b)
		if len(today) == 0 {
			t.Fatal("no slot left today")
		}
		book["slot"] = []any{map[string]string{"reference": "Slot/" + today[0]["id"].(string)}}
		_, visit := fhirMust(t, e, pt, 201, "POST", "/fhir/R4/Appointment", book)
		vid := visit["id"].(string)
		if start, _ := time.Parse(time.RFC3339, visit["start"].(string)); start.Sub(e.Clock.Now()) > 10*time.Minute {
			e.Clock.Advance(start.Sub(e.Clock.Now()) - 10*time.Minute)
		}
		_, enc := fhirMust(t, e, dr, 200, "GET", "/fhir/R4/Encounter/"+vid, nil)
		if enc["status"] != "planned" {
			t.Fatalf("booked visit's Encounter = %v", enc)
		}
		consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]
		pt.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent})
		pt.Must(200, "POST", "/api/v1/visits/"+vid+"/check-in", nil)
		dr.Must(200, "POST", "/api/v1/visits/"+vid+"/admit", nil)
		e.Clock.Advance(5 * time.Minute)
		dr.Must(200, "POST", "/api/v1/visits/"+vid+"/end", map[string]string{"summary": "synthetic: rest"})
		_, enc = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Encounter/"+vid, nil)
		class, _ := enc["class"].(map[string]any)
		period, _ := enc["period"].(map[string]any)
		if enc["status"] != "finished" || class["code"] != "VR" || period["start"] == nil || period["end"] == nil ||
			enc["subject"].(map[string]any)["reference"] != "Patient/"+pid {
			t.Fatalf("ended visit's Encounter = %v", enc)
		}
		_, b = fhirMust(t, e, dr, 200, "GET", "/fhir/R4/Encounter?subject=Patient/"+pid+"&status=finished", nil)
		if es := entries(t, b); len(es) != 1 || es[0]["id"] != vid {
			t.Fatalf("Encounter search = %v", b)
		}
		_, b = fhirMust(t, e, pt, 200, "GET", "/fhir/R4/Encounter", nil)
		if es := entries(t, b); len(es) != 2 { // the cancelled appointment, and the visit
			t.Fatalf("the patient's own Encounters = %v", b)
		}
		if code, _, _ := fhirDo(t, e, other, "GET", "/fhir/R4/Encounter/"+vid, nil); code != http.StatusForbidden {
			t.Fatalf("another patient reads the Encounter = %d, want 403", code)
		}
		fhirMust(t, e, desk, 400, "GET", "/fhir/R4/Encounter", nil)
	})
}

// TestAppointmentWritesAsFHIR: the front desk books for a patient it names; a move to a taken
// slot is a conflict (409), not a stale version (412); a version Haven never gave is stale; an
// appointment's patient cannot change; a status the visit owns cannot be set here; the
// slots of every schedule are found without naming one.
func TestAppointmentWritesAsFHIR(t *testing.T) {
	scheduleStores(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "fhir-writes@haven.test")
		_, pid := e.Patient(dr, servertest.PatientIn{Name: "Wes Write", BirthDate: "1972-01-02", Phone: "+1 555 0100 203", Email: "wes.write@example.test"})
		_, pid2 := e.Patient(dr, servertest.PatientIn{Name: "Vera Versa", BirthDate: "1973-01-02", Phone: "+1 555 0100 204", Email: "vera.versa@example.test"})
		desk, _ := e.Staff(admin, "fhir-desk2@haven.test", "frontdesk")
		dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", map[string]any{"timeZone": "UTC", "slotMinutes": 20,
			"weekly": []map[string]string{{"day": "wed", "start": "14:00", "end": "15:00"}}})

		_, b := fhirMust(t, e, desk, 200, "GET", "/fhir/R4/Slot?start=ge2026-11-25&start=lt2026-11-26", nil)
		if es := entries(t, b); len(es) != 3 || es[0]["start"] != "2026-11-25T14:00:00Z" {
			t.Fatalf("every schedule's slots = %v", b)
		}
		in := func(patient, start string) map[string]any {
			return map[string]any{"resourceType": "Appointment", "status": "booked", "start": start, "participant": []any{
				map[string]any{"actor": map[string]string{"reference": "Patient/" + patient}, "status": "accepted"},
				map[string]any{"actor": map[string]string{"reference": "Practitioner/" + drID}, "status": "accepted"}}}
		}
		_, a := fhirMust(t, e, desk, 201, "POST", "/fhir/R4/Appointment", in(pid, "2026-11-25T14:00:00Z"))
		fhirMust(t, e, desk, 201, "POST", "/fhir/R4/Appointment", in(pid2, "2026-11-25T14:20:00Z"))
		id := a["id"].(string)
		_, a = fhirMust(t, e, desk, 200, "GET", "/fhir/R4/Appointment/"+a["id"].(string), nil)
		if p := a["participant"].([]any)[0].(map[string]any)["actor"].(map[string]any); p["reference"] != "Patient/"+pid || p["display"] != "Wes Write" {
			t.Fatalf("booked for %v", p)
		}
		for _, tc := range []struct {
			name    string
			body    map[string]any
			ifMatch string
			want    int
		}{
			{"to a taken slot", in(pid, "2026-11-25T14:20:00Z"), `W/"1"`, http.StatusConflict},
			{"a version never given", in(pid, "2026-11-25T14:40:00Z"), `W/"abc"`, http.StatusPreconditionFailed},
			{"a version to come", in(pid, "2026-11-25T14:40:00Z"), `W/"9"`, http.StatusPreconditionFailed},
			{"another patient", in(pid2, "2026-11-25T14:00:00Z"), `W/"1"`, http.StatusBadRequest},
			{"a status of the visit", map[string]any{"resourceType": "Appointment", "status": "fulfilled"}, `W/"1"`, http.StatusBadRequest},
			{"null", nil, `W/"1"`, http.StatusBadRequest},
		} {
			code, _, oo := fhirDo(t, e, desk, "PUT", "/fhir/R4/Appointment/"+id, tc.body, "If-Match", tc.ifMatch)
			if code != tc.want || oo["resourceType"] != "OperationOutcome" {
				t.Errorf("%s: PUT = %d %v, want %d", tc.name, code, oo, tc.want)
			}
		}
		// Nothing above changed it; an update without If-Match applies to the current version.
		_, a = fhirMust(t, e, desk, 200, "PUT", "/fhir/R4/Appointment/"+id, in(pid, "2026-11-25T14:40:00Z"))
		if versionOf(a) != "2" || a["start"] != "2026-11-25T14:40:00Z" {
			t.Fatalf("moved without If-Match: %v", a)
		}
		// The clinician's schedule, by practitioner and by actor.
		_, b = fhirMust(t, e, dr, 200, "GET", "/fhir/R4/Appointment?actor=Practitioner/"+drID+"&date=ge2026-11-25&date=lt2026-11-26", nil)
		if es := entries(t, b); len(es) != 2 {
			t.Fatalf("the clinician's day = %v", b)
		}
		_, b = fhirMust(t, e, dr, 200, "GET", "/fhir/R4/Appointment?actor=Patient/"+pid2, nil)
		if es := entries(t, b); len(es) != 1 {
			t.Fatalf("by patient actor = %v", b)
		}
		fhirMust(t, e, dr, 400, "GET", "/fhir/R4/Appointment?actor=Location/x", nil)
		fhirMust(t, e, dr, 400, "GET", "/fhir/R4/Appointment?room=1", nil)
	})
}

// TestScheduleCapability: the CapabilityStatement lists the schedule's types with what each
// supports: Appointment is created and updated with versions; Slot is searched by start.
func TestScheduleCapability(t *testing.T) {
	e := servertest.New(t, "")
	_, m := fhirMust(t, e, e.Client(), 200, "GET", "/fhir/R4/metadata", nil)
	types := map[string]map[string]any{}
	for _, r := range m["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		r := r.(map[string]any)
		types[r["type"].(string)] = r
	}
	has := func(typ, field, key, want string) bool {
		l, _ := types[typ][field].([]any)
		for _, x := range l {
			if x.(map[string]any)[key] == want {
				return true
			}
		}
		return false
	}
	for _, typ := range []string{"Practitioner", "PractitionerRole", "Schedule", "Slot", "Appointment", "Encounter"} {
		if !has(typ, "interaction", "code", "read") || !has(typ, "interaction", "code", "search-type") {
			t.Errorf("%s: %v, want read and search-type", typ, types[typ])
		}
	}
	if !has("Appointment", "interaction", "code", "create") || !has("Appointment", "interaction", "code", "update") || types["Appointment"]["versioning"] != "versioned-update" {
		t.Errorf("Appointment: %v, want create and versioned update", types["Appointment"])
	}
	if !has("Slot", "searchParam", "name", "start") || !has("Encounter", "searchParam", "name", "subject") || has("Slot", "interaction", "code", "create") {
		t.Errorf("Slot %v, Encounter %v", types["Slot"], types["Encounter"])
	}
}
