package visits

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"haven/internal/ids"
	"slices"
	"strings"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

// A guest (an interpreter, a family member) joins one visit by a single-use link the clinician
// makes, only once the patient has agreed that guests may join (AllowGuests). The link's token
// is 256 random bits; only its SHA-256 is kept. Redeeming it opens a session under a guest
// account (package identity: no password, no factor) that the policy lets read that one
// visit's page (grant visit-guest) until the visit ends: then the link, the invitation and the
// account's sessions end at once. A guest's name is PHI of the patient's, sealed under their
// key; the patient's access log names the guest by it.

// MaxGuests is how many guests one visit may have: with the patient and the clinician, a mesh
// of four.
const MaxGuests = 3

// maxGuestName bounds a guest's name, in characters.
const maxGuestName = 100

// Guest relations.
const (
	RelationInterpreter = "interpreter"
	RelationFamily      = "family"
)

// ReasonGuestsNotAgreed is recorded when a clinician invites a guest to a visit whose patient
// has not agreed to guests.
const ReasonGuestsNotAgreed = "guests-not-agreed"

// Errors of guests, safe to show.
var (
	ErrGuestsNotAgreed = fault.New(fault.Conflict, "the patient has not agreed to guests in this visit; ask them to agree on their visit page first")
	ErrTooManyGuests   = fault.New(fault.Conflict, fmt.Sprintf("a visit can have at most %d guests", MaxGuests))
	ErrGuestLink       = fault.New(fault.Gone, "this guest link has been used or has expired; ask the clinician for a new one")
	errGuestTooLate    = fault.New(fault.Conflict, "this visit is past its time; a guest link would no longer work")
)

