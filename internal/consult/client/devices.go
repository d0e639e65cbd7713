package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
)

// Registered is this device as the directory answered its registration.
type Registered struct {
	DeviceID    string          `json:"deviceId"`
	Fingerprint string          `json:"fingerprint"` // hex(SHA-256("haven-device-v1\x00" ‖ signKey ‖ agreeKey))
	Entry       json.RawMessage `json:"entry"`       // its device.key-add leaf
}

// OwnDevice is one of the signed-in person's devices as GET /api/v1/me/devices lists it.
type OwnDevice struct {
	DeviceID    string `json:"deviceId"`
	Label       string `json:"label"`
	Fingerprint string `json:"fingerprint"`
	SignKey     string `json:"signKey"`
	AgreeKey    string `json:"agreeKey"`
}

// registerPublic registers public keys (raw 32 bytes each) under label.
func (c *Client) registerPublic(ctx context.Context, signKey, agreeKey []byte, label string) (Registered, error) {
	var r Registered
	err := c.do(ctx, "POST", "/api/v1/me/devices", map[string]string{
		"signKey":  base64.RawURLEncoding.EncodeToString(signKey),
		"agreeKey": base64.RawURLEncoding.EncodeToString(agreeKey),
		"label":    label,
	}, 201, &r)
	return r, err
}

// Devices lists the signed-in person's own devices.
func (c *Client) Devices(ctx context.Context) ([]OwnDevice, error) {
	var m struct {
		Devices []OwnDevice `json:"devices"`
	}
	if err := c.do(ctx, "GET", "/api/v1/me/devices", nil, 200, &m); err != nil {
		return nil, err
	}
	return m.Devices, nil
}

// RemoveDevice removes one of the signed-in person's devices (a device.key-remove leaf).
func (c *Client) RemoveDevice(ctx context.Context, deviceID string) error {
	return c.do(ctx, "DELETE", "/api/v1/me/devices/"+url.PathEscape(deviceID), nil, 200, nil)
}
