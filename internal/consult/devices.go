package consult

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/consult/e2ee"
	"haven/internal/guard"
	"haven/internal/ids"
)

// Key-transparency leaves (docs/e2ee.md section 1): every addition and removal of a device's
// keys is one audit entry, recorded through the door, with no source address.
const (
	ActionKeyAdd    = "device.key-add"
	ActionKeyRemove = "device.key-remove"
	// ResourceDeviceKey is the resource type of those leaves.
	ResourceDeviceKey = "DeviceKey"
)

// maxLabel bounds a device's label, in characters.
const maxLabel = 100

// NewDevice is a device's public keys as its browser registers them.
type NewDevice struct {
	SignKey  string `json:"signKey"`  // Ed25519 public key, 32 bytes, b64url
	AgreeKey string `json:"agreeKey"` // X25519 public key, 32 bytes, b64url
	Label    string `json:"label,omitempty"`
}

// Device is one registered device.
type Device struct {
	DeviceID    string `json:"deviceId"`
	SignKey     string `json:"signKey"`
	AgreeKey    string `json:"agreeKey"`
	Label       string `json:"label"`
	Fingerprint string `json:"fingerprint"`
	AddedAt     string `json:"addedAt"` // RFC 3339
	// Entry is the key-transparency leaf that added it.
	Entry Entry `json:"entry"`
}

// Entry is an audit entry as the directory serves it: the e2ee package's, which devices check
// (all thirteen canonical fields, seq and time as decimal strings).
type Entry = e2ee.DirectoryEntry

func entryOf(e audit.Entry) Entry {
	return Entry{Seq: fmt.Sprint(e.Seq), Time: fmt.Sprint(e.Time.UnixNano()), ActorID: e.ActorID, ActorRole: e.ActorRole,
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, PatientID: e.PatientID,
		Outcome: e.Outcome, Reason: e.Reason, SourceAddr: e.SourceAddr, RequestID: e.RequestID, Purpose: e.Purpose}
}

// LeafReason is the reason of a device's leaves: its two public keys.
func LeafReason(signKey, agreeKey string) string {
	return "ed25519:" + signKey + " x25519:" + agreeKey
}

