package consult_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/consult"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/turncred"
)

// TestRegisterDeviceLeafAndProof: a registration is one leaf with the keys and no source
// address, covered by a checkpoint at once; the directory's proof verifies with tlog against
// the checkpoint opened with the log's verifier and origin. The same keys again are the same
// device; keys that are not 32 bytes of b64url are refused.
func TestRegisterDeviceLeafAndProof(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false)
		clin := e.account(access.Clinician, "")
		pat := e.patient(clin)
		visit := e.visit(clin, pat)
		keys := newKeys()
		d, err := e.svc.RegisterDevice(ctx, pat, keys, origin)
		if err != nil {
			t.Fatal(err)
		}
		leaf := e.lastEntry()
		if leaf.Action != consult.ActionKeyAdd || leaf.SourceAddr != "" || leaf.RequestID != origin.RequestID ||
			leaf.ResourceType != consult.ResourceDeviceKey || leaf.ResourceID != d.DeviceID || leaf.ActorID != pat.AccountID ||
			leaf.Outcome != audit.Success || leaf.Reason != "ed25519:"+keys.SignKey+" x25519:"+keys.AgreeKey {
			t.Fatalf("leaf = %+v", leaf)
		}
		if cp, _ := audit.Latest(ctx, db); cp.Size < leaf.Seq {
			t.Fatalf("no checkpoint covers the leaf: %d < %d", cp.Size, leaf.Seq)
		}
		again, err := e.svc.RegisterDevice(ctx, pat, keys, origin)
		if err != nil || again.DeviceID != d.DeviceID {
			t.Fatalf("again = %v, %v", again.DeviceID, err)
		}
		for _, bad := range []consult.NewDevice{{SignKey: keys.SignKey, AgreeKey: b64(random(31))}, {SignKey: keys.SignKey + "=", AgreeKey: keys.AgreeKey},
			{SignKey: base64.StdEncoding.EncodeToString(random(32)) + "+/", AgreeKey: keys.AgreeKey}} {
			if _, err := e.svc.RegisterDevice(ctx, pat, bad, origin); err == nil {
				t.Errorf("registered %+v", bad)
			}
		}
		e.device(clin)
		k, err := e.svc.VisitKeys(ctx, pat, visit, origin)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := audit.OpenCheckpoint([]byte(k.Checkpoint), e.verifier, e.origin)
		if err != nil || k.Origin != e.origin.Name {
			t.Fatalf("checkpoint: %v (origin %q)", err, k.Origin)
		}
		var devices int
		for _, p := range k.People {
			for _, kd := range p.Devices {
				devices++
				seq, _ := strconv.ParseInt(kd.Entry.Seq, 10, 64)
				ns, _ := strconv.ParseInt(kd.Entry.Time, 10, 64)
				en := audit.Entry{Seq: seq, Time: time.Unix(0, ns), ActorID: kd.Entry.ActorID, ActorRole: kd.Entry.ActorRole, Action: kd.Entry.Action,
					ResourceType: kd.Entry.ResourceType, ResourceID: kd.Entry.ResourceID, PatientID: kd.Entry.PatientID, Outcome: kd.Entry.Outcome,
					Reason: kd.Entry.Reason, SourceAddr: kd.Entry.SourceAddr, RequestID: kd.Entry.RequestID, Purpose: kd.Entry.Purpose}
				var proof tlog.RecordProof
				for _, h := range kd.Proof {
					raw, _ := base64.RawURLEncoding.DecodeString(h)
					var hh tlog.Hash
					copy(hh[:], raw)
					proof = append(proof, hh)
				}
				if err := tlog.CheckRecord(proof, tree.N, tree.Hash, seq-1, audit.LeafHash(en)); err != nil {
					t.Fatalf("%s: %v", p.Role, err)
				}
				// A key swapped in without its leaf fails the proof.
				en.Reason = consult.LeafReason(b64(random(32)), kd.AgreeKey)
				if err := tlog.CheckRecord(proof, tree.N, tree.Hash, seq-1, audit.LeafHash(en)); err == nil {
					t.Fatal("a swapped key proved")
				}
			}
		}
		if devices != 2 {
			t.Fatalf("%d devices in the directory, want 2", devices)
		}
	})
}

