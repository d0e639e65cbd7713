package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/consult/e2ee"
)

// ErrPinChanged is returned when Haven's checkpoint key or log origin differs from the one this
// client pinned on first use: every key proof would then be checked against a different log.
var ErrPinChanged = errors.New("client: Haven's audit log key or origin changed since this device first saw it; stop and ask Haven's administrators before trusting any key")

// Device is another device's public keys, verified against the audit log (docs/e2ee.md §1).
type Device struct {
	Account     string
	Role        string
	DisplayName string
	DeviceID    string
	Public      e2ee.Device // its id, owner and public keys
	Seq         int64       // the index of its device.key-add leaf in the audit log
}

// Refusal is a device whose keys failed a check: nothing is sealed to it or accepted from it.
type Refusal struct {
	DeviceID string
	Err      error
}

// Person is one member of a visit or thread with their verified devices.
type Person struct {
	Account     string
	Role        string
	DisplayName string
	Devices     []Device
	Refused     []Refusal
	// KeysChanged says this person's set of verified signing keys differs from the one this
	// device accepted for them (a device added or removed, or a key replaced): compare the
	// safety number again, then AcceptKeys; Send refuses until then.
	KeysChanged bool
}

// Warning is what to tell the user about this person's keys, or "" if there is nothing to say.
func (p Person) Warning() string {
	switch {
	case len(p.Refused) > 0:
		return fmt.Sprintf("A key served for %s could not be checked against Haven's public log, so nothing is sent to it or accepted from it.", p.DisplayName)
	case p.KeysChanged:
		return fmt.Sprintf("%s's devices changed. Compare your safety number again before sending anything.", p.DisplayName)
	}
	return ""
}

// Directory is a verified answer of the key directory.
type Directory struct {
	Origin     string
	Checkpoint string
	People     []Person
}

// Devices is every verified device in the directory, in order.
func (d *Directory) Devices() []Device {
	var out []Device
	for _, p := range d.People {
		out = append(out, p.Devices...)
	}
	return out
}

// Person is the member with account id account, if any.
func (d *Directory) Person(account string) (Person, bool) {
	for _, p := range d.People {
		if p.Account == account {
			return p, true
		}
	}
	return Person{}, false
}

// Device is the verified device id, if any.
func (d *Directory) Device(id string) (Device, bool) {
	for _, p := range d.People {
		for _, dv := range p.Devices {
			if dv.DeviceID == id {
				return dv, true
			}
		}
	}
	return Device{}, false
}

// pin is the audit log this client trusts: its origin line and checkpoint verifier key.
type pin struct {
	origin   string
	verifier string // note verifier key, "name+hash+key"
}

// auditKey fetches Haven's checkpoint verifier key and pins it (and the log origin) on first
// use; a later different one is ErrPinChanged.
func (c *Client) auditKey(ctx context.Context, origin string) (pin, error) {
	c.mu.Lock()
	p := c.pin
	c.mu.Unlock()
	if p.verifier == "" {
		raw, err := c.doRaw(ctx, "GET", "/api/v1/audit/key", nil, 200)
		if err != nil {
			return pin{}, fmt.Errorf("client: Haven's audit key: %w", err)
		}
		p = pin{origin: origin, verifier: strings.TrimSpace(string(raw))}
		c.mu.Lock()
		if c.pin.verifier == "" {
			c.pin = p
		}
		p = c.pin
		c.mu.Unlock()
	}
	if p.origin != origin {
		return pin{}, ErrPinChanged
	}
	return p, nil
}

// Pin sets the audit log origin and verifier key this client trusts, instead of pinning on
// first use (an integration that ships with Haven's key).
func (c *Client) Pin(origin, verifierKey string) {
	c.mu.Lock()
	c.pin = pin{origin: origin, verifier: verifierKey}
	c.mu.Unlock()
}

