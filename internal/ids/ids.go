// Package ids makes Haven's identifiers. One identifier names a row in the JSON API and the
// same resource in FHIR R4, so every identifier is a valid FHIR id: letters, digits, '-' and
// '.', at most 64 characters (FHIR R4 id datatype). Base64url, used before, could hold '_'.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// MaxLen is the longest FHIR id.
const MaxLen = 64

// Len is the length of an identifier New makes. Two of them joined by '.' (a compound id,
// such as a slot's clinician and start) still fit in MaxLen.
const Len = 26

// New returns a fresh identifier: 128 random bits as 26 lowercase base32 characters (letters
// and the digits 2 to 7).
func New() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Valid reports whether id is a FHIR id: 1 to 64 of letters, digits, '-' and '.'.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
