package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"haven/internal/consult/e2ee"
)

// ErrNoDevice is returned by what needs this device's keys before RegisterDevice.
var ErrNoDevice = errors.New("client: register this device's keys first (RegisterDevice)")

// self is this device: its keys (which never leave the Client) and who it is.
type self struct {
	keys    e2ee.DeviceKeys
	account string
	device  string
}

// RegisterDevice registers keys as this device of the signed-in person under label and keeps
// them for signing and opening. Only the public halves are sent. Registering the same keys
// again answers the existing device.
func (c *Client) RegisterDevice(ctx context.Context, keys e2ee.DeviceKeys, label string) (Registered, error) {
	pub := keys.Public("", "")
	r, err := c.registerPublic(ctx, pub.SignKey, pub.AgreeKey.Bytes(), label)
	if err != nil {
		return Registered{}, err
	}
	var entry e2ee.DirectoryEntry
	if err := json.Unmarshal(r.Entry, &entry); err != nil || entry.ActorID == "" || entry.ResourceID != r.DeviceID {
		return Registered{}, fmt.Errorf("client: the registration's leaf does not name this device")
	}
	if entry.Reason != e2ee.LeafReason(pub.SignKey, pub.AgreeKey.Bytes()) || r.Fingerprint != e2ee.Fingerprint(pub.SignKey, pub.AgreeKey.Bytes()) {
		return Registered{}, fmt.Errorf("client: the registration's leaf or fingerprint is not of these keys")
	}
	c.mu.Lock()
	c.me = &self{keys: keys, account: entry.ActorID, device: r.DeviceID}
	c.mu.Unlock()
	return r, nil
}

// Me is this device as the directory knows it (empty before RegisterDevice).
func (c *Client) Me() Who {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.me == nil {
		return Who{}
	}
	return Who{Account: c.me.account, Device: c.me.device}
}

func (c *Client) self() (*self, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.me == nil {
		return nil, ErrNoDevice
	}
	return c.me, nil
}

// SafetyNumber is the safety number of this device's person and the person with account id
// other (docs/e2ee.md §2), from the verified devices of d: 12 groups of 5 digits, the same on
// both sides and in video and chat.
func (c *Client) SafetyNumber(d *Directory, other string) (string, error) {
	me, err := c.self()
	if err != nil {
		return "", err
	}
	a, ok := d.Person(me.account)
	b, ok2 := d.Person(other)
	if !ok || !ok2 {
		return "", errors.New("client: safety number: both people must be in the directory")
	}
	return e2ee.SafetyNumber(safetyPerson(a), safetyPerson(b)), nil
}

func safetyPerson(p Person) e2ee.Person {
	sp := e2ee.Person{Account: p.Account}
	for _, d := range p.Devices {
		sp.SignKeys = append(sp.SignKeys, d.Public.SignKey)
	}
	return sp
}
