package server_test

import (
	"flag"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"haven/internal/access"
	"haven/internal/server/servertest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata from the observed results")

// matrixGolden is the authorization matrix a privacy officer reads: one line per cell.
const matrixGolden = "testdata/authz_matrix.txt"

// TestAuthorizationMatrix exercises every role × action × relationship over HTTP against a
// running server, on SQLite and PostgreSQL, and compares what it observes (the door's decision,
// the HTTP status, the audit entry's outcome and reason) with testdata/authz_matrix.txt. Every
// rule of the policy must appear there, for every role, so a new action extends the matrix.
// With -update the file is rewritten from the observations; review its diff like a policy change.
func TestAuthorizationMatrix(t *testing.T) {
	cells := matrixCells()
	var want []matrixRow
	if !*updateGolden {
		want = readMatrix(t, matrixGolden)
		checkMatrixCoverage(t, want)
	}
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		w := newMatrixWorld(t, e)
		got := make([]matrixRow, 0, len(cells))
		for _, c := range cells {
			t.Run(c.name(), func(t *testing.T) { got = append(got, w.run(t, c)) })
		}
		if len(got) < len(cells) {
			// -run picked some cells: their invariants are checked, the whole file is not.
			t.Logf("%d of %d cells ran; %s is compared only when all run", len(got), len(cells), matrixGolden)
			return
		}
		if *updateGolden && want == nil {
			// The first store writes the file; the second must agree with it.
			checkMatrixCoverage(t, got)
			writeMatrix(t, matrixGolden, got)
			want = got
			return
		}
		// Whole lines, compared as opaque strings, so that a changed cell shows in full.
		if diff := cmp.Diff(matrixLines(want), matrixLines(got), cmp.Comparer(func(a, b string) bool { return a == b })); diff != "" {
			t.Errorf("authorization matrix differs from %s (-want +got):\n%s\nIf the change is intended: go test -run TestAuthorizationMatrix ./internal/server -update, and review the diff.", matrixGolden, diff)
		}
	})
}

// checkMatrixCoverage fails unless every rule of the policy has a line for each role that can
// ask for it over the API (Haven's own rules: a line for Haven itself). A guest's session can
// ask for any of them too (and is refused all but a visit's page), so the guest has a line for
// every rule as well. The nurse and billing have a line for every rule that grants either of
// them something, and for every act on clinical content (clinicalContent): what billing must
// be refused (minimum necessary) and what a nurse may not do (sign, prescribe) shows there.
func checkMatrixCoverage(t *testing.T, rows []matrixRow) {
	t.Helper()
	has := map[[2]string]bool{}
	for _, r := range rows {
		has[[2]string{r.Role, r.Action}] = true
	}
	for _, rule := range access.Rules() {
		if _, ok := noAPIRules[rule.Action]; ok {
			continue
		}
		roles := []string{"patient", "clinician", "frontdesk", "auditor", "admin", "guest"}
		if rule.Grants[access.Nurse] != "" || rule.Grants[access.Billing] != "" || clinicalContent[rule.Action] {
			roles = append(roles, "nurse", "billing")
		}
		if rule.Grants[access.Integration] != "" {
			roles = append(roles, "integration")
		}
		if _, ok := rule.Grants[access.System]; ok && len(rule.Grants) == 1 {
			roles = []string{"system"}
		}
		for _, role := range roles {
			if !has[[2]string{role, string(rule.Action)}] {
				t.Errorf("%s: no line for %s %s; add its cells to matrixCells", matrixGolden, role, rule.Action)
			}
		}
	}
}

// clinicalContent are the acts on the record's clinical content beyond those granted to the
// nurse or billing: each has a nurse's and a billing line.
var clinicalContent = map[access.Action]bool{
	access.WriteNote: true, access.WriteCondition: true, access.SignNote: true, access.AddAddendum: true,
	access.WritePrescription: true, access.SignPrescription: true, access.CancelPrescription: true,
	access.ReadIntake: true, access.ReadVisit: true,
}

