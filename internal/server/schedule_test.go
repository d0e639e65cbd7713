package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// everyDay09to13 is 09:00–13:00 every day in zone, slots of minutes.
func everyDay09to13(zone string, minutes int) map[string]any {
	var weekly []map[string]string
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		weekly = append(weekly, map[string]string{"day": d, "start": "09:00", "end": "13:00"})
	}
	return map[string]any{"timeZone": zone, "slotMinutes": minutes, "weekly": weekly}
}

func slotsOf(t *testing.T, c *servertest.Client, clinicianID string, from, to time.Time) []string {
	t.Helper()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	m := c.Must(200, "GET", "/api/v1/clinicians/"+clinicianID+"/slots?"+q.Encode(), nil)
	var out []string
	for _, s := range m["slots"].([]any) {
		out = append(out, s.(map[string]any)["start"].(string))
	}
	return out
}

// TestSlotsAcrossDaylightSavingOverHTTP: hours of 09:00–13:00 in Madrid are 09:00 local on both
// sides of the 2027 changes, so the instants move by an hour; a patient asking from New York
// (other offsets, other change dates) gets the same instants; the front desk books the first
// slot after the change, beyond the patients' horizon.
func TestSlotsAcrossDaylightSavingOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "dr-dst@haven.test")
		pt, pid := e.Patient(dr, servertest.PatientIn{Name: "Dora Daylight", BirthDate: "1985-03-28", Phone: "+34 611 000 001", Email: "dora@example.test"})
		desk, _ := e.Staff(admin, "desk-dst@haven.test", "frontdesk")
		dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", everyDay09to13("Europe/Madrid", 60))
		madrid, _ := time.LoadLocation("Europe/Madrid")
		newYork, _ := time.LoadLocation("America/New_York")
		for _, tc := range []struct {
			name          string
			before, after string // the first slot of the day before and after the change
			from          time.Time
		}{
			{"March", "2027-03-27T08:00:00Z", "2027-03-29T07:00:00Z", time.Date(2027, 3, 27, 0, 0, 0, 0, madrid)},
			{"October", "2027-10-30T07:00:00Z", "2027-11-01T08:00:00Z", time.Date(2027, 10, 30, 0, 0, 0, 0, madrid)},
		} {
			to := tc.from.AddDate(0, 0, 3)
			got := slotsOf(t, pt, drID, tc.from, to)
			if len(got) != 12 || got[0] != tc.before || got[8] != tc.after {
				t.Fatalf("%s: slots %v; want 12 (4 a day), first %s, first after the change %s", tc.name, got, tc.before, tc.after)
			}
			for _, s := range got {
				at, _ := time.Parse(time.RFC3339, s)
				if h := at.In(madrid).Hour(); h < 9 || h > 12 || at.In(madrid).Minute() != 0 {
					t.Errorf("%s: slot %s is %s in Madrid", tc.name, s, at.In(madrid).Format("15:04"))
				}
			}
			fromNY := slotsOf(t, pt, drID, tc.from.In(newYork), to.In(newYork))
			if strings.Join(fromNY, " ") != strings.Join(got, " ") {
				t.Fatalf("%s: from New York %v, from Madrid %v", tc.name, fromNY, got)
			}
		}
		// The first slot after the March change, named in local time: on the grid.
		ap := desk.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "patientId": pid, "start": "2027-03-29T09:00:00+02:00"})
		if ap["start"] != "2027-03-29T07:00:00Z" || ap["state"] != "booked" || ap["kind"] != "scheduled" {
			t.Fatalf("booking = %v", ap)
		}
		// A patient may not book that far ahead; the answer says how far they may.
		code, m, _ := pt.Do("POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": "2027-03-30T09:00:00+02:00"})
		if code != http.StatusUnprocessableEntity || !strings.Contains(m["error"].(string), "90 days") {
			t.Fatalf("a patient past the horizon = %d %v", code, m)
		}
		// A window over 31 days, or unreadable: what to send instead.
		code, m, _ = pt.Do("GET", "/api/v1/clinicians/"+drID+"/slots?from=2027-01-01T00:00:00Z&to=2027-02-02T00:00:00Z", nil)
		if code != http.StatusUnprocessableEntity || !strings.HasPrefix(m["error"].(string), "to:") {
			t.Fatalf("a 32-day window = %d %v", code, m)
		}
		if code, _, _ = pt.Do("GET", "/api/v1/clinicians/"+drID+"/slots?from=tomorrow&to=2027-02-02T00:00:00Z", nil); code != http.StatusBadRequest {
			t.Fatalf("an unreadable from = %d", code)
		}
		// An unescaped "+" in the offset arrives as a space and is still read.
		if code, _, raw := pt.Do("GET", "/api/v1/clinicians/"+drID+"/slots?from=2027-01-04T00:00:00+01:00&to=2027-01-05T00:00:00+01:00", nil); code != http.StatusOK {
			t.Fatalf("an unescaped offset = %d %s", code, raw)
		}
	})
}

