package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/server/servertest"
)

// matrixWorld is the people and relationships every cell runs against, built once per store.
type matrixWorld struct {
	e        *servertest.Env
	clients  map[string]*servertest.Client // by role; the patient is own-patient of the clinician
	account  map[string]string             // account identifier by role ("haven" for Haven itself)
	patient  map[string]string             // patient identifier by relation
	email    map[string]string             // the e-mail address on that patient's record
	ids      map[string]string             // other clinician and the staff accounts acted on
	seq      map[string]string             // by patient: an entry of a clinician opening their record
	removed  *servertest.Client            // the removed-from-care-team patient, signed in
	stale    bool                          // the clock has been moved past every step-up window
	appt     map[string]string             // appointments: by relation, the cell's own ("cell"), the guest's
	patients map[string]*servertest.Client // other patients who sign in, by relation (in-care-team, appointment)
	drB      *servertest.Client            // the other clinician (ids["drB"])
	next     time.Time                     // the last slot handed out (slot)
	lastSoon time.Time                     // the last slot handed out by soon
	touched  time.Time                     // when every session was last used (keepAlive)
	past     int                           // visits put in the past so far (endedVisitOf)
	erasable int                           // patients registered to be erased (erasureRequest)
	// integrations are the connected systems by the scope they hold (integrationWorld), and
	// tokenAt when each last asked for its token.
	msgSeq       int // the last sequence number of the envelopes cells send (envelope)
	integrations map[string]*servertest.Integration
	tokenAt      map[string]time.Time
}

func newMatrixWorld(t *testing.T, e *servertest.Env) *matrixWorld {
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr.matrix@haven.test")
	drB, drBID := e.Clinician(admin, "dr.other@haven.test")
	po, poID := e.Staff(admin, "privacy.officer@haven.test", "auditor")
	nurse, nurseID := e.Staff(admin, "nurse.matrix@haven.test", "nurse")
	bill, billID := e.Staff(admin, "billing.matrix@haven.test", "billing")
	people := map[string]servertest.PatientIn{
		relOwn:     {Name: "Olive Own", BirthDate: "1975-05-05", Phone: "+1 555 0101 001", Email: "olive.own@example.test"},
		relTeam:    {Name: "Tess Team", BirthDate: "1982-06-06", Phone: "+1 555 0101 002", Email: "tess.team@example.test"},
		relOutside: {Name: "Otto Outside", BirthDate: "1960-07-07", Phone: "+1 555 0101 003", Email: "otto.outside@example.test"},
		relRemoved: {Name: "Remy Removed", BirthDate: "2001-08-08", Phone: "+1 555 0101 004", Email: "remy.removed@example.test"},
	}
	w := &matrixWorld{e: e, patient: map[string]string{}, email: map[string]string{}, seq: map[string]string{},
		ids: map[string]string{"drB": drBID}, appt: map[string]string{}, patients: map[string]*servertest.Client{}}
	pt, ownID := e.Patient(dr, people[relOwn])
	register := func(p servertest.PatientIn) string {
		return drB.Must(201, "POST", "/api/v1/patients", map[string]string{"name": p.Name, "birthDate": p.BirthDate, "phone": p.Phone, "email": p.Email})["patientId"].(string)
	}
	// The in-care-team patient signs in, to check in and answer before their visits.
	team, teamID := e.Patient(drB, people[relTeam])
	w.patients[relTeam] = team
	outsideID := register(people[relOutside])
	removed, removedID := e.Patient(drB, people[relRemoved])
	w.removed = removed
	for rel, id := range map[string]string{relSelf: ownID, relOwn: ownID, relTeam: teamID, relOutside: outsideID,
		relRemoved: removedID, relAnother: outsideID, relNone: ownID} {
		w.patient[rel] = id
	}
	for rel, p := range people {
		w.email[rel] = p.Email
	}
	w.email[relNone] = people[relOwn].Email
	for _, id := range []string{teamID, removedID} {
		admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"clinicianId": drID, "patientId": id})
	}
	// The nurse cares for the in-care-team patient only.
	admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"clinicianId": nurseID, "patientId": teamID})
	// The clinician opens the record about to be taken from them, so anything that remembered
	// the answer would now hold it; and a record each for the patients to report.
	for _, id := range []string{removedID, ownID} {
		dr.Must(200, "GET", "/api/v1/patients/"+id, nil)
	}
	drB.Must(200, "GET", "/api/v1/patients/"+outsideID, nil)
	for _, p := range []struct{ by, patient string }{{drID, ownID}, {drBID, outsideID}} {
		var seq int64
		err := e.Srv.DB().QueryRow(`SELECT MAX(seq) FROM audit_entries WHERE action = 'record.read' AND outcome = 'allow'
			AND actor_id = $1 AND patient_id = $2`, p.by, p.patient).Scan(&seq)
		if err != nil {
			t.Fatal(err)
		}
		w.seq[p.patient] = strconv.FormatInt(seq, 10)
	}
	for _, target := range []string{"disable-target", "role-target", "reset-target", "resend-target"} {
		w.ids[target] = admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": target + "@haven.test", "name": "Dr " + target, "role": "clinician"})["accountId"].(string)
	}
	w.clients = map[string]*servertest.Client{"patient": pt, "clinician": dr, "auditor": po, "admin": admin, "nurse": nurse, "billing": bill}
	w.account = map[string]string{"patient": pt.Must(200, "GET", "/api/v1/me", nil)["id"].(string),
		"clinician": drID, "auditor": poID, "nurse": nurseID, "billing": billID, "admin": admin.Must(200, "GET", "/api/v1/me", nil)["id"].(string), "system": "haven"}
	scheduleWorld(t, w, admin, dr, drB)
	visitWorld(w, drB)
	integrationWorld(t, w)
	w.touched = e.Clock.Now()
	return w
}