// Relationships between the one who asks and the patient the act is on.
const (
	relSelf    = "self"                   // the patient's own record (staff: their own, which they do not have)
	relOwn     = "own-patient"            // registered by the clinician
	relTeam    = "in-care-team"           // assigned by an administrator
	relOutside = "outside-care-team"      // never in the clinician's care team
	relRemoved = "removed-from-care-team" // assigned, then taken out with DELETE /admin/care-team
	relAnother = "another-patient"        // a patient's look at someone else's record
	relNone    = "no-relation"            // no relationship to any patient, or an act on no patient
	// The appointment relationship: the patient's only tie to the clinician is a booking (made
	// by the front desk), live, cancelled just before the cell, or past its window (the visit
	// ended more than the care days ago).
	relAppt          = "appointment"
	relApptCancelled = "appointment-cancelled"
	relApptEnded     = "appointment-ended"
	// A clinician's hours: their own, or a colleague's.
	relOwnSchedule       = "own-schedule"
	relColleagueSchedule = "colleague-schedule"
)

// cell is one line of the matrix: who asks for what, on whom, with which request.
type cell struct {
	role, relation string
	action         access.Action
	factor         string // fresh: step up just before; stale: past the step-up window; "": not a step-up act
	method, path   string // path as the golden file shows it, under /api/v1
	variant        string // tells apart the subtests of one role, action and relation
	// arg is what the path's {id} or {seq} stands for; default the relation's patient.
	arg  func(w *matrixWorld) string
	body func(w *matrixWorld) any
	// query is added to the path after "?" (not shown in the golden file).
	query func(w *matrixWorld) string
	// patient: how the act's entry relates to the relation's patient.
	patient patientScope
	// refusedAs is the act a refusal is recorded as when the route decides its own act first
	// (a search by name is refused as a search before any patient is identified).
	refusedAs access.Action
	// prepare runs just before the request (the care-team removal); check after it.
	prepare func(t *testing.T, w *matrixWorld)
	check   func(t *testing.T, w *matrixWorld, status int, raw []byte)
	// stream: the route answers Server-Sent Events; the cell opens the stream and closes it.
	stream bool
	// onlyRefusals: the route records only a refusal (a live stream, one's own place in the
	// queue): allowed, it answers with no entry.
	onlyRefusals bool
	// rawType, when set, sends the body ([]byte) as it is, of that type (an upload).
	rawType string
	// sub is what the path's {sub} stands for: a second identifier (a patient's document).
	sub func(w *matrixWorld) string
	// integration, when set, is the connected system asking (in-scope or outside-scope) with
	// its bearer token; path is then a FHIR path, not one under /api/v1.
	integration string
}

func (c cell) name() string {
	n := c.role + "/" + string(c.action) + "/" + c.relation
	if c.variant != "" {
		n += "/" + c.variant
	}
	if c.factor == "stale" {
		n += "/stale-factor"
	}
	return n
}

type roleRel struct{ role, relation string }

// patientScope says which patient an act's audit entry names.
type patientScope int

const (
	// anyPatient: the act is on no patient (or a new one); the cell reads its one entry.
	anyPatient patientScope = iota
	// namesPatient: the act is on the relation's patient, and its entry must name them.
	namesPatient
	// namesPatientOrNoOne: the entry names the relation's patient, or no one: a list or search
	// names each patient it shows, and no one if it shows no one; a refusal decided before the
	// body naming the patient is read names no one. Neither ("-"): a list that does not show them.
	namesPatientOrNoOne
)

