package identity

import (
	"context"
	"crypto/rand"
	"strings"

	"haven/internal/fault"
	"haven/internal/keys"
	"haven/internal/store"
)

// Phone sign-in. A patient registered without an e-mail address signs in with the phone number
// on their record: the account keeps the number's keyed blind index (accounts.phone_bidx), never
// the number, and Login looks it up when the name typed is not an e-mail address. The number is
// read in international form, so that a sign-in name means one number wherever the patient is:
// the record's number must carry its country code ("+34 612 345 678", or "0034 …"), and at
// sign-in the patient types it with its country code, with or without the "+", formatted as
// they like ("+34 612-345-678", "34612345678"). A number typed without its country code
// ("612 345 678") is another number and does not sign in.
//
// The sign-in name follows the record: when such a patient's record gets an e-mail address, the
// account signs in with the address from then on and its phone index is cleared; a phone
// change on the record moves the phone index with it, in the same transaction. Such a patient
// has no address for security notices or self-service resets: notices are not sent (the events
// are still audited and listed), and a lost password is replaced by a sign-in link their
// clinician hands over.

// ErrPhoneTaken means another account signs in with the phone number.
var ErrPhoneTaken = fault.New(fault.Conflict, "another patient already signs in with this phone number; give an e-mail address instead, or another number")

// ReasonPhoneInUse is the audit reason of a refusal for that cause.
const ReasonPhoneInUse = "phone-in-use"

// Phone sign-in names have between minPhoneDigits and maxPhoneDigits digits, country code
// included (E.164 allows at most 15).
const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

// SignInPhone reads a phone number written with its country code, as a record's number must be
// for its patient to sign in with it: a leading "+" or "00", then digits, with spaces, dashes,
// dots, slashes, parentheses and a national "(0)" allowed between them. It returns the number
// as "+" and its digits, and whether it is one.
func SignInPhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "00"):
		s = s[2:]
	default:
		return "", false
	}
	return phoneDigits(s)
}

// loginPhone reads a sign-in name that is not an e-mail address as a phone number with its
// country code, the "+" optional.
func loginPhone(s string) (string, bool) {
	if p, ok := SignInPhone(s); ok {
		return p, true
	}
	return phoneDigits(strings.TrimSpace(s))
}

// phoneDigits returns "+" and the digits of s, which holds digits and formatting only.
func phoneDigits(s string) (string, bool) {
	s = strings.ReplaceAll(s, "(0)", "")
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune(" -./()\u00a0", r):
		default:
			return "", false
		}
	}
	if n := b.Len() - 1; n < minPhoneDigits || n > maxPhoneDigits {
		return "", false
	}
	return b.String(), true
}

// phoneIndex is the blind index an account signing in with phone keeps.
func (s *Service) phoneIndex(phone string) ([]byte, error) {
	p, ok := SignInPhone(phone)
	if !ok {
		return nil, invalid("enter the phone number with its country code, for example +34 612 345 678")
	}
	return s.dir.BlindIndex(keys.IndexPhone, p)
}

// noEmailPlaceholder fills email_bidx (NOT NULL UNIQUE) for an account that signs in by phone:
// random, and shorter than any blind index, so no e-mail address ever finds it.
func noEmailPlaceholder() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return append([]byte("no-email:"), b...)
}

// SetPatientPhone moves the sign-in name of the account of a patient who signs in with their
// phone number to the record's new number, through q (the transaction that changes the
// record). An account that signs in with an e-mail address is left as it is.
func (s *Service) SetPatientPhone(ctx context.Context, q store.Execer, patientID, phone string) error {
	bidx, err := s.phoneIndex(phone)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE accounts SET phone_bidx = $1 WHERE patient_id = $2 AND phone_bidx IS NOT NULL`, bidx, patientID)
	if store.IsUniqueViolation(err) {
		return ErrPhoneTaken
	}
	return err
}

// SetPatientEmail makes the record's new e-mail address the sign-in name of the patient's
// account, through q (the transaction that changes the record); a number it signed in with
// stops working. An address another account uses is refused.
func (s *Service) SetPatientEmail(ctx context.Context, q store.Execer, patientID, email string) error {
	if !ValidEmail(email) {
		return invalid("enter a valid e-mail address")
	}
	bidx, err := s.dir.BlindIndex(keys.IndexEmail, email)
	if err != nil {
		return invalid("enter a valid e-mail address")
	}
	return s.setPatientSignIn(ctx, q, patientID, bidx)
}

// setPatientSignIn gives the account of a patient the e-mail sign-in name whose blind index is
// bidx, and clears its phone sign-in name.
func (s *Service) setPatientSignIn(ctx context.Context, q store.Execer, patientID string, bidx []byte) error {
	_, err := q.ExecContext(ctx, `UPDATE accounts SET email_bidx = $1, phone_bidx = NULL WHERE role = 'patient' AND patient_id = $2`, bidx, patientID)
	if store.IsUniqueViolation(err) {
		return ErrEmailTaken
	}
	return err
}