// VisitKeys fetches and verifies the devices of visit visitID's participants.
func (c *Client) VisitKeys(ctx context.Context, visitID string) (*Directory, error) {
	return c.keys(ctx, "/api/v1/visits/"+url.PathEscape(visitID)+"/keys")
}

// ThreadKeys fetches and verifies the devices of patient patientID's secure-messaging thread.
func (c *Client) ThreadKeys(ctx context.Context, patientID string) (*Directory, error) {
	return c.keys(ctx, "/api/v1/patients/"+url.PathEscape(patientID)+"/thread/keys")
}

// keys fetches a directory answer and checks every device in it (docs/e2ee.md §1): a device
// that fails a check is listed among its person's Refused, never among Devices.
func (c *Client) keys(ctx context.Context, path string) (*Directory, error) {
	raw, err := c.doRaw(ctx, "GET", path, nil, 200)
	if err != nil {
		return nil, err
	}
	w, err := e2ee.ParseDirectoryAnswer(raw)
	if err != nil {
		return nil, err
	}
	p, err := c.auditKey(ctx, w.Origin)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(p.verifier)
	if err != nil {
		return nil, fmt.Errorf("client: Haven's audit key: %w", err)
	}
	d := &Directory{Origin: w.Origin, Checkpoint: w.Checkpoint}
	for _, wp := range w.People {
		person := Person{Account: wp.AccountID, Role: wp.Role, DisplayName: wp.DisplayName}
		for _, wd := range wp.Devices {
			dv, err := verifyDevice(verifier, p.origin, w.Checkpoint, wp, wd)
			if err != nil {
				person.Refused = append(person.Refused, Refusal{DeviceID: wd.DeviceID, Err: err})
				continue
			}
			person.Devices = append(person.Devices, dv)
		}
		person.KeysChanged = c.noteKeys(person)
		d.People = append(d.People, person)
	}
	return d, nil
}

// verifyDevice runs the three checks of docs/e2ee.md §1 on one served device (e2ee.VerifyDevice)
// and returns it as a Device only if they pass.
func verifyDevice(v note.Verifier, origin, checkpoint string, p e2ee.DirectoryPerson, d e2ee.DirectoryDevice) (Device, error) {
	if err := e2ee.VerifyDevice(d, p.AccountID, []byte(checkpoint), origin, v); err != nil {
		return Device{}, fmt.Errorf("client: the key of %s's device %s: %w", p.DisplayName, d.DeviceID, err)
	}
	pub, err := d.Device(p.AccountID)
	if err != nil {
		return Device{}, fmt.Errorf("client: the key of %s's device %s: %w", p.DisplayName, d.DeviceID, err)
	}
	seq, _ := strconv.ParseInt(d.Entry.Seq, 10, 64)
	return Device{Account: p.AccountID, Role: p.Role, DisplayName: p.DisplayName, DeviceID: d.DeviceID, Public: pub, Seq: seq}, nil
}

// noteKeys compares person's verified signing keys with the set this device accepted for them
// and reports a difference. The first sight is accepted (trust on first use, as the safety
// number comparison then confirms); a later change stays reported until AcceptKeys.
func (c *Client) noteKeys(p Person) bool {
	keys := signKeys(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	before, seen := c.seen[p.Account]
	if !seen {
		if len(p.Refused) == 0 { // a first sight with a refused key is not one to trust
			c.seen[p.Account] = keys
		}
		return false
	}
	return !slices.Equal(before, keys)
}

// AcceptKeys accepts person's current devices after the safety number was compared again:
// their key set no longer counts as changed, and Send seals to them again.
func (c *Client) AcceptKeys(p Person) {
	c.mu.Lock()
	c.seen[p.Account] = signKeys(p)
	c.mu.Unlock()
}

func signKeys(p Person) []string {
	keys := make([]string, 0, len(p.Devices))
	for _, d := range p.Devices {
		keys = append(keys, base64.RawURLEncoding.EncodeToString(d.Public.SignKey))
	}
	slices.Sort(keys)
	return keys
}
