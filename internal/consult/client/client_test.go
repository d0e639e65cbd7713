package client_test

import (
	"bytes"
	"testing"
	"time"

	"haven/internal/consult/client"
	"haven/internal/consult/e2ee"
	"haven/internal/server/servertest"
)

// TestClientVisitChat is the client's journey in a started visit's chat: the patient attaches a
// file (encrypted before upload) to a message; the clinician's device opens both, and so does
// the patient's own device; the server's copy of the attachment is ciphertext; the same safety
// number on both sides; TURN credentials come for the device (none while the relay is off).
func TestClientVisitChat(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		v := startedVisit(t, e)
		ctx := ctxFor(t, 30*time.Second)
		pat, _ := deviceOf(t, e, v.Patient, e.TS.URL, "patient phone")
		clin, _ := deviceOf(t, e, v.Clin, e.TS.URL, "clinic desktop")
		thread := client.VisitThread(v.ID)
		patDir, err := pat.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		clinDir, err := clin.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		mine, _ := pat.SafetyNumber(patDir, v.ClinID)
		theirs, _ := clin.SafetyNumber(clinDir, pat.Me().Account)
		if mine == "" || mine != theirs {
			t.Fatalf("safety numbers %q and %q", mine, theirs)
		}

		photo := bytes.Repeat([]byte("synthetic rash photo "), 500)
		a, err := pat.Attach(ctx, thread, "rash.jpg", "image/jpeg", photo)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := clin.FetchAttachment(ctx, thread, a.ID)
		if err != nil || bytes.Contains(stored, []byte("synthetic rash")) {
			t.Fatalf("the server's copy: %v, plaintext inside: %v", err, bytes.Contains(stored, []byte("synthetic rash")))
		}
		if _, _, err := pat.Send(ctx, thread, patDir, e2ee.Message{Text: "synthetic: here is the photo", Attachments: []e2ee.Attachment{a}}); err != nil {
			t.Fatal(err)
		}
		for who, reader := range map[string]struct {
			c   *client.Client
			dir *client.Directory
		}{"clinician": {clin, clinDir}, "patient": {pat, patDir}} {
			got, err := reader.c.Fetch(ctx, thread, reader.dir, "")
			if err != nil || len(got) != 1 || got[0].Err != nil || got[0].Message.Text != "synthetic: here is the photo" || len(got[0].Message.Attachments) != 1 {
				t.Fatalf("%s reads %+v, %v", who, got, err)
			}
			b, err := reader.c.OpenAttachment(ctx, thread, got[0].Message.Attachments[0])
			if err != nil || !bytes.Equal(b, photo) {
				t.Fatalf("%s opens the attachment: %v", who, err)
			}
		}

		turn, err := pat.TURN(ctx, v.ID, pat.Me().Device)
		if err != nil || turn.TTL <= 0 || len(turn.WebRTC()) != len(turn.ICEServers) {
			t.Fatalf("TURN credentials = %+v, %v", turn, err)
		}
	})
}
