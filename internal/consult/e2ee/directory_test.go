package e2ee_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/consult/e2ee"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// directoryEntry is an audit entry as the key directory serves it.
func directoryEntry(e audit.Entry) e2ee.DirectoryEntry {
	return e2ee.DirectoryEntry{
		Seq: strconv.FormatInt(e.Seq, 10), Time: strconv.FormatInt(e.Time.UnixNano(), 10),
		ActorID: e.ActorID, ActorRole: e.ActorRole, Action: e.Action, ResourceType: e.ResourceType,
		ResourceID: e.ResourceID, PatientID: e.PatientID, Outcome: e.Outcome, Reason: e.Reason,
		SourceAddr: e.SourceAddr, RequestID: e.RequestID, Purpose: e.Purpose,
	}
}

func TestCanonicalEntryIsTheAuditLogs(t *testing.T) {
	for _, e := range []audit.Entry{
		{Seq: 1, Time: time.Unix(0, 1764493923123456789), ActorID: "acct-1", ActorRole: "patient", Action: e2ee.ActionKeyAdd,
			ResourceType: e2ee.ResourceDevice, ResourceID: "dev-1", Outcome: audit.Success, Reason: "ed25519:AAAA x25519:BBBB", RequestID: "req-1"},
		{Seq: 9000, Time: time.Unix(0, 0), ActorID: "ü", Purpose: "TREAT", SourceAddr: "192.0.2.1", PatientID: "pat-1"},
		{Seq: 2, Time: time.Unix(-5, 0)},
	} {
		got, err := e2ee.CanonicalEntry(directoryEntry(e))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, audit.Canonical(e)) {
			t.Errorf("entry %d: canonical encodings differ", e.Seq)
		}
	}
	for _, bad := range []e2ee.DirectoryEntry{
		{Seq: "0", Time: "1"}, {Seq: "01", Time: "1"}, {Seq: "+1", Time: "1"}, {Seq: "1", Time: "1.5"}, {Seq: "x", Time: "1"},
		{Seq: "1", Time: ""}, {Seq: "99999999999999999999", Time: "1"},
	} {
		if _, err := e2ee.CanonicalEntry(bad); !errors.Is(err, e2ee.ErrMalformed) {
			t.Errorf("seq %q time %q: %v", bad.Seq, bad.Time, err)
		}
	}
}

// TestVerifyDeviceAgainstTheAuditLog registers a device key as the server does (a
// device.key-add leaf, then a signed checkpoint), serves it with its proof, and checks it as a
// client: the genuine key verifies; a swapped key, a tampered entry and a checkpoint signed by
// another key are each refused with their own error.
func TestVerifyDeviceAgainstTheAuditLog(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		origin, err := audit.EnsureLogOrigin(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		signer, verifier := noteKeys(t)
		log := audit.New(db, time.Now)
		cps := audit.NewCheckpointer(db, signer, origin, time.Now)

		keys, err := e2ee.NewDeviceKeys(nil)
		if err != nil {
			t.Fatal(err)
		}
		dev := keys.Public("dev-1", "acct-alice")
		other, _ := e2ee.NewDeviceKeys(nil)
		// Some unrelated entries around the key's, so the proof has depth.
		for i := range 3 {
			if _, err := log.Append(ctx, audit.Entry{ActorID: "acct-x", ActorRole: "clinician", Action: "patient.read",
				ResourceType: "Patient", ResourceID: "p" + strconv.Itoa(i), Outcome: audit.Allow, SourceAddr: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		seq, err := log.Append(ctx, audit.Entry{ActorID: "acct-alice", ActorRole: "patient", Action: e2ee.ActionKeyAdd,
			ResourceType: e2ee.ResourceDevice, ResourceID: dev.ID, Outcome: audit.Success,
			Reason: e2ee.LeafReason(dev.SignKey, dev.AgreeKey.Bytes()), RequestID: "req-key"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := log.Append(ctx, audit.Entry{ActorID: "acct-x", Action: "auth.login", Outcome: audit.Success}); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := cps.Publish(ctx)
		if err != nil {
			t.Fatal(err)
		}

		serve := func(seq int64) e2ee.DirectoryDevice {
			e, err := audit.EntryAt(ctx, db, seq)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := audit.ProveEntry(ctx, db, seq, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			d := e2ee.DirectoryDevice{DeviceID: dev.ID, SignKey: e2ee.B64(dev.SignKey), AgreeKey: dev.AgreeKey.Bytes(), Entry: directoryEntry(e)}
			for _, h := range proof {
				d.Proof = append(d.Proof, bytes.Clone(h[:]))
			}
			return d
		}
		good := serve(seq)

		swapped := good
		swapped.SignKey = e2ee.B64(other.Public("", "").SignKey)
		swappedWithReason := swapped
		swappedWithReason.AgreeKey = other.Agree.PublicKey().Bytes()
		swappedWithReason.Entry.Reason = e2ee.LeafReason(swappedWithReason.SignKey, swappedWithReason.AgreeKey)
		tampered := good
		tampered.Entry.Time = strconv.FormatInt(time.Now().UnixNano(), 10)
		anotherLeaf := serve(seq - 1)
		anotherLeaf.Entry = good.Entry
		rogueSigner, _ := noteKeys(t)
		rogueCP, err := note.Sign(&note.Note{Text: string(audit.FormatCheckpoint(origin.Name, treeOf(t, cp)))}, rogueSigner)
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name       string
			d          e2ee.DirectoryDevice
			owner      string
			checkpoint []byte
			origin     string
			want       error
		}{
			{"genuine key", good, "acct-alice", cp.Signed, origin.Name, nil},
			{"swapped key", swapped, "acct-alice", cp.Signed, origin.Name, e2ee.ErrKeyNotInEntry},
			{"served as another person's", good, "acct-mallory", cp.Signed, origin.Name, e2ee.ErrKeyNotInEntry},
			{"swapped key with a forged entry", swappedWithReason, "acct-alice", cp.Signed, origin.Name, e2ee.ErrNotInLog},
			{"tampered entry", tampered, "acct-alice", cp.Signed, origin.Name, e2ee.ErrNotInLog},
			{"another leaf's proof", anotherLeaf, "acct-alice", cp.Signed, origin.Name, e2ee.ErrNotInLog},
			{"checkpoint by another key", good, "acct-alice", rogueCP, origin.Name, e2ee.ErrBadCheckpoint},
			{"checkpoint of another log", good, "acct-alice", cp.Signed, "haven.audit/other", e2ee.ErrBadCheckpoint},
		}
		for _, tt := range tests {
			err := e2ee.VerifyDevice(tt.d, tt.owner, tt.checkpoint, tt.origin, verifier)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
			}
		}
		if d, err := good.Device("acct-alice"); err != nil || d.Fingerprint() != dev.Fingerprint() {
			t.Errorf("verified device: %v", err)
		}
	})
}

func treeOf(t *testing.T, cp audit.Checkpoint) tlog.Tree {
	t.Helper()
	return tlog.Tree{N: cp.Size, Hash: cp.Root}
}

func noteKeys(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "haven-audit")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}