// publicKey decodes a 32-byte key in b64url without padding, refusing any other spelling.
func publicKey(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

const (
	selectDeviceCols = `SELECT device_id, account_id, sign_key, agree_key, label, fingerprint, added_seq, added_at, removed_at FROM device_keys`
	insertDevice     = `INSERT INTO device_keys (device_id, account_id, sign_key, agree_key, label, fingerprint, added_seq, added_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	removeDevice = `UPDATE device_keys SET removed_at = $1 WHERE device_id = $2 AND removed_at IS NULL`
)

type deviceRow struct {
	id, account, sign, agree, label, fingerprint string
	seq, addedAt                                 int64
	removed                                      bool
}

func scanDevice(r interface{ Scan(...any) error }) (deviceRow, error) {
	var d deviceRow
	var removed sql.NullInt64
	err := r.Scan(&d.id, &d.account, &d.sign, &d.agree, &d.label, &d.fingerprint, &d.seq, &d.addedAt, &removed)
	d.removed = removed.Valid
	return d, err
}

func (s *Service) devicesWhere(ctx context.Context, where string, args ...any) ([]deviceRow, error) {
	rows, err := s.db.QueryContext(ctx, selectDeviceCols+" WHERE "+where+" ORDER BY added_seq", args...)
	if err != nil {
		return nil, fmt.Errorf("consult: devices: %w", err)
	}
	defer rows.Close()
	var out []deviceRow
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("consult: devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// currentDevice is the caller's current (not removed) device id, or ErrUnknownDevice.
func (s *Service) currentDevice(ctx context.Context, accountID, deviceID string) (deviceRow, error) {
	if !ids.Valid(deviceID) {
		return deviceRow{}, ErrUnknownDevice
	}
	ds, err := s.devicesWhere(ctx, "device_id = $1 AND account_id = $2 AND removed_at IS NULL", deviceID, accountID)
	if err != nil {
		return deviceRow{}, err
	}
	if len(ds) == 0 {
		return deviceRow{}, ErrUnknownDevice
	}
	return ds[0], nil
}

// RegisterDevice adds the caller's device's public keys to the directory (device.register):
// one key-transparency leaf (device.key-add, no source address), then a checkpoint covering it,
// so the directory can prove the device at once. The same keys registered again answer the
// device already registered.
func (s *Service) RegisterDevice(ctx context.Context, by access.Subject, in NewDevice, o Origin) (Device, error) {
	if err := s.door.Admit(ctx, act(by, access.RegisterDevice, ResourceDeviceKey, "", "", o)); err != nil {
		return Device{}, err
	}
	sign, ok := publicKey(in.SignKey)
	if !ok {
		return Device{}, ErrBadKey
	}
	agree, ok := publicKey(in.AgreeKey)
	if !ok {
		e := *ErrBadKey
		e.Field = "agreeKey"
		return Device{}, &e
	}
	label := strings.TrimSpace(strings.ToValidUTF8(in.Label, ""))
	if utf8.RuneCountInString(label) > maxLabel {
		label = string([]rune(label)[:maxLabel])
	}
	mine, err := s.devicesWhere(ctx, "account_id = $1 AND removed_at IS NULL", by.AccountID)
	if err != nil {
		return Device{}, err
	}
	for _, d := range mine {
		if d.sign == in.SignKey && d.agree == in.AgreeKey {
			if err := s.covered(ctx, d.seq); err != nil {
				return Device{}, err
			}
			return s.device(ctx, d)
		}
	}
	if len(mine) >= maxDevices {
		return Device{}, ErrTooManyDevices
	}
	id := ids.New()
	reason := LeafReason(in.SignKey, in.AgreeKey)
	// The leaf first: a device row is never served without the leaf that proves it.
	err = s.door.Record(ctx, guard.Event{By: by, Action: ActionKeyAdd, Resource: access.Resource{Type: ResourceDeviceKey, ID: id},
		Outcome: audit.Success, Reason: reason, Origin: Origin{RequestID: o.RequestID}})
	if err != nil {
		return Device{}, err
	}
	seq, err := s.leafSeq(ctx, by.AccountID, ActionKeyAdd, id, reason)
	if err != nil {
		return Device{}, err
	}
	row := deviceRow{id: id, account: by.AccountID, sign: in.SignKey, agree: in.AgreeKey, label: label,
		fingerprint: e2ee.Fingerprint(sign, agree), seq: seq, addedAt: s.now().UnixNano()}
	if _, err := s.db.ExecContext(ctx, insertDevice, row.id, row.account, row.sign, row.agree, row.label, row.fingerprint, row.seq, row.addedAt); err != nil {
		return Device{}, fmt.Errorf("consult: register device: %w", err)
	}
	if err := s.covered(ctx, seq); err != nil {
		return Device{}, err
	}
	return s.device(ctx, row)
}

// leafSeq finds the seq of the leaf just recorded (the door answers no index).
func (s *Service) leafSeq(ctx context.Context, accountID, action, deviceID, reason string) (int64, error) {
	es, err := audit.Search(ctx, s.db, audit.Filter{ActorID: accountID, Action: action, Outcome: audit.Success, Limit: 1000})
	if err != nil {
		return 0, fmt.Errorf("consult: find key leaf: %w", err)
	}
	for _, e := range es {
		if e.ResourceType == ResourceDeviceKey && e.ResourceID == deviceID && e.Reason == reason {
			return e.Seq, nil
		}
	}
	return 0, fmt.Errorf("consult: key leaf of device %s not found", deviceID)
}

// covered makes sure a signed checkpoint covers entry seq, publishing one if the latest does not.
func (s *Service) covered(ctx context.Context, seq int64) error {
	_, err := s.checkpointFor(ctx, seq)
	return err
}

func (s *Service) checkpointFor(ctx context.Context, seq int64) (audit.Checkpoint, error) {
	cp, err := audit.Latest(ctx, s.db)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	if cp.Size >= seq && cp.Size > 0 {
		return cp, nil
	}
	if s.deps.Publish == nil {
		return audit.Checkpoint{}, errUnavailable
	}
	cp, err = s.deps.Publish(ctx)
	if err != nil && cp.Size == 0 {
		return audit.Checkpoint{}, fmt.Errorf("consult: publish checkpoint: %w", errors.Join(errUnavailable, err))
	}
	// A witness that failed after the checkpoint was stored does not make it less signed.
	if cp.Size < seq {
		return audit.Checkpoint{}, errUnavailable
	}
	return cp, nil
}

// device is a row as its owner reads it, with its leaf.
func (s *Service) device(ctx context.Context, d deviceRow) (Device, error) {
	e, err := audit.EntryAt(ctx, s.db, d.seq)
	if err != nil {
		return Device{}, fmt.Errorf("consult: device leaf: %w", err)
	}
	return Device{DeviceID: d.id, SignKey: d.sign, AgreeKey: d.agree, Label: d.label, Fingerprint: d.fingerprint,
		AddedAt: unixRFC3339(d.addedAt), Entry: entryOf(e)}, nil
}

// MyDevices lists the caller's current devices: their own account's, no PHI.
func (s *Service) MyDevices(ctx context.Context, by access.Subject) ([]Device, error) {
	rows, err := s.devicesWhere(ctx, "account_id = $1 AND removed_at IS NULL", by.AccountID)
	if err != nil {
		return nil, err
	}
	out := []Device{}
	for _, d := range rows {
		dev, err := s.device(ctx, d)
		if err != nil {
			return nil, err
		}
		out = append(out, dev)
	}
	return out, nil
}

// RemoveDevice takes one of the caller's devices out of the directory (device.remove): a
// device.key-remove leaf, then a checkpoint covering it. Another person's device is refused
// and the refusal recorded.
func (s *Service) RemoveDevice(ctx context.Context, by access.Subject, deviceID string, o Origin) error {
	a := act(by, access.RemoveDevice, ResourceDeviceKey, "", "", o)
	if ids.Valid(deviceID) {
		a.Resource.ID = deviceID
	}
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	if !ids.Valid(deviceID) {
		return ErrNotFound
	}
	ds, err := s.devicesWhere(ctx, "device_id = $1", deviceID)
	if err != nil {
		return err
	}
	if len(ds) == 0 || ds[0].removed {
		return ErrNotFound
	}
	d := ds[0]
	if d.account != by.AccountID {
		return s.door.Refuse(ctx, a, ReasonNotOwnDevice)
	}
	reason := LeafReason(d.sign, d.agree)
	err = s.door.Record(ctx, guard.Event{By: by, Action: ActionKeyRemove, Resource: access.Resource{Type: ResourceDeviceKey, ID: d.id},
		Outcome: audit.Success, Reason: reason, Origin: Origin{RequestID: o.RequestID}})
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, removeDevice, s.now().UnixNano(), d.id); err != nil {
		return fmt.Errorf("consult: remove device: %w", err)
	}
	seq, err := s.leafSeq(ctx, by.AccountID, ActionKeyRemove, d.id, reason)
	if err != nil {
		return err
	}
	return s.covered(ctx, seq)
}
