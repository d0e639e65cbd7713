// Package totp implements RFC 6238 one-time codes as a second factor, with each code accepted
// at most once: Validate returns the time step it matched, and the caller stores it and refuses
// any step not later than the last one used.
package totp

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
)

// Period is the length of one time step.
const Period = 30 * time.Second

var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Key is a freshly generated secret with its otpauth:// URL.
type Key struct {
	Secret string // base32, for typing into an authenticator app
	URL    string // otpauth:// URL, encoded into the QR code
}

// Generate creates a new 160-bit secret for account at issuer.
func Generate(issuer, account string) (Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: opts.Period,
		Digits: opts.Digits, Algorithm: opts.Algorithm, SecretSize: 20})
	if err != nil {
		return Key{}, fmt.Errorf("totp: generate: %w", err)
	}
	return Key{Secret: k.Secret(), URL: k.URL()}, nil
}

// QRCode renders an otpauth URL as a PNG image.
func QRCode(url string) ([]byte, error) {
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, q.Image(256)); err != nil {
		return nil, fmt.Errorf("totp: qr code png: %w", err)
	}
	return buf.Bytes(), nil
}

// Code returns the code for secret at time t (used by tests and by enrolment checks).
func Code(secret string, t time.Time) (string, error) {
	c, err := totp.GenerateCodeCustom(secret, t, opts)
	if err != nil {
		return "", fmt.Errorf("totp: code: %w", err)
	}
	return c, nil
}

// Validate checks code against secret at now, allowing one step of clock drift either way, and
// returns the matched step. It accepts only steps after lastStep: a code already used, or an
// older one, is refused (replay).
func Validate(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if len(code) != 6 {
		return 0, false
	}
	current := now.Unix() / int64(Period/time.Second)
	for _, s := range []int64{current - 1, current, current + 1} {
		if s <= lastStep {
			continue
		}
		want, err := Code(secret, time.Unix(s*int64(Period/time.Second), 0))
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// ParseURL recovers a Key from its otpauth:// URL.
func ParseURL(url string) (Key, error) {
	k, err := otp.NewKeyFromURL(url)
	if err != nil {
		return Key{}, fmt.Errorf("totp: parse key url: %w", err)
	}
	return Key{Secret: k.Secret(), URL: url}, nil
}