// keepAlive uses every session when the clock has moved on since the last use, so that no
// cell meets an idle timeout (staff: 15 minutes) the step-ups and started appointments add up
// to.
func (w *matrixWorld) keepAlive() {
	if w.e.Clock.Now().Sub(w.touched) < 5*time.Minute {
		return
	}
	for _, c := range w.clients {
		c.Do("GET", "/api/v1/me", nil)
	}
	for _, c := range w.patients {
		c.Do("GET", "/api/v1/me", nil)
	}
	if w.drB != nil {
		w.drB.Do("GET", "/api/v1/me", nil)
	}
	w.touched = w.e.Clock.Now()
}

// openReview is the identifier of a report waiting for the privacy officer, read from the
// database so that finding it leaves no entry.
func (w *matrixWorld) openReview() string {
	var id string
	if err := w.e.Srv.DB().QueryRow(`SELECT id FROM audit_reviews WHERE status = 'open' ORDER BY created_at LIMIT 1`).Scan(&id); err != nil {
		return "no-open-review"
	}
	return id
}

// removeFromCareTeam takes the clinician out of the removed patient's care team: the cell's
// request is the very next one.
func removeFromCareTeam(t *testing.T, w *matrixWorld) {
	code, _, raw := w.clients["admin"].Do("DELETE", "/api/v1/admin/care-team",
		map[string]string{"clinicianId": w.account["clinician"], "patientId": w.patient[relRemoved]})
	if code != http.StatusOK {
		t.Errorf("DELETE /api/v1/admin/care-team = %d %s", code, raw)
	}
}

