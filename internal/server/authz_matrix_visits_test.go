package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/server/servertest"
)

// The visit part of the authorization matrix: consent, a visit's page and its live events,
// check-in, intake, the waiting room, letting the patient in and ending the visit, the
// on-demand queue and guests, by every role; and, in a block of its own, a guest's session
// asking for every rule of the policy.

// Relationships of the visit cells, besides those of the patient (relations above).
const (
	// The patient is in the clinician's care (registered by them), the visit a colleague's: the
	// clinician may read it, but letting the patient in and ending it are its own clinician's.
	relColleagueVisit = "in-care-colleague-visit"
	// A guest's relationships: the visit they were invited to, another visit of the same patient.
	relInvitedVisit = "invited-visit"
	relAnotherVisit = "another-visit"
)

// Where a visit cell's visit stands when the cell's request is sent.
const (
	visitBooked     = ""            // booked, days ahead
	visitSoon       = "soon"        // booked, starting within the check-in window
	visitIntake     = "intake"      // booked, days ahead, its patient has answered the intake
	visitAgreed     = "agreed"      // booked, days ahead, its patient has agreed to guests
	visitWaiting    = "waiting"     // its patient accepted the consent and checked in
	visitInProgress = "in-progress" // and its clinician let them in
)

// visitWorld adds what the visit cells need: patients who can act on their own visits (the
// in-care-team and appointment patients, signed in; the own patient is the patient role), the
// other clinician's session, and the patient of each visit relationship.
func visitWorld(w *matrixWorld, drB *servertest.Client) {
	w.drB = drB
	for _, rel := range []string{relColleagueVisit, relInvitedVisit, relAnotherVisit} {
		w.patient[rel] = w.patient[relOwn]
	}
}

// visitParties are the patient and the clinician of a visit booked for the relation, with the
// sessions that can move it (nil: that patient never signs in; their visits stay booked).
func (w *matrixWorld) visitParties(rel string) (patientID, clinicianID string, patient, clinician *servertest.Client) {
	dr, drB := w.clients["clinician"], w.drB
	switch rel {
	case relTeam, relAppt:
		return w.patient[rel], w.account["clinician"], w.patients[rel], dr
	case relColleagueVisit:
		return w.patient[relOwn], w.ids["drB"], w.clients["patient"], drB
	case relAnother, relOutside:
		return w.patient[relOutside], w.ids["drB"], nil, drB
	case relRemoved:
		return w.patient[relRemoved], w.ids["drB"], w.removed, drB
	}
	// self, own-patient, no-relation (the staff's cells), and the guest's visits.
	return w.patient[relOwn], w.account["clinician"], w.clients["patient"], dr
}

// visitFor books, through the front desk, a visit for the relation and moves it, through the
// API, to state (visitBooked…visitInProgress). The appointment-cancelled relation's visit is
// the booking cancelled earlier (cancelled here if no cell has done it yet). A visit that must
// be checked in into starts a few minutes from now: if earlier cells took the next starts, the
// clock moves to 10 minutes before it (check-in opens 15 minutes before), never further.
func (w *matrixWorld) visitFor(t *testing.T, rel, state string) string {
	t.Helper()
	if rel == relApptCancelled {
		if w.appt["cancelled"] == "" {
			cancelTheAppointment(t, w)
		}
		return w.appt["cancelled"]
	}
	patientID, clinicianID, patient, clinician := w.visitParties(rel)
	switch state {
	case visitBooked, visitIntake, visitAgreed:
		id := w.book(t, clinicianID, patientID, w.slot())
		switch {
		case patient == nil:
		case state == visitIntake:
			patient.Must(200, "PUT", "/api/v1/visits/"+id+"/intake", map[string]string{"reason": "a cough for the authorization matrix"})
		case state == visitAgreed:
			patient.Must(200, "POST", "/api/v1/visits/"+id+"/guests-allowed", nil)
		}
		return id
	}
	at := w.soon()
	if ahead := at.Sub(w.e.Clock.Now()) - 10*time.Minute; ahead > 0 {
		w.e.Clock.Advance(ahead)
	}
	id := w.book(t, clinicianID, patientID, at.UTC().Format(time.RFC3339))
	if state == visitSoon {
		return id
	}
	if patient == nil {
		t.Fatalf("the %s patient has no session to check in with", rel)
	}
	version := patient.Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]
	patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": version})
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/check-in", nil)
	if state == visitInProgress {
		clinician.Must(200, "POST", "/api/v1/visits/"+id+"/admit", nil)
	}
	return id
}

