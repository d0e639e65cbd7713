package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// walkKind says what a route must leave in the audit log.
type walkKind int

const (
	// acted: a PHI disclosure or an account or administrative act: at least one entry.
	acted walkKind = iota + 1
	// listed: a list or search: one entry per patient shown, or one when it shows no one.
	listed
	// own: the caller's own account (who am I, my sessions): no PHI, nothing owed.
	own
	// signIn: a sign-in, enrolment or step-up flow, driven by the attack table and the factor
	// tests; not walked here.
	signIn
	// streamed: a live stream (Server-Sent Events): the door decides before it starts, records
	// only a refusal, and the stream itself discloses nothing (the reads it prompts are acts).
	streamed
)

// walkRow is how the walk calls one operation: as whom, where, with what.
type walkRow struct {
	kind   walkKind
	as     string // admin, clinician, patient, auditor
	path   string // with the people's identifiers filled in
	body   any
	status int
	// count is the JSON key a listed row counts the patients shown by ("id" unless set).
	count string
	// guestPath, when set, walks the route again as a visit guest, at their own visit.
	guestPath string
	// setup runs before the call: what the route needs that an earlier row took away.
	setup func()
	// rawType, when set, sends body ([]byte) as it is, of that Content-Type (an upload).
	rawType string
}