// TestConsultMembership: who may read a visit's keys, get a relay credential, join its call
// and post to its chat, and who may not (each refusal recorded).
func TestConsultMembership(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		clin, stranger := e.account(access.Clinician, ""), e.account(access.Clinician, "")
		nurse := e.account(access.Nurse, "")
		pat := e.patient(clin, nurse)
		visit, other := e.visit(clin, pat), e.visit(clin, pat)
		guest, otherGuest := e.guest(visit), e.guest(other)
		thread := consult.VisitThread(visit)
		for _, tc := range []struct {
			name string
			by   access.Subject
			ok   bool
		}{
			{"patient", pat, true}, {"clinician", clin, true}, {"guest of the visit", guest, true},
			{"clinician outside the care team", stranger, false}, {"guest of another visit", otherGuest, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dev := e.device(tc.by)
				_, errKeys := e.svc.VisitKeys(ctx, tc.by, visit, origin)
				_, errTurn := e.svc.TURNCredentials(ctx, tc.by, visit, dev, origin)
				_, errJoin := e.svc.JoinVisit(ctx, tc.by, visit, dev, origin)
				_, errPost := e.svc.PostMessage(ctx, tc.by, thread, envelope(thread, tc.by.AccountID, dev, 1, random(20)), origin)
				_, errRead := e.svc.Messages(ctx, tc.by, thread, "", origin)
				for i, err := range []error{errKeys, errTurn, errJoin, errPost, errRead} {
					if tc.ok && err != nil {
						t.Fatalf("act %d refused: %v", i, err)
					}
					if !tc.ok && !errors.Is(err, guard.ErrForbidden) {
						t.Fatalf("act %d = %v, want a refusal", i, err)
					}
				}
				if !tc.ok {
					if last := e.lastEntry(); last.Outcome != audit.Deny || last.ActorID != tc.by.AccountID {
						t.Fatalf("refusal not recorded: %+v", last)
					}
				}
			})
		}
		// The patient's thread is the patient's and their care team's: its directory lists them.
		k, err := e.svc.ThreadKeys(ctx, nurse, pat.PatientID, origin)
		if err != nil {
			t.Fatal(err)
		}
		var roles []string
		for _, p := range k.People {
			roles = append(roles, p.Role)
		}
		slices.Sort(roles)
		if strings.Join(roles, ",") != "clinician,nurse,patient" {
			t.Fatalf("thread members = %v", roles)
		}
		if _, err := e.svc.ThreadKeys(ctx, guest, pat.PatientID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a guest read the patient's thread keys: %v", err)
		}
		// A device that is not the caller's, or was removed, joins nothing.
		dev := e.device(pat)
		if _, err := e.svc.JoinVisit(ctx, clin, visit, dev, origin); !errors.Is(err, consult.ErrUnknownDevice) {
			t.Fatalf("join with another's device = %v", err)
		}
		if err := e.svc.RemoveDevice(ctx, clin, dev, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("removing another's device = %v", err)
		}
		if err := e.svc.RemoveDevice(ctx, pat, dev, origin); err != nil {
			t.Fatal(err)
		}
		if last := e.lastEntry(); last.Action != consult.ActionKeyRemove || last.SourceAddr != "" {
			t.Fatalf("removal leaf = %+v", last)
		}
		if _, err := e.svc.JoinVisit(ctx, pat, visit, dev, origin); !errors.Is(err, consult.ErrUnknownDevice) {
			t.Fatalf("join with a removed device = %v", err)
		}
	})
}

