package e2ee

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"fmt"
	"sync"
)

// Inbox is a receiving device's memory of what it accepted: the last seq per (sender device,
// thread). It is what makes a replayed or reordered envelope refused. The zero Inbox is empty
// and ready; an Inbox is safe for concurrent use.
type Inbox struct {
	mu   sync.Mutex
	last map[inboxKey]uint64
}

type inboxKey struct{ account, device, thread string }

// Last is the last seq accepted from sender in thread (0 if none).
func (in *Inbox) Last(sender DeviceRef, thread string) uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.last[inboxKey{sender.Account, sender.Device, thread}]
}

// Restore sets the last accepted seq, for a device that keeps its Inbox across restarts. It
// never lowers a seq already recorded.
func (in *Inbox) Restore(sender DeviceRef, thread string, seq uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	k := inboxKey{sender.Account, sender.Device, thread}
	if in.last == nil {
		in.last = map[inboxKey]uint64{}
	}
	if seq > in.last[k] {
		in.last[k] = seq
	}
}

// Open checks env and returns its plaintext. senderKey must be the signing key of
// env.Sender.Device as the verified key directory serves it (VerifyDevice); thread is the
// thread the device asked for; me and myKeys are the receiving device.
//
// In order: the envelope is well formed (ErrMalformed), its signature verifies (ErrAltered),
// it belongs to thread (ErrWrongThread), it has a recipient entry for me.ID (ErrNotForMe), its
// seq is above the last accepted from that sender device in that thread (ErrReplayed), and both
// AES-GCM openings succeed (ErrAltered). Only then is the seq recorded, so a refused envelope
// never moves the Inbox.
func (in *Inbox) Open(env Envelope, me Device, myKeys DeviceKeys, senderKey ed25519.PublicKey, thread string) ([]byte, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	if len(senderKey) != ed25519.PublicKeySize || !ed25519.Verify(senderKey, signedData(env), env.Sig) {
		return nil, ErrAltered
	}
	if env.Thread != thread {
		return nil, ErrWrongThread
	}
	var mine *Recipient
	for i := range env.Recipients {
		if env.Recipients[i].Device == me.ID {
			mine = &env.Recipients[i]
		}
	}
	if mine == nil || myKeys.Agree == nil {
		return nil, ErrNotForMe
	}
	k := inboxKey{env.Sender.Account, env.Sender.Device, env.Thread}
	if env.Seq <= in.Last(env.Sender, env.Thread) {
		return nil, ErrReplayed
	}

	epk, err := ecdh.X25519().NewPublicKey(env.EPK)
	if err != nil {
		return nil, ErrAltered
	}
	shared, err := myKeys.Agree.ECDH(epk)
	if err != nil {
		return nil, ErrAltered
	}
	kek, err := deriveKEK(shared, env.EPK, myKeys.Agree.PublicKey().Bytes(), env.ID, me.ID)
	if err != nil {
		return nil, err
	}
	g, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	ck, err := g.Open(nil, mine.IV, mine.Wrapped, []byte(env.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: content key does not open", ErrAltered)
	}
	g, err = newGCM(ck)
	if err != nil {
		return nil, ErrAltered
	}
	plain, err := g.Open(nil, env.IV, env.Ciphertext, bodyAAD(env))
	if err != nil {
		return nil, fmt.Errorf("%w: body does not open", ErrAltered)
	}

	in.mu.Lock()
	defer in.mu.Unlock()
	if in.last == nil {
		in.last = map[inboxKey]uint64{}
	}
	if env.Seq <= in.last[k] { // another Open of the same sender got there first
		return nil, ErrReplayed
	}
	in.last[k] = env.Seq
	return plain, nil
}