// TestBookingRaceOverHTTP: 50 patients ask for the same slot at once, on both databases.
// Exactly one is booked (201); the 49 others are told it was just taken (409); one
// appointment row exists; every attempt has its appointment.book entry.
func TestBookingRaceOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "dr-race@haven.test")
		dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", everyDay09to13("UTC", 30))
		const n = 50
		patients := make([]*servertest.Client, n)
		for i := range patients {
			patients[i], _ = e.Patient(dr, servertest.PatientIn{Name: fmt.Sprintf("Racer %02d", i), BirthDate: "1990-01-01",
				Phone: fmt.Sprintf("+1 555 0177 %03d", i), Email: fmt.Sprintf("racer%02d@example.test", i)})
		}
		start := e.Clock.Now().Truncate(24 * time.Hour).Add(2*24*time.Hour + 10*time.Hour).Format(time.RFC3339)
		books := func() int {
			k := 0
			for _, r := range e.AuditRows() {
				if r[0] == "appointment.book" {
					k++
				}
			}
			return k
		}
		before := books()
		codes := make([]int, n)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, p := range patients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				codes[i], _, _ = p.Do("POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": start})
			}()
		}
		close(gate)
		wg.Wait()
		count := map[int]int{}
		for _, c := range codes {
			count[c]++
		}
		var rows int
		if err := e.Srv.DB().QueryRow(`SELECT COUNT(*) FROM appointments`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 || rows != 1 {
			var failures []string
			for _, line := range strings.Split(string(e.Log.Bytes()), "\n") {
				if strings.Contains(line, `"status":500`) || strings.Contains(line, `"level":"ERROR"`) {
					failures = append(failures, line)
				}
			}
			t.Fatalf("answers %v and %d rows; want one 201, %d 409 and one row; server errors:\n%s", count, rows, n-1, strings.Join(failures[:min(len(failures), 5)], "\n"))
		}
		if got := books() - before; got != n {
			t.Fatalf("%d appointment.book entries, want %d: every attempt is recorded", got, n)
		}
	})
}

// TestCancelAndRescheduleOverHTTP: inside the cut-off a patient is told to call the clinic and
// the front desk cancels; moving to a taken slot answers 409 and keeps the booking; a no-show
// waits for the start.
func TestCancelAndRescheduleOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "dr-cancel@haven.test")
		desk, _ := e.Staff(admin, "desk-cancel@haven.test", "frontdesk")
		dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", everyDay09to13("UTC", 30))
		pt, pid := e.Patient(dr, servertest.PatientIn{Name: "Cleo Cutoff", BirthDate: "1979-09-09", Phone: "+1 555 0166 001", Email: "cleo@example.test"})
		other, _ := e.Patient(dr, servertest.PatientIn{Name: "Omar Other", BirthDate: "1978-08-08", Phone: "+1 555 0166 002", Email: "omar@example.test"})
		today := e.Clock.Now().Truncate(24 * time.Hour) // the clock starts at 09:00 UTC
		at := func(days int, hhmm string) string {
			d, _ := time.Parse("15:04", hhmm)
			return today.AddDate(0, 0, days).Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute).Format(time.RFC3339)
		}

		soon := pt.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": at(0, "10:00")})["appointmentId"].(string)
		code, m, _ := pt.Do("DELETE", "/api/v1/appointments/"+soon, nil)
		if code != http.StatusForbidden || !strings.Contains(m["error"].(string), "call the clinic") {
			t.Fatalf("cancelling an hour before = %d %v", code, m)
		}
		if code, _, _ := pt.Do("PUT", "/api/v1/appointments/"+soon, map[string]string{"start": at(1, "10:00")}); code != http.StatusForbidden {
			t.Fatalf("moving an hour before = %d", code)
		}
		if code, _, _ := desk.Do("POST", "/api/v1/appointments/"+soon+"/no-show", nil); code != http.StatusConflict {
			t.Fatalf("a no-show before the start = %d", code)
		}
		desk.Must(200, "DELETE", "/api/v1/appointments/"+soon, nil)

		mine := pt.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": at(1, "09:00")})["appointmentId"].(string)
		other.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": at(1, "09:30")})
		if code, m, _ := pt.Do("PUT", "/api/v1/appointments/"+mine, map[string]string{"start": at(1, "09:30")}); code != http.StatusConflict ||
			!strings.Contains(m["error"].(string), "choose another time") {
			t.Fatalf("moving to a taken slot = %d %v", code, m)
		}
		q := "?" + url.Values{"from": {at(1, "00:00")}, "to": {at(2, "00:00")}}.Encode()
		list := pt.List(200, "GET", "/api/v1/appointments"+q, nil)
		if len(list) != 1 || list[0].(map[string]any)["start"] != at(1, "09:00") || list[0].(map[string]any)["clinicianName"] == "" {
			t.Fatalf("after the refused move: %v", list)
		}
		moved := pt.Must(200, "PUT", "/api/v1/appointments/"+mine, map[string]string{"start": at(1, "11:00")})
		if moved["appointmentId"] != mine || moved["start"] != at(1, "11:00") {
			t.Fatalf("moved = %v", moved)
		}
		// The front desk's schedule names the patients; an unknown appointment is not found.
		for _, a := range desk.List(200, "GET", "/api/v1/appointments"+q, nil) {
			if a := a.(map[string]any); a["patientName"] == "" || (a["patientId"] == pid && a["patientName"] != "Cleo Cutoff") {
				t.Fatalf("front desk sees %v", a)
			}
		}
		if code, _, _ := pt.Do("DELETE", "/api/v1/appointments/no-such-appointment", nil); code != http.StatusNotFound {
			t.Fatalf("an unknown appointment = %d", code)
		}
		if code, _, _ := other.Do("DELETE", "/api/v1/appointments/"+mine, nil); code != http.StatusForbidden {
			t.Fatalf("another patient's appointment = %d", code)
		}
	})
}