// removalIsInTheAccessLog: the patient taken from the clinician's care sees, in their access
// log, the removal and the clinician's refused read; the refusal disclosed nothing.
func removalIsInTheAccessLog(t *testing.T, w *matrixWorld, status int, raw []byte) {
	if strings.Contains(string(raw), "Remy") {
		t.Errorf("the refused read disclosed the record: %s", raw)
	}
	code, _, body := w.removed.Do("GET", "/api/v1/me/access-log", nil)
	var events []map[string]any
	if code != http.StatusOK || json.Unmarshal(body, &events) != nil {
		t.Errorf("GET /api/v1/me/access-log as the removed patient = %d %s", code, body)
		return
	}
	// The entries to look for, by index: the removal, and the refused read that followed it.
	seqOf := func(action, outcome string) int64 {
		var seq int64
		w.e.Srv.DB().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_entries WHERE action = $1 AND outcome = $2 AND patient_id = $3`,
			action, outcome, w.patient[relRemoved]).Scan(&seq)
		return seq
	}
	removal, refused := seqOf(string(access.UnassignPatient), audit.Allow), seqOf(string(access.ReadRecord), audit.Deny)
	var shown []int64
	for _, ev := range events {
		if seq, ok := ev["seq"].(float64); ok {
			shown = append(shown, int64(seq))
		}
	}
	if removal == 0 || refused == 0 || !slices.Contains(shown, removal) || !slices.Contains(shown, refused) {
		t.Errorf("the removed patient's access log should show the removal (entry %d) and the refused read (entry %d):\n%s", removal, refused, body)
	}
}

// auditRow is one audit entry as the matrix reads it.
type auditRow struct {
	seq                                     int64
	action, outcome, actor, patient, reason string
}

func (w *matrixWorld) lastSeq(t *testing.T) int64 {
	var seq int64
	if err := w.e.Srv.DB().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

func (w *matrixWorld) entriesAfter(t *testing.T, seq int64) []auditRow {
	rows, err := w.e.Srv.DB().Query(`SELECT seq, action, outcome, actor_id, patient_id, reason FROM audit_entries WHERE seq > $1 ORDER BY seq`, seq)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.seq, &r.action, &r.outcome, &r.actor, &r.patient, &r.reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stepUp gives c a fresh second factor, in a TOTP step it has not used.
func (w *matrixWorld) stepUp(t *testing.T, c *servertest.Client) {
	w.e.Clock.Advance(31 * time.Second)
	if code, _, raw := c.Do("POST", "/api/v1/auth/step-up", map[string]string{"code": c.Code()}); code != http.StatusOK {
		t.Errorf("step-up = %d %s", code, raw)
	}
}

// run sends one cell's request and returns what it observed; any broken invariant fails the
// subtest whatever the golden file says.
func (w *matrixWorld) run(t *testing.T, c cell) matrixRow {
	row := matrixRow{Role: c.role, Action: string(c.action), Relation: c.relation, Factor: c.factor, Request: c.method + " " + c.path}
	if row.Factor == "" {
		row.Factor = "-"
	}
	client, actor := w.clients[c.role], w.account[c.role]
	if c.role == "guest" {
		c.prepare(t, w) // makes the guest, once
		c.prepare = nil
		client, actor = w.clients["guest"], w.account["guest"]
	}
	if c.role == "system" {
		client = w.clients["patient"] // Haven acts on the patient's request
	}
	if c.integration != "" {
		actor = w.integrations[c.integration].ID
	}
	switch c.factor {
	case "fresh":
		w.stepUp(t, client)
	case "stale":
		if !w.stale {
			w.e.Clock.Advance(guard.StepUpWindow + time.Minute)
			for _, other := range w.clients {
				other.Do("GET", "/api/v1/me", nil) // keep the sessions, not the factors
			}
			w.stale = true
		}
	}
	w.keepAlive()
	if c.prepare != nil {
		c.prepare(t, w)
		w.keepAlive()
	}
	arg := w.patient[c.relation]
	if c.arg != nil {
		arg = c.arg(w)
	}
	sub := ""
	if c.sub != nil {
		sub = c.sub(w)
	}
	path := strings.NewReplacer("{id}", arg, "{seq}", arg, "{sub}", sub).Replace(c.path)
	if c.query != nil {
		path += "?" + c.query(w)
	}
	var body any
	if c.body != nil {
		body = c.body(w)
	}
	before := w.lastSeq(t)
	var status int
	var m map[string]any
	var raw []byte
	if c.integration != "" {
		status, m, raw = w.doFHIR(t, c, path, body)
	} else if c.stream {
		s := client.Stream("/api/v1" + path)
		status, raw = s.Status, s.Body
		s.Close()
		_ = json.Unmarshal(raw, &m) // a refusal's body; a stream has none
	} else if c.rawType != "" {
		status, raw = doRaw(t, w.e, client, c.method, "/api/v1"+path, c.rawType, body.([]byte))
		_ = json.Unmarshal(raw, &m) // a refusal's body
	} else {
		status, m, raw = client.Do(c.method, "/api/v1"+path, body)
	}
	row.Status = status
	msg, _ := m["error"].(string)
	stepUpMarker := strings.HasSuffix(msg, "(step-up)")

	// The entries for this act by this actor, and of those the one this cell reads.
	var mine []auditRow
	action := c.action
	if c.refusedAs != "" && status == http.StatusForbidden {
		action = c.refusedAs // refused at the route's own act, before this one was reached
	}
	for _, r := range w.entriesAfter(t, before) {
		if r.action == string(action) && r.actor == actor {
			mine = append(mine, r)
		}
	}
	chosen := mine
	if c.patient != anyPatient {
		chosen = nil
		for _, want := range []string{w.patient[c.relation], ""} {
			for _, r := range mine {
				if r.patient == want {
					chosen = append(chosen, r)
				}
			}
			if len(chosen) > 0 || c.patient == namesPatient {
				break
			}
		}
		if c.patient == namesPatient && len(chosen) == 0 && len(mine) > 0 {
			t.Errorf("the entries %v do not name the patient %s", mine, w.patient[c.relation])
			chosen = mine
		}
	}
	row.Decision, row.Audit = "-", "-"
	if len(chosen) > 0 {
		r := chosen[0]
		row.Audit = strings.TrimSpace(r.outcome + " " + r.reason)
		switch {
		case r.outcome == audit.Deny && strings.HasPrefix(r.reason+" ", guard.ReasonStepUpRequired+" "): // a detail may follow the reason id
			row.Decision = "step-up"
		case r.outcome == audit.Deny || r.outcome == audit.Failure:
			row.Decision = "deny"
		default:
			row.Decision = "allow"
		}
	} else if status == http.StatusForbidden {
		row.Decision = "deny"
	} else if status < 300 {
		row.Decision = "allow"
	}

	// Invariants.
	if len(chosen) > 1 {
		t.Errorf("%d entries for one act: %v", len(chosen), chosen)
	}
	denied := slices.ContainsFunc(mine, func(r auditRow) bool { return r.outcome == audit.Deny })
	byRoute := c.role == "guest" && guestRefusedByRoute(status, msg)
	switch {
	case byRoute:
		// Refused by the route table before any act is asked: nothing may be recorded of it,
		// and nothing else may have happened (the guest route walk in visits_test.go sends
		// every route).
		if all := w.entriesAfter(t, before); len(all) > 0 {
			t.Errorf("a guest refused by the route left entries %v", all)
		}
	case status == http.StatusForbidden && !denied:
		t.Errorf("%s %s = 403 %s with no deny entry for %s by %s", c.method, path, raw, action, actor)
	case status < 300 && (c.stream || c.onlyRefusals) && len(mine) == 0:
		// Allowed, and by design recorded only when refused.
	case status < 300 && (len(mine) == 0 || denied):
		t.Errorf("%s %s = %d released with entries %v, want an allowing entry and no refusal", c.method, path, status, mine)
	case status == http.StatusUnauthorized:
		t.Errorf("%s %s = 401: the session ended (%s)", c.method, path, raw)
	}
	if stepUpMarker != (row.Decision == "step-up") {
		t.Errorf("answer %d %q with decision %s: the step-up marker and the step-up-required entry must go together", status, msg, row.Decision)
	}
	if row.Decision == "step-up" && status != http.StatusForbidden {
		t.Errorf("step-up answered %d, want 403", status)
	}
	if c.role == "guest" && status < 300 && (!guestMayReach[c.action] || c.relation == relAnotherVisit) {
		t.Errorf("a guest was answered %d for %s on %s: a guest reaches only their visit's page, call and chat, and their own device keys", status, c.action, c.relation)
	}
	if c.factor == "stale" && row.Decision != "step-up" {
		t.Errorf("with a stale second factor: decision %s (%d %s), want step-up", row.Decision, status, raw)
	}
	if (c.action == access.ListCareTeam || c.action == access.SearchPatients) && status == http.StatusOK {
		checkShownAreRecorded(t, raw, mine)
	}
	if c.check != nil {
		c.check(t, w, status, raw)
	}
	return row
}

// checkShownAreRecorded: a list or search shows exactly the patients its entries name.
func checkShownAreRecorded(t *testing.T, raw []byte, entries []auditRow) {
	t.Helper()
	var shown []struct {
		ID string `json:"id"`
	}
	got, isBundle := bundlePatients(raw) // a FHIR search answers a searchset Bundle
	if err := json.Unmarshal(raw, &shown); err != nil && !isBundle {
		t.Errorf("answer is not a list of patients: %s", raw)
		return
	}
	var want []string
	for _, p := range shown {
		got = append(got, p.ID)
	}
	for _, r := range entries {
		if r.patient != "" {
			want = append(want, r.patient)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patients shown differ from the patients recorded (-recorded +shown):\n%s", diff)
	}
}