const (
	insertGuest = `INSERT INTO visit_guests (id, appointment_id, account_id, name_ct, relation, token_hash, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	countGuests  = `SELECT COUNT(*) FROM visit_guests WHERE appointment_id = $1 AND expires_at > $2`
	selectGuests = `SELECT id, account_id, name_ct, relation FROM visit_guests WHERE appointment_id = $1 ORDER BY created_at, id`
	selectLink   = `SELECT g.id, g.appointment_id, g.account_id, g.expires_at, g.used_at, a.patient_id, a.state
		FROM visit_guests g JOIN appointments a ON a.id = g.appointment_id WHERE g.token_hash = $1`
	claimLink      = `UPDATE visit_guests SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1`
	unclaimLink    = `UPDATE visit_guests SET used_at = NULL WHERE id = $1`
	selectGuestsOf = `SELECT g.account_id, g.id, g.name_ct, g.relation FROM visit_guests g JOIN appointments a ON a.id = g.appointment_id
		WHERE a.patient_id = $1 AND g.account_id IN `
)

// guestRow is a guest of a visit, name opened.
type guestRow struct {
	id, accountID, name, relation string
}

func guestNameLocation(guestID string) keys.Location {
	return keys.Location{Table: "visit_guests", Row: guestID, Field: "name"}
}

// GuestTokenHash is the SHA-256 a guest link's token is kept as; ok is false for anything
// that is not a token Haven makes (43 characters of unpadded base64url, 32 bytes).
func GuestTokenHash(token string) (hash []byte, ok bool) {
	if len(token) != 43 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}

func newGuestToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	hash, _ = GuestTokenHash(token)
	return token, hash
}

// cleanGuestName is a guest's name as kept: trimmed, one line, 1 to maxGuestName characters.
func cleanGuestName(name string) (string, error) {
	n, err := cleanText(name, maxGuestName)
	if err != nil || n == "" || strings.ContainsAny(n, "\n\t") {
		return "", fault.InvalidField("name", fmt.Sprintf("write the guest's name, in up to %d characters", maxGuestName))
	}
	return n, nil
}

// InviteGuest invites a guest to one visit (guest.invite), with the patient's agreement: an
// invitation without it is refused and the refusal recorded. The link works once, until the
// visit's scheduled end and GuestGrace after, or until the visit ends if that is sooner.
func (s *Service) InviteGuest(ctx context.Context, by access.Subject, id string, g GuestInvite, o Origin) (GuestLink, error) {
	r, a, err := s.decided(ctx, by, access.InviteGuest, id, o)
	if err != nil {
		return GuestLink{}, err
	}
	name, err := cleanGuestName(g.Name)
	if err != nil {
		return GuestLink{}, err
	}
	if g.Relation != RelationInterpreter && g.Relation != RelationFamily {
		return GuestLink{}, fault.InvalidField("relation", "say whether the guest is an interpreter or family")
	}
	if err := closed(r.state); err != nil {
		return GuestLink{}, err
	}
	if r.guestsAllowed.IsZero() {
		if err := s.door.Refuse(ctx, a, ReasonGuestsNotAgreed); !errors.Is(err, guard.ErrForbidden) {
			return GuestLink{}, err
		}
		return GuestLink{}, ErrGuestsNotAgreed
	}
	now := s.now()
	expires := r.end.Add(s.cfg.GuestGrace)
	if !expires.After(now) {
		return GuestLink{}, errGuestTooLate
	}
	var n int
	if err := s.db.QueryRowContext(ctx, countGuests, r.id, now.UnixNano()).Scan(&n); err != nil {
		return GuestLink{}, fmt.Errorf("visits: count guests: %w", err)
	}
	if n >= MaxGuests {
		return GuestLink{}, ErrTooManyGuests
	}
	a.Detail = g.Relation
	link, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (GuestLink, error) {
		gid := ids.New()
		token, hash := newGuestToken()
		ct, err := s.cipher.Seal(ctx, r.patientID, guestNameLocation(gid), []byte(name))
		if err != nil {
			return GuestLink{}, fmt.Errorf("visits: seal guest name: %w", err)
		}
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			acct, err := s.people.CreateGuest(ctx, tx)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, insertGuest, gid, r.id, acct, ct, g.Relation, hash, by.AccountID, now.UnixNano(), expires.UnixNano())
			return err
		})
		if err != nil {
			return GuestLink{}, fmt.Errorf("visits: invite guest: %w", err)
		}
		return GuestLink{GuestID: gid, URL: s.cfg.BaseURL + "/visit/guest/" + token, ExpiresAt: expires}, nil
	})
	if err != nil {
		return GuestLink{}, err
	}
	s.publish(r, "guest-invited")
	return link, nil
}

// RedeemGuest turns a guest link into a guest session, once; it returns the session token and
// the visit it reaches. The join is recorded as an event naming the patient, so it is in their
// access log, before the session is handed over. A link used, expired, of a visit no longer
// open, or unknown is ErrGuestLink, whichever it is.
func (s *Service) RedeemGuest(ctx context.Context, token string, o Origin) (session, visitID string, err error) {
	hash, ok := GuestTokenHash(token)
	if !ok {
		return "", "", ErrGuestLink
	}
	var gid, acct, patientID, state string
	var expires int64
	var used sql.NullInt64
	err = s.db.QueryRowContext(ctx, selectLink, hash).Scan(&gid, &visitID, &acct, &expires, &used, &patientID, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrGuestLink
	}
	if err != nil {
		return "", "", fmt.Errorf("visits: guest link: %w", err)
	}
	now := s.now().UnixNano()
	if used.Valid || expires <= now || closed(state) != nil {
		return "", "", ErrGuestLink
	}
	res, err := s.db.ExecContext(ctx, claimLink, now, gid)
	if err != nil {
		return "", "", fmt.Errorf("visits: claim guest link: %w", err)
	}
	if gone, err := moved(res); err != nil || gone {
		return "", "", cmpErr(err, ErrGuestLink)
	}
	ev := guard.Event{By: access.Subject{AccountID: acct, Role: access.Guest}, Action: "visit.guest-join",
		Resource: access.Resource{Type: "Appointment", ID: visitID, PatientID: patientID}, Outcome: audit.Success, Reason: access.ReasonGuest, Origin: o}
	if err := s.door.Record(ctx, ev); err != nil {
		_, uerr := s.db.ExecContext(context.WithoutCancel(ctx), unclaimLink, gid)
		return "", "", errors.Join(err, uerr)
	}
	if session, err = s.people.StartGuestSession(ctx, acct, o); err != nil {
		return "", "", err
	}
	s.hub.Publish(Event{Kind: "guest-joined", AppointmentID: visitID}, visitTopic(visitID))
	return session, visitID, nil
}

// guestsOf lists a visit's guests, names opened under the patient's key.
func (s *Service) guestsOf(ctx context.Context, r visitRow) ([]guestRow, error) {
	rows, err := s.db.QueryContext(ctx, selectGuests, r.id)
	if err != nil {
		return nil, fmt.Errorf("visits: guests: %w", err)
	}
	defer rows.Close()
	var out []guestRow
	for rows.Next() {
		var g guestRow
		var ct []byte
		if err := rows.Scan(&g.id, &g.accountID, &ct, &g.relation); err != nil {
			return nil, fmt.Errorf("visits: guests: %w", err)
		}
		name, err := s.cipher.Open(ctx, r.patientID, guestNameLocation(g.id), ct)
		if err != nil {
			return nil, fmt.Errorf("visits: open guest name: %w", err)
		}
		g.name = string(name)
		out = append(out, g)
	}
	return out, rows.Err()
}

// endGuests ends a visit's guest links and invitations at once, and the guests' accounts and
// sessions with them.
func (s *Service) endGuests(ctx context.Context, visitID string, now int64) error {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id FROM visit_guests WHERE appointment_id = $1`, visitID)
	if err != nil {
		return fmt.Errorf("visits: end guests: %w", err)
	}
	var accounts []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return fmt.Errorf("visits: end guests: %w", err)
		}
		accounts = append(accounts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("visits: end guests: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE visit_guests SET expires_at = $1 WHERE appointment_id = $2 AND expires_at > $1`, now, visitID); err != nil {
		return fmt.Errorf("visits: end guests: %w", err)
	}
	var errs []error
	for _, a := range accounts {
		errs = append(errs, s.people.EndGuest(ctx, a))
	}
	return errors.Join(errs...)
}