// makeGuest gives the world a guest: a visit of the own patient with the other clinician a
// few minutes from now (the link and the session last until its end and the grace after it;
// the matrix clinician is busy for half an hour with the visit they took from the queue), the
// patient agrees, the clinician invites, and the guest redeems the link; and another visit of
// the same patient. Once made, the guest stays: their cells run in one block, before any cell
// moves the clock past the visit.
func (w *matrixWorld) makeGuest(t *testing.T) {
	t.Helper()
	if w.clients["guest"] != nil {
		return
	}
	id := w.visitFor(t, relColleagueVisit, visitSoon)
	w.appt["guest-other"] = w.visitFor(t, relOwn, visitBooked)
	w.clients["patient"].Must(200, "POST", "/api/v1/visits/"+id+"/guests-allowed", nil)
	link := w.drB.Must(201, "POST", "/api/v1/visits/"+id+"/guests", map[string]string{"name": "Gwen Guest", "relation": "family"})
	g := w.e.Client()
	if m := g.Must(200, "POST", "/api/v1/guest-links/redeem", map[string]string{"token": guestToken(t, link)}); m["visitId"] != id {
		t.Fatalf("the guest link redeemed to %v, want visit %s", m, id)
	}
	var acct string
	if err := w.e.Srv.DB().QueryRow(`SELECT account_id FROM visit_guests WHERE appointment_id = $1`, id).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	w.appt["guest"] = id
	w.clients["guest"], w.account["guest"] = g, acct
}

