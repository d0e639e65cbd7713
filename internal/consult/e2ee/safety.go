package e2ee

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"slices"
	"strings"
)

// Person is one side of a safety number: an account id and the signing keys (raw, 32 bytes) of
// that person's current devices, in any order.
type Person struct {
	Account  string
	SignKeys [][]byte
}

// safetyDigits is the 30 digits of one person (§2).
func safetyDigits(p Person) string {
	keys := slices.Clone(p.SignKeys)
	slices.SortFunc(keys, bytes.Compare)
	h := sha512.New()
	h.Write([]byte("haven-safety-v1\x00"))
	h.Write([]byte(p.Account))
	h.Write([]byte{0})
	for _, k := range keys {
		h.Write(k)
	}
	d := h.Sum(nil)
	var s strings.Builder
	for i := 0; i < 30; i += 5 {
		var n uint64
		for _, c := range d[i : i+5] {
			n = n<<8 | uint64(c)
		}
		fmt.Fprintf(&s, "%05d", n%100000)
	}
	return s.String()
}

// SafetyNumber is the safety number of two people: the 30 digits of the one whose account id
// sorts first, then the other's, written as 12 groups of 5 digits separated by spaces. Both
// sides compute the same number; it changes when either person's devices change.
func SafetyNumber(a, b Person) string {
	if b.Account < a.Account {
		a, b = b, a
	}
	digits := safetyDigits(a) + safetyDigits(b)
	groups := make([]string, 0, 12)
	for i := 0; i < len(digits); i += 5 {
		groups = append(groups, digits[i:i+5])
	}
	return strings.Join(groups, " ")
}