// TestAppointmentRelationshipOverHTTP: a clinician outside the care team, booked by the front
// desk, opens the record with reason appointment; after the cancellation they are refused;
// booked again, they are refused once the window after the visit has ended. The front desk
// books, sees the demographics, and never the notes.
func TestAppointmentRelationshipOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		drA, _ := e.Clinician(admin, "dr-team@haven.test")
		drB, drBID := e.Clinician(admin, "dr-booked@haven.test")
		desk, _ := e.Staff(admin, "desk-rel@haven.test", "frontdesk")
		_, pid := e.Patient(drA, servertest.PatientIn{Name: "Rhea Relation", BirthDate: "1988-08-18", Phone: "+1 555 0155 001", Email: "rhea@example.test"})
		drA.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "synthetic note the front desk never reads"})
		desk.Must(200, "PUT", "/api/v1/clinicians/"+drBID+"/availability", everyDay09to13("UTC", 30))
		tomorrow := e.Clock.Now().Truncate(24 * time.Hour).Add(24*time.Hour + 9*time.Hour)
		lastReason := func() string {
			var reason string
			e.Srv.DB().QueryRow(`SELECT reason FROM audit_entries WHERE action = 'record.read' AND patient_id = $1 ORDER BY seq DESC LIMIT 1`, pid).Scan(&reason)
			return reason
		}

		if code, _, _ := drB.Do("GET", "/api/v1/patients/"+pid, nil); code != http.StatusForbidden {
			t.Fatalf("before any booking = %d", code)
		}
		ap := desk.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drBID, "patientId": pid, "start": tomorrow.Format(time.RFC3339)})
		drB.Must(200, "GET", "/api/v1/patients/"+pid, nil)
		if r := lastReason(); r != "appointment" {
			t.Fatalf("the booked clinician's read was recorded with reason %q, want appointment", r)
		}
		desk.Must(200, "DELETE", "/api/v1/appointments/"+ap["appointmentId"].(string), nil)
		if code, _, _ := drB.Do("GET", "/api/v1/patients/"+pid, nil); code != http.StatusForbidden {
			t.Fatalf("after the cancellation = %d", code)
		}
		desk.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drBID, "patientId": pid, "start": tomorrow.Add(30 * time.Minute).Format(time.RFC3339)})
		drB.Must(200, "GET", "/api/v1/patients/"+pid, nil)
		e.Clock.Advance(32 * 24 * time.Hour) // past the visit and the 30 care days after it
		drB.Login()
		if code, _, _ := drB.Do("GET", "/api/v1/patients/"+pid, nil); code != http.StatusForbidden {
			t.Fatalf("after the window = %d", code)
		}
		if r := lastReason(); r != "not-in-care-team" {
			t.Fatalf("the refusal after the window was recorded with reason %q", r)
		}

		desk.Login()
		demo := desk.Must(200, "GET", "/api/v1/patients/"+pid+"/demographics", nil)
		if demo["name"] != "Rhea Relation" || demo["email"] != "rhea@example.test" {
			t.Fatalf("demographics = %v", demo)
		}
		if code, _, raw := desk.Do("GET", "/api/v1/patients/"+pid, nil); code != http.StatusForbidden || strings.Contains(string(raw), "synthetic note") {
			t.Fatalf("the front desk opens the record = %d %s", code, raw)
		}
		if code, _, _ := desk.Do("POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "a note"}); code != http.StatusForbidden {
			t.Fatalf("the front desk writes a note = %d", code)
		}
		if l := desk.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": "rhea"}); len(l) != 1 {
			t.Fatalf("the front desk's search = %v", l)
		}
		reg := desk.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Nell New", "birthDate": "2000-01-01", "phone": "+1 555 0155 002", "email": "nell@example.test"})
		if reg["patientId"] == "" {
			t.Fatalf("the front desk's registration = %v", reg)
		}
	})
}
