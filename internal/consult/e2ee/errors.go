package e2ee

import "errors"

// Errors a receiving device tells apart. Each refusal is shown to the person as refused, never
// as the message or call it claimed to be.
var (
	// ErrMalformed means an envelope, description or directory answer is not well formed
	// (wrong JSON shape, wrong field sizes, unknown version).
	ErrMalformed = errors.New("e2ee: malformed")
	// ErrAltered means a signature or an AES-GCM opening failed: the envelope was changed
	// after its sender signed it, or was not signed by the device it names.
	ErrAltered = errors.New("e2ee: altered or not signed by its sender")
	// ErrReplayed means the envelope's seq is not greater than the last one accepted from
	// that sender device in that thread: a replay or a reordering.
	ErrReplayed = errors.New("e2ee: replayed or out of order")
	// ErrWrongThread means a validly signed envelope of another thread was served.
	ErrWrongThread = errors.New("e2ee: envelope of another thread")
	// ErrNotForMe means the envelope has no recipient entry for this device (for example a
	// device registered after the message was sent).
	ErrNotForMe = errors.New("e2ee: not encrypted for this device")

	// ErrBadDescription means a signed session description does not verify: its signature,
	// its fingerprint, its addressee or its nonce is wrong.
	ErrBadDescription = errors.New("e2ee: session description could not be verified")
	// ErrReplayedNonce means a description's nonce was seen before.
	ErrReplayedNonce = errors.New("e2ee: description nonce seen before")
	// ErrSDPFingerprint means an SDP has no DTLS fingerprint, several that differ, or one that
	// is not a well-formed sha-256/384/512 fingerprint.
	ErrSDPFingerprint = errors.New("e2ee: SDP has no single valid DTLS fingerprint")

	// ErrKeyNotInEntry means a directory entry does not name the served device, owner, action
	// or keys (check 1 of docs/e2ee.md §1).
	ErrKeyNotInEntry = errors.New("e2ee: served key is not the one its log entry records")
	// ErrNotInLog means the entry's inclusion proof does not lead to the checkpoint's root
	// (check 2).
	ErrNotInLog = errors.New("e2ee: key entry is not in the audit log")
	// ErrBadCheckpoint means the checkpoint is not signed by the pinned key, or names another
	// log (check 3).
	ErrBadCheckpoint = errors.New("e2ee: checkpoint not signed by Haven's log key for this log")
)