// TestEveryRoutePassesTheDoor walks the route table. Every operation that discloses PHI or acts
// on an account leaves its entries in the audit log, and every entry the walk causes was
// written by the one door: the log grows by exactly what the door wrote. A handler or service
// that skipped the door, or appended around it, fails here; so does a new route without a row.
func TestEveryRoutePassesTheDoor(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "walk-clinician@haven.test")
		patient, pid := e.Patient(clin, ada)
		auditor, _ := e.Staff(admin, "walk-auditor@haven.test", "auditor")
		_, spare := e.Clinician(admin, "walk-spare@haven.test")
		_, spare2 := e.Clinician(admin, "walk-spare2@haven.test")
		_, other := e.Clinician(admin, "walk-other@haven.test")
		_, disabled := e.Clinician(admin, "walk-disabled@haven.test")
		admin.Must(200, "POST", "/api/v1/admin/staff/"+disabled+"/disable", nil)
		invited := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "walk-invited@haven.test", "name": "Walk Invited", "role": "clinician"})["accountId"].(string)
		clin.Must(200, "GET", "/api/v1/patients/"+pid, nil) // an entry for the patient to report
		log := patient.List(200, "GET", "/api/v1/me/access-log", nil)
		seq := strconv.Itoa(int(log[0].(map[string]any)["seq"].(float64)))
		patient.Must(201, "POST", "/api/v1/me/access-log/"+seq+"/report", nil)
		reviews := auditor.List(200, "GET", "/api/v1/audit/reviews", nil)
		review := reviews[0].(map[string]any)["id"].(string)
		desk, _ := e.Staff(admin, "walk-desk@haven.test", "frontdesk")
		billingClerk, _ := e.Staff(admin, "walk-billing@haven.test", "billing")
		clients := map[string]*servertest.Client{"admin": admin, "clinician": clin, "patient": patient, "auditor": auditor, "frontdesk": desk, "billing": billingClerk}
		// A schedule to walk: the clinician's hours, two bookings to move and cancel, and one
		// that has started, for a no-show.
		hours := map[string]any{"timeZone": "UTC", "slotMinutes": 30, "weekly": []map[string]string{
			{"day": "mon", "start": "09:00", "end": "17:00"}, {"day": "tue", "start": "09:00", "end": "17:00"},
			{"day": "wed", "start": "09:00", "end": "17:00"}, {"day": "thu", "start": "09:00", "end": "17:00"}, {"day": "fri", "start": "09:00", "end": "17:00"}}}
		clin.Must(200, "PUT", "/api/v1/clinicians/"+clinID+"/availability", hours)
		tomorrow := e.Clock.Now().Truncate(24 * time.Hour).Add(24*time.Hour + 9*time.Hour)
		at := func(slot int) string {
			return tomorrow.Add(time.Duration(slot) * 30 * time.Minute).Format(time.RFC3339)
		}
		toMove := patient.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": clinID, "start": at(0)})["appointmentId"].(string)
		toCancel := patient.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": clinID, "start": at(1)})["appointmentId"].(string)
		now := e.Clock.Now().Truncate(30 * time.Minute).Add(30 * time.Minute)
		started := desk.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": clinID, "patientId": pid, "start": now.Format(time.RFC3339)})["appointmentId"].(string)
		for e.Clock.Now().Before(now) { // to its start, keeping every session from idling out
			e.Clock.Advance(min(10*time.Minute, now.Sub(e.Clock.Now())+time.Second))
			for _, c := range clients {
				c.Must(200, "GET", "/api/v1/me", nil)
			}
		}
		for _, c := range clients { // and a fresh second factor, as after signing in
			c.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.Code()})
		}
		integration := admin.Must(201, "POST", "/api/v1/admin/integrations", integrationBody(t, "Walk Lab"))["clientId"].(string)
		adminStepUp := func() {
			e.Clock.Advance(31 * time.Second)
			admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
		}
		window := "?" + url.Values{"from": {tomorrow.Format(time.RFC3339)}, "to": {tomorrow.Add(24 * time.Hour).Format(time.RFC3339)}}.Encode()
		// Visits to walk: one to take from booked to ended, one a guest was invited to.
		consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]
		v1 := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
		v2 := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(40*time.Minute))
		guest := guestOf(t, e, patient, clin, v2, "Walk Guest")
		clients["guest"] = guest // not before: a guest has no second factor to step up with
		pair := map[string]string{"patientId": pid, "clinicianId": other}
		// Charges to walk: two visits that ended, one charged already.
		charged, toCharge := endedVisit(t, e, clinID, pid, e.Clock.Now().Add(-4*time.Hour)), endedVisit(t, e, clinID, pid, e.Clock.Now().Add(-3*time.Hour))
		chargeID := clin.Must(201, "POST", "/api/v1/charges", map[string]any{"visitId": charged, "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 9000})["id"].(string)
		// The structured record: an item of each kind to change, and a body to add one.
		itemBodies := map[string]map[string]any{
			"conditions": {"text": "Walk problem"}, "allergies": {"text": "Walk allergy"}, "medications": {"text": "Walk medication"},
			"immunizations": {"text": "Walk vaccine"}, "observations": {"code": map[string]string{"code": "8867-4"}, "value": 70},
		}
		itemPath := map[string]string{}
		for kind, body := range itemBodies {
			itemPath[kind] = "/patients/" + pid + "/" + kind + "/" + clin.Must(201, "POST", "/api/v1/patients/"+pid+"/"+kind, body)["id"].(string)
		}
		// A document to download, and a visit's draft note to read, sign and amend.
		_, doc, _ := uploadDoc(t, e, clin, pid, "walk.pdf", "application/pdf", []byte("%PDF-1.4 synthetic walk"))
		v3 := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(80*time.Minute))
		draft := clin.Must(200, "PUT", "/api/v1/visits/"+v3+"/note", map[string]string{"plan": "synthetic walk plan"})["id"].(string)
		rxBody := map[string]any{"patientId": pid, "medication": "Walk Amoxicillin", "quantity": "21 capsules"}
		rx := clin.Must(201, "POST", "/api/v1/prescriptions", rxBody)["id"].(string)
		rxDraft := clin.Must(201, "POST", "/api/v1/prescriptions", rxBody)["id"].(string)

		// Governance: a second patient to erase, with a request the privacy officer recorded.
		_, erasable := e.Patient(clin, servertest.PatientIn{Name: "Walk Erasable", BirthDate: "1961-06-06", Phone: "+1 555 0100 777", Email: "walk.erasable@example.test"})
		erasure := auditor.Must(201, "POST", "/api/v1/patients/"+erasable+"/erasure-requests", nil)["id"].(string)
		_, refusable := e.Patient(clin, servertest.PatientIn{Name: "Walk Refusable", BirthDate: "1962-06-06", Phone: "+1 555 0100 778", Email: "walk.refusable@example.test"})
		refusal := auditor.Must(201, "POST", "/api/v1/patients/"+refusable+"/erasure-requests", nil)["id"].(string)
		auditorStepUp := func() {
			e.Clock.Advance(31 * time.Second)
			auditor.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": auditor.Code()})
		}

		// Consultations: devices for the patient, the clinician and the guest, and a message and
		// an attachment in the visit's chat to fetch.
		walkKeys := newKeys()
		walkDev := patient.Must(201, "POST", "/api/v1/me/devices", walkKeys)["deviceId"].(string)
		guestDev := registerDevice(t, guest)
		clinDev := registerDevice(t, clin)
		thread2 := "visit." + v2
		patientAcct := accountOf(t, patient)
		_ = clinDev
		walkSeq := 0
		nextEnvelope := func(acct, dev string) []byte {
			walkSeq++
			return envelope(thread2, acct, dev, walkSeq, randomBytes(32))
		}
		_, attRaw := doRaw(t, e, patient, "POST", "/api/v1/threads/"+thread2+"/attachments", "application/octet-stream", randomBytes(64))
		var walkAtt struct{ ID string }
		json.Unmarshal(attRaw, &walkAtt)

		rows := map[string]walkRow{
			"verifyTOTP": {kind: signIn}, "beginTOTPEnrolment": {kind: signIn}, "confirmTOTPEnrolment": {kind: signIn},
			"logout": {kind: signIn}, "stepUp": {kind: signIn}, "changePassword": {kind: signIn}, "changeEmail": {kind: signIn},
			"regenerateRecoveryCodes": {kind: signIn}, "removeTOTP": {kind: signIn}, "beginPasskeyVerification": {kind: signIn},
			"finishPasskeyVerification": {kind: signIn}, "beginPasskeyRegistration": {kind: signIn}, "registerPasskey": {kind: signIn},
			"renamePasskey": {kind: signIn}, "removePasskey": {kind: signIn}, "revokeSession": {kind: signIn},

			"getMe":              {kind: own, as: "clinician", status: 200},
			"listSessions":       {kind: own, as: "clinician", status: 200},
			"countRecoveryCodes": {kind: own, as: "clinician", status: 200},
			"listPasskeys":       {kind: own, as: "clinician", status: 200},

			"listStaff":              {kind: acted, as: "admin", status: 200},
			"inviteStaff":            {kind: acted, as: "admin", status: 201, body: map[string]string{"email": "walk-new@haven.test", "name": "Walk New", "role": "clinician"}},
			"disableStaff":           {kind: acted, as: "admin", path: "/admin/staff/" + spare + "/disable", status: 200},
			"enableStaff":            {kind: acted, as: "admin", path: "/admin/staff/" + disabled + "/enable", status: 200},
			"resendStaffInvitation":  {kind: acted, as: "admin", path: "/admin/staff/" + invited + "/invitation", status: 201},
			"changeStaffRole":        {kind: acted, as: "admin", path: "/admin/staff/" + spare2 + "/role", body: map[string]string{"role": "auditor"}, status: 200},
			"resetStaffPassword":     {kind: acted, as: "admin", path: "/admin/staff/" + clinID + "/password-reset", status: 201},
			"listPatientIDs":         {kind: acted, as: "admin", status: 200},
			"assignCareTeam":         {kind: acted, as: "admin", body: pair, status: 200},
			"removeFromCareTeam":     {kind: acted, as: "admin", body: pair, status: 200},
			"publishAuditCheckpoint": {kind: acted, as: "admin", status: 200},

			"listMyPatients":        {kind: listed, as: "clinician", status: 200},
			"searchPatients":        {kind: listed, as: "clinician", body: map[string]string{"by": "name", "q": "Ada Canary"}, status: 200},
			"registerPatient":       {kind: acted, as: "clinician", status: 201, body: map[string]string{"name": "Walk Patient", "birthDate": "1990-01-01", "phone": "+1 555 0199", "email": "walk-patient@example.test"}},
			"getPatientRecord":      {kind: acted, as: "clinician", path: "/patients/" + pid, status: 200},
			"addNote":               {kind: acted, as: "clinician", path: "/patients/" + pid + "/notes", body: map[string]string{"body": "synthetic walk note"}, status: 201},
			"sendPatientSignInLink": {kind: acted, as: "clinician", path: "/patients/" + pid + "/sign-in-link", status: 201},
			"getMyRecord":           {kind: acted, as: "patient", status: 200},
			"exportMyRecord": {kind: acted, as: "patient", status: 200, setup: func() {
				e.Clock.Advance(31 * time.Second)
				patient.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": patient.Code()})
			}},
			"getComplianceReport": {kind: acted, as: "auditor", status: 200},
			"updateMyContact":     {kind: acted, as: "patient", body: map[string]string{"phone": "+1 555 0100 777", "email": ada.Email}, status: 200},

			"getMyAccessLog":     {kind: acted, as: "patient", status: 200},
			"reportAccess":       {kind: acted, as: "patient", path: "/me/access-log/" + seq + "/report", status: 201},
			"getAccessLog":       {kind: acted, as: "auditor", path: "/patients/" + pid + "/access-log", status: 200},
			"listAuditReviews":   {kind: acted, as: "auditor", status: 200},
			"resolveAuditReview": {kind: acted, as: "auditor", path: "/audit/reviews/" + review + "/resolve", status: 200},
			"searchAuditTrail":   {kind: acted, as: "auditor", body: map[string]any{"patientId": pid}, status: 200},
			"listSecurityAlerts": {kind: acted, as: "auditor", status: 200},
			"flagPatientRecord":  {kind: acted, as: "auditor", body: map[string]string{"patientId": pid, "kind": "vip"}, status: 201},
			"exportAuditEvents":  {kind: acted, as: "auditor", body: map[string]any{"patientId": pid}, status: 200},

			"createCalendarFeed":     {kind: acted, as: "clinician", status: 201},
			"revokeCalendarFeed":     {kind: acted, as: "clinician", status: 200},
			"setAvailability":        {kind: acted, as: "clinician", path: "/clinicians/" + clinID + "/availability", body: hours, status: 200},
			"getAvailability":        {kind: acted, as: "patient", path: "/clinicians/" + clinID + "/availability", status: 200},
			"listSlots":              {kind: acted, as: "patient", path: "/clinicians/" + clinID + "/slots" + window, status: 200},
			"listBookableClinicians": {kind: acted, as: "patient", status: 200},
			"bookAppointment":        {kind: acted, as: "patient", body: map[string]string{"clinicianId": clinID, "start": at(4)}, status: 201},
			"listAppointments":       {kind: acted, as: "frontdesk", path: "/appointments" + window, status: 200},
			"rescheduleAppointment":  {kind: acted, as: "patient", path: "/appointments/" + toMove, body: map[string]string{"start": at(6)}, status: 200},
			"cancelAppointment":      {kind: acted, as: "patient", path: "/appointments/" + toCancel, status: 200},
			"markNoShow":             {kind: acted, as: "clinician", path: "/appointments/" + started + "/no-show", status: 200},
			"getPatientDemographics": {kind: acted, as: "frontdesk", path: "/patients/" + pid + "/demographics", status: 200},

			"getMyTelehealthConsent":  {kind: acted, as: "patient", status: 200},
			"acceptTelehealthConsent": {kind: acted, as: "patient", body: map[string]any{"version": consent}, status: 200},
			"getVisit":                {kind: acted, as: "patient", path: "/visits/" + v1, status: 200, guestPath: "/visits/" + v2},
			"followVisit":             {kind: streamed, as: "patient", path: "/visits/" + v1 + "/events", status: 200, guestPath: "/visits/" + v2 + "/events"},
			"checkIn":                 {kind: acted, as: "patient", path: "/visits/" + v1 + "/check-in", status: 200},
			"submitIntake":            {kind: acted, as: "patient", path: "/visits/" + v1 + "/intake", body: map[string]string{"reason": "synthetic walk"}, status: 200},
			"getIntake":               {kind: acted, as: "clinician", path: "/visits/" + v1 + "/intake", status: 200},
			"allowGuests":             {kind: acted, as: "patient", path: "/visits/" + v1 + "/guests-allowed", status: 200},
			"admitPatient":            {kind: acted, as: "clinician", path: "/visits/" + v1 + "/admit", status: 200},
			"inviteGuest":             {kind: acted, as: "clinician", path: "/visits/" + v1 + "/guests", body: map[string]string{"name": "Walk Interpreter", "relation": "interpreter"}, status: 201},
			"endVisit":                {kind: acted, as: "clinician", path: "/visits/" + v1 + "/end", body: map[string]string{"summary": "synthetic walk summary"}, status: 200},
			"getWaitingRoom":          {kind: listed, as: "clinician", status: 200, count: "patientId"},
			"followWaitingRoom":       {kind: streamed, as: "clinician", status: 200},
			"listQueue":               {kind: listed, as: "clinician", status: 200, count: "patientId"},
			"joinQueue":               {kind: acted, as: "patient", status: 200},
			"getMyQueuePlace":         {kind: own, as: "patient", status: 200},
			"leaveQueue":              {kind: acted, as: "patient", status: 200},

			"getRecordSummary":   {kind: acted, as: "clinician", path: "/patients/" + pid + "/summary", status: 200},
			"listConditions":     {kind: acted, as: "clinician", path: "/patients/" + pid + "/conditions", status: 200},
			"addCondition":       {kind: acted, as: "clinician", path: "/patients/" + pid + "/conditions", body: itemBodies["conditions"], status: 201},
			"updateCondition":    {kind: acted, as: "clinician", path: itemPath["conditions"], body: map[string]string{"status": "resolved"}, status: 200},
			"listAllergies":      {kind: acted, as: "clinician", path: "/patients/" + pid + "/allergies", status: 200},
			"addAllergy":         {kind: acted, as: "clinician", path: "/patients/" + pid + "/allergies", body: itemBodies["allergies"], status: 201},
			"updateAllergy":      {kind: acted, as: "clinician", path: itemPath["allergies"], body: map[string]string{"status": "inactive"}, status: 200},
			"listMedications":    {kind: acted, as: "clinician", path: "/patients/" + pid + "/medications", status: 200},
			"addMedication":      {kind: acted, as: "clinician", path: "/patients/" + pid + "/medications", body: itemBodies["medications"], status: 201},
			"updateMedication":   {kind: acted, as: "clinician", path: itemPath["medications"], body: map[string]string{"status": "stopped"}, status: 200},
			"listObservations":   {kind: acted, as: "patient", path: "/patients/" + pid + "/observations?code=8867-4", status: 200},
			"addObservation":     {kind: acted, as: "patient", path: "/patients/" + pid + "/observations", body: itemBodies["observations"], status: 201},
			"updateObservation":  {kind: acted, as: "clinician", path: itemPath["observations"], body: map[string]string{"status": "entered-in-error"}, status: 200},
			"listImmunizations":  {kind: acted, as: "patient", path: "/patients/" + pid + "/immunizations", status: 200},
			"addImmunization":    {kind: acted, as: "clinician", path: "/patients/" + pid + "/immunizations", body: itemBodies["immunizations"], status: 201},
			"updateImmunization": {kind: acted, as: "clinician", path: itemPath["immunizations"], body: map[string]string{"status": "entered-in-error"}, status: 200},

			"writePrescription":        {kind: acted, as: "clinician", body: rxBody, status: 201},
			"listPrescriptions":        {kind: acted, as: "clinician", path: "/prescriptions?patientId=" + pid, status: 200},
			"getPrescription":          {kind: acted, as: "clinician", path: "/prescriptions/" + rx, status: 200},
			"updatePrescription":       {kind: acted, as: "clinician", path: "/prescriptions/" + rx, body: rxBody, status: 200},
			"beginPrescriptionSigning": {kind: signIn},
			"signPrescription": {kind: acted, as: "clinician", path: "/prescriptions/" + rx + "/signature", body: map[string]string{"method": "key"}, status: 200,
				setup: func() {
					e.Clock.Advance(31 * time.Second)
					clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": clin.Code()})
				}},
			"cancelPrescription":       {kind: acted, as: "clinician", path: "/prescriptions/" + rxDraft + "/cancellation", status: 200},
			"renewPrescription":        {kind: acted, as: "clinician", path: "/prescriptions/" + rx + "/renewal", status: 201},
			"getPrescriptionPrintable": {kind: acted, as: "clinician", path: "/prescriptions/" + rx + "/printable", status: 200},
			"getPrescriptionPDF":       {kind: acted, as: "patient", path: "/prescriptions/" + rx + "/pdf", status: 200},
			"takeNextFromQueue": {kind: acted, as: "clinician", status: 201,
				setup: func() { patient.Must(200, "POST", "/api/v1/queue", nil) }},

			"listCharges":   {kind: acted, as: "billing", status: 200},
			"createCharge":  {kind: acted, as: "clinician", body: map[string]any{"visitId": toCharge, "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 9000}, status: 201},
			"getCharge":     {kind: acted, as: "billing", path: "/charges/" + chargeID, status: 200},
			"updateCharge":  {kind: acted, as: "billing", path: "/charges/" + chargeID, body: map[string]string{"status": "submitted"}, status: 200},
			"exportCharges": {kind: acted, as: "billing", path: "/charges/export?format=csv", status: 200},
			"uploadDocument": {kind: acted, as: "clinician", path: "/patients/" + pid + "/documents",
				body: []byte("%PDF-1.4 synthetic walk"), rawType: "application/pdf", status: 201},
			"listDocuments":    {kind: acted, as: "clinician", path: "/patients/" + pid + "/documents", status: 200},
			"downloadDocument": {kind: acted, as: "clinician", path: "/patients/" + pid + "/documents/" + doc["id"].(string), status: 200},
			"saveVisitNote":    {kind: acted, as: "clinician", path: "/visits/" + v2 + "/note", body: map[string]string{"subjective": "synthetic walk"}, status: 200},
			"getVisitNote":     {kind: acted, as: "clinician", path: "/visits/" + v2 + "/note", status: 200},
			"getNote":          {kind: acted, as: "clinician", path: "/notes/" + draft, status: 200},
			"signNote":         {kind: acted, as: "clinician", path: "/notes/" + draft + "/signature", status: 200},
			"addAddendum":      {kind: acted, as: "clinician", path: "/notes/" + draft + "/addenda", body: map[string]string{"body": "synthetic walk addendum"}, status: 201},

			"requestMyErasure":     {kind: acted, as: "patient", status: 201},
			"recordErasureRequest": {kind: acted, as: "auditor", path: "/patients/" + pid + "/erasure-requests", status: 201},
			"listErasureRequests":  {kind: acted, as: "auditor", status: 200},
			"approveErasure":       {kind: acted, as: "auditor", path: "/erasure-requests/" + erasure + "/approval", status: 200, setup: auditorStepUp},
			"refuseErasure":        {kind: acted, as: "auditor", path: "/erasure-requests/" + refusal + "/refusal", status: 200},
			"placeLegalHold":       {kind: acted, as: "auditor", path: "/patients/" + pid + "/legal-hold", body: map[string]string{"reason": "litigation"}, status: 200, setup: auditorStepUp},
			"liftLegalHold":        {kind: acted, as: "auditor", path: "/patients/" + pid + "/legal-hold", status: 200},

			"registerDevice": {kind: acted, as: "patient", status: 201, body: newKeys()},
			"listMyDevices":  {kind: own, as: "patient", status: 200},
			"removeDevice":   {kind: acted, as: "patient", path: "/me/devices/" + patient.Must(201, "POST", "/api/v1/me/devices", newKeys())["deviceId"].(string), status: 200},
			"getVisitKeys":   {kind: acted, as: "patient", path: "/visits/" + v2 + "/keys", status: 200, guestPath: "/visits/" + v2 + "/keys"},
			"getThreadKeys":  {kind: acted, as: "clinician", path: "/patients/" + pid + "/thread/keys", status: 200},
			"postMessage": {kind: acted, as: "patient", path: "/threads/" + thread2 + "/messages", rawType: "application/json",
				body: nextEnvelope(patientAcct, walkDev), status: 201},
			"listMessages": {kind: acted, as: "patient", path: "/threads/" + thread2 + "/messages", status: 200, guestPath: "/threads/" + thread2 + "/messages"},
			"uploadAttachment": {kind: acted, as: "patient", path: "/threads/" + thread2 + "/attachments", rawType: "application/octet-stream",
				body: randomBytes(128), status: 201},
			"downloadAttachment": {kind: acted, as: "clinician", path: "/threads/" + thread2 + "/attachments/" + walkAtt.ID, status: 200,
				guestPath: "/threads/" + thread2 + "/attachments/" + walkAtt.ID},
			"getTURNCredentials": {kind: acted, as: "patient", path: "/visits/" + v2 + "/turn?device=" + walkDev, status: 200,
				guestPath: "/visits/" + v2 + "/turn?device=" + guestDev},

			"listIntegrations":    {kind: acted, as: "admin", status: 200, setup: adminStepUp},
			"registerIntegration": {kind: acted, as: "admin", body: integrationBody(t, "Walk Lab Two"), status: 201, setup: adminStepUp},
			"updateIntegration":   {kind: acted, as: "admin", path: "/admin/integrations/" + integration, body: integrationBody(t, "Walk Lab Renamed"), status: 200, setup: adminStepUp},
			"disableIntegration":  {kind: acted, as: "admin", path: "/admin/integrations/" + integration + "/disable", status: 200, setup: adminStepUp},
			"enableIntegration":   {kind: acted, as: "admin", path: "/admin/integrations/" + integration + "/enable", status: 200, setup: adminStepUp},
		}
		walked := 0
		for _, rt := range e.Srv.APIRoutes() {
			if rt.Public {
				continue
			}
			row, ok := rows[rt.OperationID]
			if !ok {
				t.Errorf("%s %s (%s) has no row in the door walk: say what it must leave in the audit log", rt.Method, rt.Path, rt.OperationID)
				continue
			}
			if row.kind == signIn {
				continue
			}
			path := row.path
			if path == "" {
				path = rt.Path
			}
			if strings.Contains(path, "{") {
				t.Fatalf("%s: the row must fill in %s", rt.OperationID, path)
			}
			if row.setup != nil {
				row.setup()
			}
			t.Run(rt.OperationID, func(t *testing.T) { walkOne(t, e, rt.Method, path, clients[row.as], row) })
			if row.guestPath != "" {
				t.Run(rt.OperationID+"/as-guest", func(t *testing.T) {
					g := row
					g.as = "guest"
					walkOne(t, e, rt.Method, g.guestPath, clients["guest"], g)
				})
			}
			walked++
		}
		if walked < 25 {
			t.Fatalf("walked only %d operations", walked)
		}
	})
}

