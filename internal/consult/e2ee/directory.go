package e2ee

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The audit leaf of a device key (§1).
const (
	ActionKeyAdd    = "device.key-add"
	ActionKeyRemove = "device.key-remove"
	ResourceDevice  = "DeviceKey"
	OutcomeSuccess  = "success"
)

// LeafReason is the reason of a device's key leaf: "ed25519:" + b64(sign) + " x25519:" +
// b64(agree).
func LeafReason(sign, agree []byte) string {
	return "ed25519:" + encodeB64(sign) + " x25519:" + encodeB64(agree)
}

// DirectoryEntry is an audit entry as the key directory serves it: the audit log's fields, with
// seq and time (unix nanoseconds) as decimal strings so JavaScript reads them exactly.
type DirectoryEntry struct {
	Seq          string `json:"seq"`
	Time         string `json:"time"`
	ActorID      string `json:"actorId"`
	ActorRole    string `json:"actorRole"`
	Action       string `json:"action"`
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceId"`
	PatientID    string `json:"patientId"`
	Outcome      string `json:"outcome"`
	Reason       string `json:"reason"`
	SourceAddr   string `json:"sourceAddr"`
	RequestID    string `json:"requestId"`
	Purpose      string `json:"purpose"`
}

// DirectoryDevice is one device of a person in a directory answer, with the proof that its
// keys are a leaf of the audit log.
type DirectoryDevice struct {
	DeviceID string         `json:"deviceId"`
	SignKey  B64            `json:"signKey"`
	AgreeKey B64            `json:"agreeKey"`
	Entry    DirectoryEntry `json:"entry"`
	Proof    []B64          `json:"proof"`
}

// Device returns the directory device as a Device of owner (after VerifyDevice).
func (d DirectoryDevice) Device(owner string) (Device, error) {
	return ParseDevice(d.DeviceID, owner, d.SignKey, d.AgreeKey)
}

// parseDecimal reads a canonical decimal int64: no sign, no leading zeros.
func parseDecimal(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && strconv.FormatInt(n, 10) == s && !strings.HasPrefix(s, "+")
}

// CanonicalEntry is the entry's encoding in the audit log (internal/audit.Canonical):
// u64be(seq) ‖ u64be(time) ‖ u32 of each string field in order. seq and time must be canonical
// decimals, so one served entry has one encoding.
func CanonicalEntry(e DirectoryEntry) ([]byte, error) {
	seq, ok := parseDecimal(e.Seq)
	if !ok || seq < 1 {
		return nil, fmt.Errorf("%w: entry seq %q", ErrMalformed, e.Seq)
	}
	t, ok := parseDecimal(e.Time)
	if !ok {
		return nil, fmt.Errorf("%w: entry time %q", ErrMalformed, e.Time)
	}
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	for _, f := range []string{e.ActorID, e.ActorRole, e.Action, e.ResourceType, e.ResourceID,
		e.PatientID, e.Outcome, e.Reason, e.SourceAddr, e.RequestID, e.Purpose} {
		b = appendField(b, []byte(f))
	}
	return b, nil
}

// VerifyDevice runs the three checks of §1 on a served device of owner before its keys are
// used: (1) its entry records exactly this device, owner, action and keys (ErrKeyNotInEntry);
// (3) checkpoint is a note signed by verifier whose first line is origin (ErrBadCheckpoint);
// (2) the entry's leaf is at index seq−1 of the checkpoint's tree (ErrNotInLog).
func VerifyDevice(d DirectoryDevice, owner string, checkpoint []byte, origin string, verifier note.Verifier) error {
	e := d.Entry
	if len(d.SignKey) != ed25519.PublicKeySize || len(d.AgreeKey) != keySize || d.DeviceID == "" || owner == "" ||
		e.ResourceID != d.DeviceID || e.ActorID != owner || e.Action != ActionKeyAdd ||
		e.ResourceType != ResourceDevice || e.Outcome != OutcomeSuccess || e.Reason != LeafReason(d.SignKey, d.AgreeKey) {
		return ErrKeyNotInEntry
	}
	tree, err := OpenCheckpoint(checkpoint, origin, verifier)
	if err != nil {
		return err
	}
	canon, err := CanonicalEntry(e)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotInLog, err)
	}
	seq, _ := parseDecimal(e.Seq)
	if seq > tree.N {
		return fmt.Errorf("%w: entry %d is past the checkpoint's size %d", ErrNotInLog, seq, tree.N)
	}
	proof := make(tlog.RecordProof, len(d.Proof))
	for i, h := range d.Proof {
		if len(h) != tlog.HashSize {
			return fmt.Errorf("%w: proof hash %d", ErrNotInLog, i)
		}
		copy(proof[i][:], h)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, seq-1, tlog.RecordHash(canon)); err != nil {
		return fmt.Errorf("%w: %v", ErrNotInLog, err)
	}
	return nil
}

// OpenCheckpoint checks a signed checkpoint (C2SP tlog-checkpoint in a signed note) against
// the pinned verifier key and log origin and returns the tree it names: ErrBadCheckpoint if the
// signature, the origin or the body is wrong.
func OpenCheckpoint(checkpoint []byte, origin string, verifier note.Verifier) (tlog.Tree, error) {
	if verifier == nil || origin == "" {
		return tlog.Tree{}, fmt.Errorf("%w: no pinned key or origin", ErrBadCheckpoint)
	}
	n, err := note.Open(checkpoint, note.VerifierList(verifier))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	text := n.Text
	if !strings.HasSuffix(text, "\n") {
		return tlog.Tree{}, fmt.Errorf("%w: body", ErrBadCheckpoint)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("%w: another log's checkpoint", ErrBadCheckpoint)
	}
	size, ok := parseDecimal(lines[1])
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if !ok || size < 0 || err != nil || len(root) != tlog.HashSize || !bytes.Equal([]byte(base64.StdEncoding.EncodeToString(root)), []byte(lines[2])) {
		return tlog.Tree{}, fmt.Errorf("%w: body", ErrBadCheckpoint)
	}
	t := tlog.Tree{N: size}
	copy(t.Hash[:], root)
	return t, nil
}

// DirectoryAnswer is the key directory's answer (GET /api/v1/visits/{id}/keys and
// /api/v1/patients/{id}/thread/keys): a checkpoint, the log origin it names, and the people
// with their devices and proofs.
type DirectoryAnswer struct {
	Checkpoint string            `json:"checkpoint"`
	Origin     string            `json:"origin"`
	People     []DirectoryPerson `json:"people"`
}

// DirectoryPerson is one person of a directory answer.
type DirectoryPerson struct {
	AccountID   string            `json:"accountId"`
	Role        string            `json:"role"`
	DisplayName string            `json:"displayName"`
	Devices     []DirectoryDevice `json:"devices"`
}