// relationWords says a guest's relation as the patient reads it.
func relationWords(relation string) string {
	if relation == RelationFamily {
		return "family member"
	}
	return relation
}

// GuestNames names the guest accounts among accountIDs that were invited to one of the
// patient's visits, as the patient's access log shows them: "Rosa Díaz (interpreter, invited
// to your visit)". Names are opened under the patient's key; an account that was no guest of
// theirs is absent. It is for the access log (package privacy), which has decided the read.
func (s *Service) GuestNames(ctx context.Context, patientID string, accountIDs []string) (map[string]string, error) {
	uniq := slices.Compact(slices.Sorted(slices.Values(accountIDs)))
	out := map[string]string{}
	for chunk := range slices.Chunk(uniq, store.MaxInList) {
		list, args := store.InList(2, chunk)
		rows, err := s.db.QueryContext(ctx, selectGuestsOf+list, append([]any{patientID}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("visits: guest names: %w", err)
		}
		for rows.Next() {
			var acct, gid, relation string
			var ct []byte
			if err := rows.Scan(&acct, &gid, &ct, &relation); err != nil {
				rows.Close()
				return nil, fmt.Errorf("visits: guest names: %w", err)
			}
			name, err := s.cipher.Open(ctx, patientID, guestNameLocation(gid), ct)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("visits: open guest name: %w", err)
			}
			out[acct] = fmt.Sprintf("%s (%s, invited to your visit)", name, relationWords(relation))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("visits: guest names: %w", err)
		}
	}
	return out, nil
}