// walkOne calls one operation as c and checks what it left in the audit log.
func walkOne(t *testing.T, e *servertest.Env, method, path string, c *servertest.Client, row walkRow) {
	t.Helper()
	logBefore, doorBefore := auditSize(t, e), e.Srv.DoorEntries()
	var code int
	var raw []byte
	if row.kind == streamed {
		s := c.Stream("/api/v1" + path)
		code, raw = s.Status, s.Body
		if ct := s.Header.Get("Content-Type"); code == 200 && ct != "text/event-stream" {
			t.Fatalf("a live stream of type %q", ct)
		}
		s.Close()
	} else if row.rawType != "" {
		code, raw = doRaw(t, e, c, method, "/api/v1"+path, row.rawType, row.body.([]byte))
	} else {
		code, _, raw = c.Do(method, "/api/v1"+path, row.body)
	}
	if code != row.status {
		t.Fatalf("%s %s as %s = %d %.300s, want %d", method, path, row.as, code, raw, row.status)
	}
	grew, door := auditSize(t, e)-logBefore, e.Srv.DoorEntries()-doorBefore
	if grew != door {
		t.Fatalf("the log grew by %d entries but the door wrote %d: something appended around the door", grew, door)
	}
	switch row.kind {
	case acted:
		if grew < 1 {
			t.Fatalf("no audit entry for %s %s", method, path)
		}
	case listed:
		key := cmp.Or(row.count, "id")
		shown := strings.Count(string(raw), `"`+key+`":`)
		if want := max(shown, 1); grew != int64(want) {
			t.Fatalf("a list showing %d patients left %d entries, want %d", shown, grew, want)
		}
	case streamed:
		if grew != 0 {
			t.Fatalf("following a live stream left %d entries; only a refusal is owed", grew)
		}
	}
}

func auditSize(t *testing.T, e *servertest.Env) int64 {
	t.Helper()
	var n int64
	if err := e.Srv.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
