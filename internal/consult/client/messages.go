package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"haven/internal/consult/e2ee"
)

// ErrKeysChanged is Send's refusal while a member's devices changed since this device accepted
// them: compare the safety number again, then AcceptKeys.
var ErrKeysChanged = errors.New("client: a member's devices changed; compare the safety number again before sending")

// ErrUnknownSender is the refusal of an envelope whose sender device is not among the verified
// devices of the thread's directory.
var ErrUnknownSender = errors.New("client: the message's sender device is not one the directory verified")

// VisitThread and PatientThread name the two kinds of thread (docs/e2ee.md §3).
func VisitThread(visitID string) string     { return "visit." + visitID }
func PatientThread(patientID string) string { return "patient." + patientID }

// Send seals msg on this device for every verified device of every member of dir (this
// person's other devices included) and posts it to thread. A device whose key failed
// verification gets nothing; a member whose devices changed stops the send (ErrKeysChanged).
func (c *Client) Send(ctx context.Context, thread string, dir *Directory, msg e2ee.Message) (Posted, e2ee.Envelope, error) {
	env, err := c.Seal(thread, dir, msg)
	if err != nil {
		return Posted{}, env, err
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return Posted{}, env, fmt.Errorf("client: encode envelope: %w", err)
	}
	p, err := c.PostEnvelope(ctx, thread, raw)
	return p, env, err
}

// Seal is Send without the post: the envelope this device's next message in thread would be.
// It takes the thread's next seq.
func (c *Client) Seal(thread string, dir *Directory, msg e2ee.Message) (e2ee.Envelope, error) {
	me, err := c.self()
	if err != nil {
		return e2ee.Envelope{}, err
	}
	var recipients []e2ee.Device
	for _, p := range dir.People {
		if p.KeysChanged {
			return e2ee.Envelope{}, fmt.Errorf("%w (%s)", ErrKeysChanged, p.DisplayName)
		}
		for _, d := range p.Devices {
			recipients = append(recipients, d.Public)
		}
	}
	plain, err := msg.Marshal()
	if err != nil {
		return e2ee.Envelope{}, err
	}
	c.mu.Lock()
	c.seq[thread]++
	seq := c.seq[thread]
	c.mu.Unlock()
	env, err := e2ee.Seal(nil, e2ee.Sender{Account: me.account, Device: me.device, Keys: me.keys}, thread, seq, time.Now(), plain, recipients)
	if err != nil {
		return e2ee.Envelope{}, fmt.Errorf("client: seal: %w", err)
	}
	return env, nil
}

// RestoreSeq sets the last seq this device sent in thread, for a device whose keys outlive
// one Client (the server refuses a seq it has seen).
func (c *Client) RestoreSeq(thread string, last uint64) {
	c.mu.Lock()
	c.seq[thread] = max(c.seq[thread], last)
	c.mu.Unlock()
}

// Received is one envelope of a thread as this device opened it, or the reason it was refused.
// A refused message is shown as refused ("This message was changed, repeated or sent out of
// order, so it is not shown"), never as what it claims to be.
type Received struct {
	Raw      json.RawMessage
	Envelope e2ee.Envelope
	From     Device // the verified sender device
	Message  e2ee.Message
	Err      error // nil if the message was accepted
}

// Fetch gets thread's messages after the message id after ("" for all) and opens each with the
// verified directory dir. Refusals are in each Received's Err; the error is for the fetch.
func (c *Client) Fetch(ctx context.Context, thread string, dir *Directory, after string) ([]Received, error) {
	raws, err := c.FetchEnvelopes(ctx, thread, after)
	if err != nil {
		return nil, err
	}
	out := make([]Received, 0, len(raws))
	for _, raw := range raws {
		out = append(out, c.Open(thread, dir, raw))
	}
	return out, nil
}

// Open checks and decrypts one envelope of thread as it came from the server (docs/e2ee.md §3):
// well formed, signed by a sender device dir verified, of this thread, encrypted for this
// device, with a seq above the last accepted from that device in that thread. Accepting it
// records its seq, so the same envelope offered again is refused as replayed.
func (c *Client) Open(thread string, dir *Directory, raw json.RawMessage) Received {
	r := Received{Raw: raw}
	me, err := c.self()
	if err != nil {
		r.Err = err
		return r
	}
	if r.Envelope, r.Err = e2ee.ParseEnvelope(raw); r.Err != nil {
		return r
	}
	from, ok := dir.Device(r.Envelope.Sender.Device)
	if !ok || from.Account != r.Envelope.Sender.Account {
		r.Err = ErrUnknownSender
		return r
	}
	r.From = from
	plain, err := c.inbox.Open(r.Envelope, me.keys.Public(me.device, me.account), me.keys, from.Public.SignKey, thread)
	if err != nil {
		r.Err = err
		return r
	}
	r.Message, r.Err = e2ee.ParseMessage(plain)
	return r
}

// Attach encrypts a file on this device (e2ee.SealFile), uploads the ciphertext to thread and
// returns the Attachment to put in the message that carries its key.
func (c *Client) Attach(ctx context.Context, thread, name, mediaType string, data []byte) (e2ee.Attachment, error) {
	a, ct, err := e2ee.SealFile(nil, name, mediaType, data)
	if err != nil {
		return e2ee.Attachment{}, err
	}
	if a.ID, err = c.PostAttachment(ctx, thread, ct); err != nil {
		return e2ee.Attachment{}, err
	}
	return a, nil
}

// OpenAttachment downloads an attachment of thread and decrypts it with the key its message
// carried, checking its size and hash.
func (c *Client) OpenAttachment(ctx context.Context, thread string, a e2ee.Attachment) ([]byte, error) {
	ct, err := c.FetchAttachment(ctx, thread, a.ID)
	if err != nil {
		return nil, err
	}
	return e2ee.OpenFile(a, ct)
}