// visitCells are the visit actions by every role, in the order of the policy table.
func visitCells(everyone []roleRel) []cell {
	var cs []cell
	add := func(action access.Action, method, path string, rrs []roleRel, mod func(*cell)) {
		for _, rr := range rrs {
			c := cell{role: rr.role, relation: rr.relation, action: action, method: method, path: path}
			if mod != nil {
				mod(&c)
			}
			cs = append(cs, c)
		}
	}
	// The patient's own acts: the patient on themselves; staff have no record to act on.
	ownActs := []roleRel{{"patient", relSelf}, {"clinician", relSelf}, {"frontdesk", relSelf}, {"auditor", relSelf}, {"admin", relSelf}}
	ownAct := func(c *cell) {
		if c.role == "patient" {
			c.patient = namesPatient
		}
	}
	// Acts on a visit booked just before the cell: the patient's own or another's; a clinician
	// caring for the patient (and the visit theirs), a colleague of the visit's clinician who
	// cares for the patient, by an appointment live or cancelled, or not caring; the rest.
	onVisit := []roleRel{{"patient", relSelf}, {"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relTeam}, {"clinician", relColleagueVisit}, {"clinician", relAppt},
		{"clinician", relApptCancelled}, {"clinician", relOutside}, {"clinician", relRemoved},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	// visit: the cell acts on a visit of its relation, prepared in state (by relation; default
	// booked days ahead) just before.
	visit := func(states map[string]string) func(*cell) {
		return func(c *cell) {
			c.patient = namesPatient
			key, rel := c.role+" "+c.relation, c.relation
			c.prepare = func(t *testing.T, w *matrixWorld) { w.appt["cell"] = w.visitFor(t, rel, states[key]) }
			c.arg = func(w *matrixWorld) string { return w.appt["cell"] }
		}
	}
	// The acts only a clinician caring for the patient may do, on a visit they could do them to.
	running := func(state string) map[string]string {
		return map[string]string{"clinician " + relOwn: state, "clinician " + relTeam: state,
			"clinician " + relColleagueVisit: state, "clinician " + relAppt: state}
	}

	add(access.AcceptConsent, "POST", "/me/consent/telehealth", ownActs, func(c *cell) {
		ownAct(c)
		c.body = func(w *matrixWorld) any {
			return map[string]any{"version": w.clients["patient"].Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]}
		}
	})
	add(access.ReadConsent, "GET", "/me/consent/telehealth", ownActs, ownAct)

	add(access.ReadVisit, "GET", "/visits/{id}", onVisit, visit(nil))
	// A nurse caring for the patient and billing: a visit's page is not theirs to open.
	nurseAndBilling := []roleRel{{"nurse", relTeam}, {"billing", relNone}}
	add(access.ReadVisit, "GET", "/visits/{id}", nurseAndBilling, visit(nil))
	// The live page: allowed, it records nothing (its events carry no PHI; the page then asks
	// for the visit again, which is recorded); refused, it is recorded as the page's refusal.
	add(access.ReadVisit, "GET", "/visits/{id}/events", []roleRel{{"patient", relSelf}, {"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relOutside}, {"frontdesk", relNone}}, func(c *cell) {
		visit(nil)(c)
		c.variant, c.stream = "live", true
	})
	add(access.CheckIn, "POST", "/visits/{id}/check-in", onVisit, visit(map[string]string{"patient " + relSelf: visitSoon}))
	add(access.WriteIntake, "PUT", "/visits/{id}/intake", onVisit, func(c *cell) {
		visit(nil)(c)
		c.body = func(*matrixWorld) any { return map[string]string{"reason": "a cough for the authorization matrix"} }
	})
	answered := running(visitIntake)
	answered["patient "+relSelf] = visitIntake
	add(access.ReadIntake, "GET", "/visits/{id}/intake", onVisit, visit(answered))
	add(access.ReadIntake, "GET", "/visits/{id}/intake", nurseAndBilling, visit(nil))

	// The waiting room: the own patient waits for the matrix clinician.
	add(access.ReadWaitingRoom, "GET", "/waiting-room", everyone, func(c *cell) {
		c.patient = namesPatientOrNoOne
		if c.role == "patient" {
			c.prepare = func(t *testing.T, w *matrixWorld) { w.visitFor(t, relOwn, visitWaiting) }
		}
	})
	add(access.ReadWaitingRoom, "GET", "/waiting-room/events", everyone, func(c *cell) { c.variant, c.stream = "live", true })

	add(access.AdmitPatient, "POST", "/visits/{id}/admit", onVisit, visit(running(visitWaiting)))
	add(access.EndVisit, "POST", "/visits/{id}/end", onVisit, func(c *cell) {
		visit(running(visitInProgress))(c)
		c.body = func(*matrixWorld) any { return map[string]string{"summary": "Authorization matrix visit summary."} }
	})

	// The on-demand queue: the own patient joins, asks their place, leaves, joins again to be
	// listed, and the matrix clinician takes them.
	queued := func(t *testing.T, w *matrixWorld) { w.clients["patient"].Must(200, "POST", "/api/v1/queue", nil) }
	add(access.JoinQueue, "POST", "/queue", ownActs, ownAct)
	// One's own place: decided as joining, it records only a refusal (it tells no one else
	// anything).
	add(access.JoinQueue, "GET", "/me/queue", ownActs, func(c *cell) {
		ownAct(c)
		c.variant, c.onlyRefusals = "place", true
	})
	add(access.LeaveQueue, "DELETE", "/queue", ownActs, ownAct)
	add(access.ReadQueue, "GET", "/queue", everyone, func(c *cell) {
		c.patient = namesPatientOrNoOne
		if c.role == "patient" {
			c.prepare = queued
		}
	})
	add(access.TakeFromQueue, "POST", "/queue/take", everyone, func(c *cell) {
		c.patient = namesPatientOrNoOne
		if c.role == "clinician" {
			c.prepare = queued
		}
	})

	add(access.AllowGuests, "POST", "/visits/{id}/guests-allowed", onVisit, visit(nil))
	// The in-care-team patient has not agreed to guests: the invitation is refused.
	agreed := running(visitAgreed)
	delete(agreed, "clinician "+relTeam)
	add(access.InviteGuest, "POST", "/visits/{id}/guests", onVisit, func(c *cell) {
		visit(agreed)(c)
		c.body = func(*matrixWorld) any {
			return map[string]string{"name": "Ines Interpreter", "relation": "interpreter"}
		}
	})
	return cs
}

// guestCells are a guest's session asking for every rule of the policy, in the order of the
// policy table: their visit's page and live events (allowed), those of another visit of the
// same patient (refused by the door), and for every other rule the request of the rule's first
// cell, refused by the route (only a visit's page is open to a guest) with nothing recorded.
// They run in one block because a guest's link and session last only until their visit's end
// and a grace after it, while the matrix moves the clock by hours (step-ups, started
// appointments); the first makes the guest, a few minutes before the visit.
func guestCells(cs []cell) []cell {
	makeGuest := func(t *testing.T, w *matrixWorld) { w.makeGuest(t) }
	onGuestVisit := func(key string) func(*matrixWorld) string {
		return func(w *matrixWorld) string { return w.appt[key] }
	}
	var out []cell
	for _, rule := range access.Rules() {
		if _, ok := rule.Grants[access.System]; ok && len(rule.Grants) == 1 {
			continue // Haven's own acts: no one asks for them over the API
		}
		switch rule.Action {
		case access.JoinConsult:
			out = append(out, guestConsultCells(makeGuest)...)
			continue
		case access.SendMessage, access.ReadMessages:
			continue // in guestConsultCells, beside joining the call
		}
		if rule.Action == access.ReadVisit {
			for _, stream := range []bool{false, true} {
				path, variant := "/visits/{id}", ""
				if stream {
					path, variant = "/visits/{id}/events", "live"
				}
				for _, v := range []struct{ rel, key string }{{relInvitedVisit, "guest"}, {relAnotherVisit, "guest-other"}} {
					out = append(out, cell{role: "guest", relation: v.rel, action: rule.Action, method: "GET", path: path, variant: variant,
						stream: stream, patient: namesPatient, prepare: makeGuest, arg: onGuestVisit(v.key)})
				}
			}
			continue
		}
		i := -1
		for j, c := range cs {
			if c.action == rule.Action && c.role != "system" && c.integration == "" {
				i = j
				break
			}
		}
		if i < 0 {
			continue // the coverage check reports a rule with no cell
		}
		c := cs[i]
		c.role, c.relation, c.factor, c.patient, c.refusedAs = "guest", relNone, "", anyPatient, ""
		c.prepare, c.check = makeGuest, nil
		if strings.HasPrefix(c.path, "/visits/{id}") {
			c.relation, c.arg = relInvitedVisit, onGuestVisit("guest")
		}
		if c.action == access.RemoveDevice {
			// The guest removes a device of their own.
			c.prepare = func(t *testing.T, w *matrixWorld) {
				makeGuest(t, w)
				w.ids["removable guest"] = w.clients["guest"].Must(201, "POST", "/api/v1/me/devices", newDeviceBody("removable"))["deviceId"].(string)
			}
			c.arg = func(w *matrixWorld) string { return w.ids["removable guest"] }
		}
		out = append(out, c)
	}
	return out
}

// endedVisitCells run after the care window of the appointment-ended patient's visit has
// passed: its clinician can no longer open it, read its answers or start it.
func endedVisitCells() []cell {
	var out []cell
	for _, a := range []struct {
		action       access.Action
		method, path string
	}{{access.ReadVisit, "GET", "/visits/{id}"}, {access.ReadIntake, "GET", "/visits/{id}/intake"}, {access.AdmitPatient, "POST", "/visits/{id}/admit"}} {
		out = append(out, cell{role: "clinician", relation: relApptEnded, action: a.action, method: a.method, path: a.path, patient: namesPatient,
			arg: func(w *matrixWorld) string { return w.appt[relApptEnded] }})
	}
	return out
}

// guestRefusedByRoute reports an answer of a route that is not open to guests.
func guestRefusedByRoute(status int, msg string) bool {
	return status == http.StatusForbidden && strings.HasPrefix(msg, "a guest link opens only the visit it was made for")
}
