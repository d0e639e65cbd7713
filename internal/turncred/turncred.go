// Package turncred makes and checks the embedded TURN relay's short-lived credentials, as
// docs/e2ee.md section 4 defines them: the consult service issues them to a visit's
// participants and the relay (package turnrelay) checks them, with one secret the server makes.
package turncred

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // TURN's REST credential is HMAC-SHA1 (the browsers' side is fixed)
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"haven/internal/ids"
)

// The credential format: the username is "<expiry unix>:<visitId>:<deviceId>" and the password
// base64(HMAC-SHA1(secret, username)), standard base64 with padding as TURN REST credentials are.

// TTL is how long a credential is good for.
const TTL = 10 * time.Minute

// maxAhead refuses a credential that claims to last much longer than any the server issues.
const maxAhead = time.Hour

// ErrCredential is a username that is malformed, expired or not one the server issues.
var ErrCredential = errors.New("turn credential refused")

// Username is the TURN username for deviceID in visitID, good until expiry.
func Username(expiry time.Time, visitID, deviceID string) string {
	return strconv.FormatInt(expiry.Unix(), 10) + ":" + visitID + ":" + deviceID
}

// Password is the TURN password (the credential) for username under secret.
func Password(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Credential is a username and password for deviceID in visitID, good for TTL from now.
func Credential(secret []byte, now time.Time, visitID, deviceID string) (username, password string) {
	username = Username(now.Add(TTL), visitID, deviceID)
	return username, Password(secret, username)
}

// ParseUsername reads a username and refuses one that is malformed or not good at now.
func ParseUsername(username string, now time.Time) (expiry time.Time, visitID, deviceID string, err error) {
	parts := strings.Split(username, ":")
	if len(parts) != 3 || !ids.Valid(parts[1]) || !ids.Valid(parts[2]) {
		return time.Time{}, "", "", fmt.Errorf("%w: malformed username", ErrCredential)
	}
	secs, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, "", "", fmt.Errorf("%w: malformed expiry", ErrCredential)
	}
	expiry = time.Unix(secs, 0)
	switch {
	case !now.Before(expiry):
		return time.Time{}, "", "", fmt.Errorf("%w: expired", ErrCredential)
	case expiry.Sub(now) > maxAhead:
		return time.Time{}, "", "", fmt.Errorf("%w: expiry too far ahead", ErrCredential)
	}
	return expiry, parts[1], parts[2], nil
}