// matrixCells is the plan: actions in the order of the policy table, then a guest's session
// asking for every rule, then each step-up act once more with a stale second factor, and last
// the cells after the appointment's care window. Cells run in this order, and some depend on
// it: the care-team removal is the first "removed" cell, reports come before their review, the
// waiting room is read after the own patient checked in, the queue is read and taken after the
// patient joined it. The clock only moves forward: a step-up moves it 31 seconds, a started
// appointment or a visit to check in to up to ten minutes (keepAlive keeps every session in
// use meanwhile); the guest's block needs their visit still to come (it is made by its first
// cell, and no guest cell moves the clock); the stale block moves it past every step-up window;
// the last cells move it past the care window, ending every session (signed in again).
func matrixCells() []cell {
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
	onPatient := []roleRel{{"patient", relSelf}, {"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relTeam}, {"clinician", relOutside}, {"clinician", relRemoved},
		{"nurse", relTeam}, {"nurse", relOutside}, {"billing", relNone},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	careLists := []roleRel{{"patient", relNone},
		{"clinician", relOwn}, {"clinician", relTeam}, {"clinician", relOutside}, {"clinician", relRemoved},
		{"nurse", relTeam}, {"billing", relNone},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	everyone := []roleRel{{"patient", relNone}, {"clinician", relNone}, {"nurse", relNone}, {"billing", relNone}, {"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	// The appointment relationship, live and cancelled (the window's end is at the very end).
	byAppointment := []roleRel{{"clinician", relAppt}, {"clinician", relApptCancelled}}

	naming := func(c *cell) { c.patient = namesPatient }
	showing := func(c *cell) { c.patient = namesPatientOrNoOne }

	add(access.ReadRecord, "GET", "/patients/{id}", onPatient, func(c *cell) {
		c.patient = namesPatient
		if c.role == "clinician" && c.relation == relRemoved {
			c.prepare, c.check = removeFromCareTeam, removalIsInTheAccessLog
		}
	})
	add(access.ReadRecord, "GET", "/patients/{id}", byAppointment, func(c *cell) {
		c.patient = namesPatient
		cancelFirst(c)
	})
	note := func(c *cell) {
		c.patient = namesPatient
		c.body = func(*matrixWorld) any { return map[string]string{"body": "authorization matrix note"} }
	}
	add(access.WriteNote, "POST", "/patients/{id}/notes", onPatient, note)
	add(access.WriteNote, "POST", "/patients/{id}/notes", byAppointment, note)
	add(access.SearchPatients, "POST", "/patients/search", careLists, func(c *cell) {
		c.patient = namesPatientOrNoOne
		rel := c.relation
		c.body = func(w *matrixWorld) any { return map[string]string{"by": "email", "q": w.email[rel]} }
	})
	add(access.ListCareTeam, "GET", "/patients", careLists, showing)
	add(access.RegisterPatient, "POST", "/patients", everyone, func(c *cell) {
		role, name := c.role, "Reggie Registered"
		if role == "frontdesk" {
			name = "Fran Registered" // not the clinician's registration again, which is a duplicate
		}
		c.body = func(*matrixWorld) any {
			return map[string]string{"name": name, "birthDate": "1991-03-04", "phone": "+1 555 0199 " + strconv.Itoa(len(role)), "email": "registered.by." + role + "@example.test"}
		}
	})
	add(access.SendSignInLink, "POST", "/patients/{id}/sign-in-link", onPatient, func(c *cell) { c.patient, c.factor = namesPatient, "fresh" })
	// A patient changes the phone number on their own record; staff have none to change.
	add(access.UpdateContact, "PUT", "/me/contact", []roleRel{{"patient", relSelf}, {"clinician", relSelf}, {"frontdesk", relSelf}, {"auditor", relSelf}, {"admin", relSelf}}, func(c *cell) {
		if c.role == "patient" {
			c.patient = namesPatient
		}
		c.body = func(w *matrixWorld) any {
			return map[string]string{"phone": "+1 555 0101 099", "email": w.email[relOwn]}
		}
	})
	cs = append(cs, cell{role: "system", relation: relSelf, action: access.ReachPatient, factor: "fresh", method: "POST", path: "/password", patient: namesPatient,
		body: func(w *matrixWorld) any {
			return map[string]string{"current": w.clients["patient"].PW, "new": "a patient's new passphrase"}
		},
		check: func(t *testing.T, w *matrixWorld, status int, _ []byte) {
			if status == http.StatusOK {
				w.clients["patient"].PW = "a patient's new passphrase"
			}
		}})
	careTeam := func(c *cell) {
		role := c.role
		c.body = func(w *matrixWorld) any {
			if role == "admin" {
				return map[string]string{"clinicianId": w.ids["drB"], "patientId": w.patient[relOwn]}
			}
			// Anyone else tries to put the clinician in (or take them out of) a care team.
			return map[string]string{"clinicianId": w.account["clinician"], "patientId": w.patient[relOutside]}
		}
	}
	add(access.AssignPatient, "POST", "/admin/care-team", everyone, careTeam)
	add(access.UnassignPatient, "DELETE", "/admin/care-team", everyone, careTeam)
	add(access.ManageAccounts, "GET", "/admin/staff", everyone, func(c *cell) { c.variant = "staff" })
	add(access.ManageAccounts, "GET", "/admin/patients", everyone, func(c *cell) { c.variant = "patients" })
	invite := func(c *cell) {
		c.factor = "fresh"
		email := "invited.by." + c.role + "@haven.test"
		c.body = func(*matrixWorld) any {
			return map[string]string{"email": email, "name": "Dr Invited", "role": "clinician"}
		}
	}
	onStaff := func(target string, body any) func(*cell) {
		return func(c *cell) {
			c.factor = "fresh"
			c.arg = func(w *matrixWorld) string { return w.ids[target] }
			if body != nil {
				c.body = func(*matrixWorld) any { return body }
			}
		}
	}
	add(access.InviteStaff, "POST", "/admin/staff", everyone, invite)
	add(access.DisableStaff, "POST", "/admin/staff/{id}/disable", everyone, onStaff("disable-target", nil))
	add(access.ChangeRole, "PUT", "/admin/staff/{id}/role", everyone, onStaff("role-target", map[string]string{"role": "auditor"}))
	add(access.IssueStaffReset, "POST", "/admin/staff/{id}/password-reset", everyone, onStaff("reset-target", nil))
	// The account the administrator disabled above, enabled again; an invitation sent again.
	add(access.EnableStaff, "POST", "/admin/staff/{id}/enable", everyone, onStaff("disable-target", nil))
	add(access.ResendInvite, "POST", "/admin/staff/{id}/invitation", everyone, onStaff("resend-target", nil))
	add(access.PublishAudit, "POST", "/admin/audit/checkpoint", everyone, nil)
	add(access.ReadAccessLog, "GET", "/me/access-log", []roleRel{{"patient", relSelf}}, naming)
	add(access.ReadAccessLog, "GET", "/patients/{id}/access-log", []roleRel{{"patient", relAnother}}, naming)
	for _, role := range []string{"clinician", "frontdesk", "auditor", "admin"} {
		rel := relNone
		if role == "clinician" {
			rel = relOwn
		}
		add(access.ReadAccessLog, "GET", "/me/access-log", []roleRel{{role, relSelf}}, nil)
		add(access.ReadAccessLog, "GET", "/patients/{id}/access-log", []roleRel{{role, rel}}, naming)
	}
	add(access.ReportAccess, "POST", "/me/access-log/{seq}/report",
		[]roleRel{{"patient", relSelf}, {"patient", relAnother}, {"clinician", relOwn}, {"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}},
		func(c *cell) {
			c.patient = namesPatient
			rel := c.relation
			c.arg = func(w *matrixWorld) string { return w.seq[w.patient[rel]] }
		})
	add(access.ReviewAudit, "GET", "/audit/reviews", everyone, func(c *cell) { c.variant = "reviews" })
	add(access.ReviewAudit, "POST", "/audit/search", everyone, func(c *cell) {
		c.variant = "search"
		c.body = func(*matrixWorld) any { return map[string]string{} }
	})
	add(access.ReviewAudit, "GET", "/audit/alerts", everyone, func(c *cell) { c.variant = "alerts" })
	// The privacy officer finds a patient's entries by name: the patient found is identified
	// through the door, in their own log. Others are refused the search before any name is read.
	add(access.IdentifyPatient, "POST", "/audit/search", everyone, func(c *cell) {
		c.variant, c.patient, c.refusedAs = "by-name", namesPatientOrNoOne, access.ReviewAudit
		c.body = func(*matrixWorld) any { return map[string]string{"patientName": "Olive Own"} }
	})
	add(access.ReviewAudit, "POST", "/audit/flags", everyone, func(c *cell) {
		c.variant, c.patient = "flag", namesPatientOrNoOne
		c.body = func(w *matrixWorld) any { return map[string]string{"patientId": w.patient[relNone], "kind": "vip"} }
	})
	add(access.ReviewAudit, "POST", "/audit/reviews/{id}/resolve", everyone, func(c *cell) {
		c.variant = "resolve"
		c.arg = (*matrixWorld).openReview
	})
	add(access.ExportAudit, "POST", "/audit/export/fhir", everyone, func(c *cell) {
		c.factor = "fresh"
		c.body = func(*matrixWorld) any { return map[string]string{} }
	})

	// A private calendar feed: a clinician's, of their own schedule; no one else has one.
	add(access.ManageCalendarFeed, "POST", "/me/calendar-feed", everyone, func(c *cell) { c.variant = "make" })
	add(access.ManageCalendarFeed, "DELETE", "/me/calendar-feed", everyone, func(c *cell) { c.variant = "revoke" })
	cs = append(cs, scheduleCells(onPatient, everyone)...)
	cs = append(cs, visitCells(everyone)...)
	cs = append(cs, recordCells(onPatient, careLists, everyone)...)
	cs = append(cs, governanceCells(everyone)...)
	cs = append(cs, manageIntegrationCells(everyone)...)
	cs = append(cs, consultCells(onPatient, everyone)...)

	// Acts on one's own account: everyone, on themselves, after a step-up.
	own := func(mod func(*cell)) func(*cell) {
		return func(c *cell) {
			c.factor = "fresh"
			if mod != nil {
				mod(c)
			}
		}
	}
	add(access.ChangePassword, "POST", "/password", everyone, own(func(c *cell) {
		role := c.role
		next := "a " + role + "'s new harbour passphrase"
		c.body = func(w *matrixWorld) any { return map[string]string{"current": w.clients[role].PW, "new": next} }
		c.check = func(t *testing.T, w *matrixWorld, status int, _ []byte) {
			if status == http.StatusOK {
				w.clients[role].PW = next
			}
		}
	}))
	add(access.ChangeEmail, "PUT", "/email", everyone, own(func(c *cell) {
		role := c.role
		next := role + ".moved@haven.test"
		c.body = func(*matrixWorld) any { return map[string]string{"email": next} }
		c.check = func(t *testing.T, w *matrixWorld, status int, _ []byte) {
			if status == http.StatusOK {
				w.clients[role].Email = next
			}
		}
	}))
	add(access.NewRecoveryCodes, "POST", "/recovery-codes", everyone, own(nil))
	add(access.RemovePasskey, "DELETE", "/passkeys/{id}", everyone, own(func(c *cell) {
		c.arg = func(*matrixWorld) string { return "no-such-passkey" }
	}))
	add(access.RemoveTOTP, "DELETE", "/totp", everyone, own(nil))

	// A guest's session, on every rule (no step-up: a guest has no second factor to give).
	cs = append(cs, guestCells(cs)...)

	// Each step-up act once more by the role it is granted to, past the step-up window.
	for _, c := range slices.Clone(cs) {
		if c.factor != "fresh" || c.role == "system" {
			continue
		}
		if rule := ruleFor(c.action); rule.Grants[access.Role(c.role)] == "" || !rule.StepUp {
			continue
		}
		if c.role == "clinician" && c.relation != relOwn {
			continue
		}
		c.factor = "stale"
		if c.action == access.InviteStaff {
			c.body = func(*matrixWorld) any {
				return map[string]string{"email": "invited.stale@haven.test", "name": "Dr Stale", "role": "clinician"}
			}
		}
		cs = append(cs, c)
	}
	// A connected system's requests over FHIR, while slots days ahead are still to come.
	cs = append(cs, integrationCells()...)
	// Last, as it moves the clock past the care window: the appointment relationship is over.
	endedRead := cell{role: "clinician", relation: relApptEnded, action: access.ReadRecord, method: "GET", path: "/patients/{id}",
		patient: namesPatient, prepare: endTheCareWindow}
	endedNote := cell{role: "clinician", relation: relApptEnded, action: access.WriteNote, method: "POST", path: "/patients/{id}/notes"}
	note(&endedNote)
	cs = append(cs, endedRead, endedNote)
	return append(cs, endedVisitCells()...)
}

func ruleFor(a access.Action) access.Rule {
	for _, r := range access.Rules() {
		if r.Action == a {
			return r
		}
	}
	return access.Rule{}
}

// matrixRow is one line of the golden file.
type matrixRow struct {
	Role, Action, Relation, Factor, Request, Decision string
	Status                                            int
	Audit                                             string
}

const matrixHeader = `# Haven authorization matrix: who may do what to whom, as the running server answers it.
#
# Each line is one request sent over HTTPS to a running server, on SQLite and on PostgreSQL, by
# TestAuthorizationMatrix (internal/server/authz_matrix_test.go); the test fails if any answer,
# decision or audit entry differs from this file. Lines run top to bottom, as written.
# After a deliberate change to the policy (internal/access/policy.go), regenerate the file with
#     go test -count=1 -run TestAuthorizationMatrix ./internal/server -update
# and review its diff as the policy change it is.
#
# role      who asks: patient, clinician, nurse, billing, frontdesk (the front desk), auditor
#           (privacy officer), admin, guest (a visit's guest, signed in by the link the clinician made: an interpreter,
#           a family member); system is Haven itself, acting on the patient's own request
# action    the policy action (access.Rules)
# relation  the asker to the patient the act is on: self (their own record; staff have none),
#           own-patient (registered by the clinician), in-care-team (assigned by an administrator;
#           the nurse's one patient),
#           outside-care-team (never in it), removed-from-care-team (assigned, then removed with
#           DELETE /admin/care-team just before), another-patient, no-relation;
#           appointment (the patient's only tie to the clinician is a booking the front desk
#           made), appointment-cancelled (that booking cancelled just before), appointment-ended
#           (the visit ended more than the care days ago); for a clinician's hours:
#           own-schedule, colleague-schedule.
#           A visit's cells act on a visit booked just before (a live booking of its own) of the
#           relation's patient, with the clinician of the relation (own-patient, in-care-team,
#           appointment: the matrix clinician; outside and removed patients: a colleague), and
#           in-care-colleague-visit (the clinician cares for the patient, the visit is a
#           colleague's); appointment-cancelled is that cancelled booking, appointment-ended that
#           past visit; staff act on the own patient's visit. A guest: invited-visit (the visit
#           they were invited to), another-visit (another visit of the same patient)
# factor    fresh: a second factor just before; stale: older than 5 minutes; -: not a step-up act
# request   method and path under /api/v1
# decision  allow, deny, or step-up (allowed only after a fresh second factor); - when the request
#           is refused as invalid before the policy is asked
# status    the HTTP status of the answer
# audit     the audit entry for the act (about that patient, for lists and searches): outcome and
#           reason id; - when there is none (a list that does not show that patient records nothing
#           about them; a live stream or one's own place in the queue records only a refusal; a
#           route not open to guests refuses a guest before any act is asked, and records nothing)
#
`

var matrixWidths = [...]int{11, 22, 24, 8, 40, 10, 8}

// matrixLine lays fields out in columns, two spaces apart at least.
func matrixLine(fields ...string) string {
	var b strings.Builder
	for i, f := range fields[:len(fields)-1] {
		b.WriteString(f)
		b.WriteString(strings.Repeat(" ", max(matrixWidths[i]-len(f), 2)))
	}
	b.WriteString(fields[len(fields)-1])
	return b.String()
}

func (r matrixRow) String() string {
	return matrixLine(r.Role, r.Action, r.Relation, r.Factor, r.Request, r.Decision, strconv.Itoa(r.Status), r.Audit)
}

func matrixLines(rows []matrixRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	return out
}

func writeMatrix(t *testing.T, path string, rows []matrixRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString(matrixHeader)
	b.WriteString("# " + matrixLine("role", "action", "relation", "factor", "request", "decision", "status", "audit") + "\n")
	for _, line := range matrixLines(rows) {
		b.WriteString(line + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readMatrix parses the golden file: fields are separated by two spaces or more.
func readMatrix(t *testing.T, path string) []matrixRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	sep := regexp.MustCompile(`\s{2,}`)
	var rows []matrixRow
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := sep.Split(strings.TrimSpace(line), -1)
		if len(f) != 8 {
			t.Fatalf("%s:%d: %d fields, want 8: %q", path, i+1, len(f), line)
		}
		status, err := strconv.Atoi(f[6])
		if err != nil {
			t.Fatalf("%s:%d: status %q: %v", path, i+1, f[6], err)
		}
		rows = append(rows, matrixRow{Role: f[0], Action: f[1], Relation: f[2], Factor: f[3], Request: f[4], Decision: f[5], Status: status, Audit: f[7]})
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no lines", path)
	}
	return rows
}