// TestPostMessageChecks: the checks the server makes without keys, each refused with its own
// error; what passes is stored byte for byte, answered oldest first, and the hub is told.
func TestPostMessageChecks(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, false)
		clin := e.account(access.Clinician, "")
		pat := e.patient(clin)
		visit := e.visit(clin, pat)
		thread := consult.VisitThread(visit)
		pdev, cdev := e.device(pat), e.device(clin)
		first := envelope(thread, pat.AccountID, pdev, 1, random(30))
		p, err := e.svc.PostMessage(ctx, pat, thread, first, origin)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.notes.seen) != 1 || e.notes.seen[0] != visit+" "+thread+" "+p.ID {
			t.Fatalf("hub told %v", e.notes.seen)
		}
		for _, tc := range []struct {
			name string
			env  []byte
			want error
		}{
			{"another's account", envelope(thread, clin.AccountID, pdev, 2, random(8)), consult.ErrWrongSender},
			{"another's device", envelope(thread, pat.AccountID, cdev, 2, random(8)), consult.ErrUnknownDevice},
			{"another thread", envelope(consult.PatientThread(pat.PatientID), pat.AccountID, pdev, 2, random(8)), consult.ErrWrongThread},
			{"a repeated seq", envelope(thread, pat.AccountID, pdev, 1, random(8)), consult.ErrReplayedSeq},
			{"the same message again", first, consult.ErrReplayedSeq},
			{"oversize", envelope(thread, pat.AccountID, pdev, 2, random(consult.MaxEnvelopeBytes)), consult.ErrEnvelopeTooLarge},
			{"not JSON", []byte("not json"), consult.ErrEnvelope},
			{"version 2", bytes.Replace(envelope(thread, pat.AccountID, pdev, 2, random(8)), []byte(`"v":1`), []byte(`"v":2`), 1), consult.ErrEnvelope},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.svc.PostMessage(ctx, pat, thread, tc.env, origin); !errors.Is(err, tc.want) {
					t.Fatalf("= %v, want %v", err, tc.want)
				}
			})
		}
		second := envelope(thread, clin.AccountID, cdev, 1, random(30))
		p2, err := e.svc.PostMessage(ctx, clin, thread, second, origin)
		if err != nil {
			t.Fatal(err)
		}
		all, err := e.svc.Messages(ctx, pat, thread, "", origin)
		if err != nil || len(all) != 2 || !bytes.Equal(all[0], first) || !bytes.Equal(all[1], second) {
			t.Fatalf("messages = %d, %v", len(all), err)
		}
		after, err := e.svc.Messages(ctx, pat, thread, p.ID, origin)
		if err != nil || len(after) != 1 || !bytes.Equal(after[0], second) {
			t.Fatalf("after = %d, %v", len(after), err)
		}
		if rest, err := e.svc.Messages(ctx, pat, thread, p2.ID, origin); err != nil || len(rest) != 0 {
			t.Fatalf("after the last = %d, %v", len(rest), err)
		}
		blob := random(1000)
		id, err := e.svc.PutAttachment(ctx, pat, thread, blob, origin)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.svc.Attachment(ctx, clin, thread, id, origin); err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("attachment = %v", err)
		}
		if _, err := e.svc.PutAttachment(ctx, pat, thread, nil, origin); !errors.Is(err, consult.ErrAttachmentTooLarge) {
			t.Fatalf("empty attachment = %v", err)
		}
		for _, bad := range []string{"", "visit.", "chat.x", "patient.a b", "visit." + strings.Repeat("x", 100)} {
			if _, err := e.svc.Messages(ctx, pat, bad, "", origin); !errors.Is(err, guard.ErrForbidden) {
				t.Errorf("thread %q = %v", bad, err)
			}
		}
	})
}

// TestTURNCredentials: the credential is the HMAC of its username, which names the visit, the
// device and an expiry ten minutes away; with TURN off there are no servers.
func TestTURNCredentials(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, true)
		clin := e.account(access.Clinician, "")
		pat := e.patient(clin)
		visit := e.visit(clin, pat)
		dev := e.device(pat)
		ice, err := e.svc.TURNCredentials(ctx, pat, visit, dev, origin)
		if err != nil || len(ice.ICEServers) != 1 || ice.TTL != 600 {
			t.Fatalf("ice = %+v, %v", ice, err)
		}
		s := ice.ICEServers[0]
		exp, v, d, err := turncred.ParseUsername(s.Username, e.now)
		if err != nil || v != visit || d != dev || !exp.Equal(e.now.Add(consult.TURNTTL)) {
			t.Fatalf("username %q: %v %s %s %v", s.Username, exp, v, d, err)
		}
		if s.Credential != turncred.Password(e.secret, s.Username) || len(s.URLs) != 2 {
			t.Fatalf("server = %+v", s)
		}
		off := newEnv(t, db, false)
		if ice, err := off.svc.TURNCredentials(ctx, pat, visit, dev, origin); err != nil || len(ice.ICEServers) != 0 {
			t.Fatalf("TURN off = %+v, %v", ice, err)
		}
	})
}
