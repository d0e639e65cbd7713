package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"haven/internal/access"
)

// The consultations' part of the authorization matrix: device keys (every person, on their own
// devices), joining a visit's call (its participants), and a patient's end-to-end encrypted
// thread with their care team (sending and reading ciphertext). A guest's cells on their visit's
// call and chat are in guestCells, beside their visit's page.

// b64Random is n random bytes, base64url without padding: a key or a ciphertext the server
// cannot tell from a real one (it checks forms and sizes, never contents).
func b64Random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newDeviceBody is a device registration with fresh random public keys.
func newDeviceBody(label string) map[string]string {
	return map[string]string{"signKey": b64Random(32), "agreeKey": b64Random(32), "label": label}
}

// device registers a device for role's session once and returns its id.
func (w *matrixWorld) device(t *testing.T, role string) string {
	key := "device " + role
	if w.ids[key] == "" {
		w.ids[key] = w.clients[role].Must(201, "POST", "/api/v1/me/devices", newDeviceBody("matrix "+role))["deviceId"].(string)
	}
	return w.ids[key]
}

// envelope is a well-formed envelope from role's device in thread: its cryptographic fields
// are random (the server checks who sends, where, the sequence and the sizes), its sequence
// number new.
func (w *matrixWorld) envelope(role, thread string) map[string]any {
	w.msgSeq++
	return map[string]any{"v": 1, "thread": thread, "id": b64Random(16),
		"sender": map[string]string{"account": w.account[role], "device": w.ids["device "+role]},
		"seq":    w.msgSeq, "sentAt": w.e.Clock.Now().UTC().Format(time.RFC3339), "epk": b64Random(32),
		"recipients": []any{map[string]string{"device": w.ids["device "+role], "iv": b64Random(12), "wrapped": b64Random(48)}},
		"iv":         b64Random(12), "ciphertext": b64Random(64), "sig": b64Random(64)}
}

// consultCells are the consultation acts by every role, in the order of the policy table.
func consultCells(onPatient, everyone []roleRel) []cell {
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
	// Device keys: each person adds and removes their own. An addition's entry is its
	// key-transparency leaf (device.key-add), which the cell does not read.
	add(access.RegisterDevice, "POST", "/me/devices", everyone, func(c *cell) {
		role := c.role
		c.onlyRefusals = true
		c.body = func(*matrixWorld) any { return newDeviceBody("matrix " + role) }
	})
	add(access.RemoveDevice, "DELETE", "/me/devices/{id}", everyone, func(c *cell) {
		role := c.role
		c.onlyRefusals = true
		c.prepare = func(t *testing.T, w *matrixWorld) {
			w.ids["removable "+role] = w.clients[role].Must(201, "POST", "/api/v1/me/devices", newDeviceBody("removable"))["deviceId"].(string)
		}
		c.arg = func(w *matrixWorld) string { return w.ids["removable "+role] }
	})
	// Joining a visit's call: the participants' keys, on a visit booked just before the cell.
	onVisit := []roleRel{{"patient", relSelf}, {"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relTeam}, {"clinician", relOutside},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	add(access.JoinConsult, "GET", "/visits/{id}/keys", onVisit, func(c *cell) {
		rel := c.relation
		c.patient = namesPatient
		c.onlyRefusals = true
		c.prepare = func(t *testing.T, w *matrixWorld) { w.appt["cell"] = w.visitFor(t, rel, "") }
		c.arg = func(w *matrixWorld) string { return w.appt["cell"] }
	})
	// A patient's thread with their care team.
	thread := func(send bool) func(*cell) {
		return func(c *cell) {
			role, rel := c.role, c.relation
			c.patient = namesPatient
			c.arg = func(w *matrixWorld) string { return "patient." + w.patient[rel] }
			if send {
				c.prepare = func(t *testing.T, w *matrixWorld) { w.device(t, role) }
				c.body = func(w *matrixWorld) any { return w.envelope(role, "patient."+w.patient[rel]) }
			}
		}
	}
	add(access.SendMessage, "POST", "/threads/{id}/messages", onPatient, thread(true))
	add(access.ReadMessages, "GET", "/threads/{id}/messages", onPatient, thread(false))
	return cs
}

// guestConsultCells: a guest joins the call and chats in the visit they were invited to, and is
// refused another visit of the same patient.
func guestConsultCells(makeGuest func(*testing.T, *matrixWorld)) []cell {
	var out []cell
	for _, v := range []struct{ rel, key string }{{relInvitedVisit, "guest"}, {relAnotherVisit, "guest-other"}} {
		key := v.key
		visit := func(w *matrixWorld) string { return w.appt[key] }
		thread := func(w *matrixWorld) string { return "visit." + w.appt[key] }
		withDevice := func(t *testing.T, w *matrixWorld) { makeGuest(t, w); w.device(t, "guest") }
		out = append(out,
			cell{role: "guest", relation: v.rel, action: access.JoinConsult, method: "GET", path: "/visits/{id}/keys", patient: namesPatient,
				onlyRefusals: true, prepare: makeGuest, arg: visit},
			cell{role: "guest", relation: v.rel, action: access.SendMessage, method: "POST", path: "/threads/{id}/messages", patient: namesPatient,
				prepare: withDevice, arg: thread, body: func(w *matrixWorld) any { return w.envelope("guest", "visit."+w.appt[key]) }},
			cell{role: "guest", relation: v.rel, action: access.ReadMessages, method: "GET", path: "/threads/{id}/messages", patient: namesPatient,
				prepare: makeGuest, arg: thread})
	}
	return out
}

// guestMayReach are the acts a guest is allowed: their visit's page, call and chat, and their
// own device keys.
var guestMayReach = map[access.Action]bool{access.ReadVisit: true, access.JoinConsult: true, access.SendMessage: true,
	access.ReadMessages: true, access.RegisterDevice: true, access.RemoveDevice: true}
