package governance

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"haven/internal/ids"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/principal"
)

// Erasure request states.
const (
	ErasureRequested = "requested"
	ErasureApproved  = "approved"
	ErasureRefused   = "refused"
)

// ErasureRequest is one request to erase a patient's record: identifiers and times only.
type ErasureRequest struct {
	ID          string    `json:"id"`
	PatientID   string    `json:"patientId"`
	RequestedBy string    `json:"requestedBy"`
	State       string    `json:"state"`
	RequestedAt time.Time `json:"requestedAt"`
	DecidedBy   string    `json:"decidedBy,omitempty"`
	DecidedAt   time.Time `json:"decidedAt,omitzero"`
	// Held says a legal hold is on the patient's records now: approval would be refused.
	Held bool `json:"held"`
}

// RequestErasure records a request to erase patientID's record (access.RequestErasure): the
// patient for themselves, or the privacy officer recording one received another way. Nothing
// is destroyed until the privacy officer approves. An open request for the patient is
// returned instead of a second one.
func (s *Service) RequestErasure(ctx context.Context, by principal.Subject, patientID string, o principal.Origin) (string, error) {
	id := ids.New()
	a := guard.Act{By: by, Action: access.RequestErasure, Resource: access.Resource{Type: "ErasureRequest", ID: id, PatientID: patientID}, Origin: o}
	if patientID == "" {
		// A staff member asking for "my record", which they have none of.
		return "", s.door.Refuse(ctx, a, access.ReasonNotOwnRecord)
	}
	if err := s.door.Admit(ctx, a); err != nil {
		return "", err
	}
	if err := s.patientExists(ctx, patientID); err != nil {
		return "", err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (string, error) {
		// Asking again is recorded too, and answered with the open request.
		var open string
		err := s.db.QueryRowContext(ctx, `SELECT id FROM erasure_requests WHERE patient_id = $1 AND state = $2`, patientID, ErasureRequested).Scan(&open)
		if err == nil {
			return open, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("governance: find erasure request: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO erasure_requests (id, patient_id, requested_by, state, requested_at) VALUES ($1, $2, $3, $4, $5)`,
			id, patientID, by.AccountID, ErasureRequested, s.now().UnixNano()); err != nil {
			return "", fmt.Errorf("governance: record erasure request: %w", err)
		}
		return id, nil
	})
}

// ErasureRequests lists every erasure request, newest first, for the privacy officer
// (identifiers only: the door records the read as access.ReadCompliance).
func (s *Service) ErasureRequests(ctx context.Context, by principal.Subject, o principal.Origin) ([]ErasureRequest, error) {
	a := guard.Act{By: by, Action: access.ReadCompliance, Resource: access.Resource{Type: "ErasureRequest"}, Origin: o}
	if by.Role != access.Auditor {
		// Administrators may read the compliance report, but erasure requests are the
		// privacy officer's.
		return nil, s.door.Refuse(ctx, a, access.ReasonRoleForbidden)
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) ([]ErasureRequest, error) {
		rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.patient_id, e.requested_by, e.state, e.requested_at, COALESCE(e.decided_by, ''), COALESCE(e.decided_at, 0),
			EXISTS (SELECT 1 FROM legal_holds h WHERE h.patient_id = e.patient_id AND h.lifted_at IS NULL)
			FROM erasure_requests e ORDER BY e.requested_at DESC, e.id`)
		if err != nil {
			return nil, fmt.Errorf("governance: list erasure requests: %w", err)
		}
		defer rows.Close()
		out := []ErasureRequest{}
		for rows.Next() {
			var e ErasureRequest
			var at, decided int64
			if err := rows.Scan(&e.ID, &e.PatientID, &e.RequestedBy, &e.State, &at, &e.DecidedBy, &decided, &e.Held); err != nil {
				return nil, fmt.Errorf("governance: list erasure requests: %w", err)
			}
			e.RequestedAt = time.Unix(0, at).UTC()
			if decided != 0 {
				e.DecidedAt = time.Unix(0, decided).UTC()
			}
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("governance: list erasure requests: %w", err)
		}
		return out, nil
	})
}

// ApproveErasure carries out erasure request id (access.ApproveErasure: the privacy officer,
// with step-up). It is refused while a legal hold is on the patient. In this order: the act's
// entry is durable (in the patient's access log, which reads entries by patient identifier
// and so survives the keyset); the erasure is appended to the ledger beside the root key, so
// every later restore of an earlier backup destroys the keyset again; the keyset is
// destroyed; the patient's account is closed. Audit metadata and billing rows stay.
func (s *Service) ApproveErasure(ctx context.Context, by principal.Subject, id string, o principal.Origin) error {
	a := guard.Act{By: by, Action: access.ApproveErasure, Resource: access.Resource{Type: "ErasureRequest", ID: id}, Origin: o}
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	patientID, err := s.openRequest(ctx, id)
	if err != nil {
		return err
	}
	held, err := s.Held(ctx, patientID)
	if err != nil {
		return err
	}
	if held {
		return ErrHeld
	}
	a.Resource.PatientID = patientID
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		now := s.now()
		if err := RecordErasure(s.dataDir, patientID, now); err != nil {
			return err
		}
		if err := s.keys.Shred(ctx, patientID); err != nil {
			return err
		}
		// The blind indexes are keyed hashes of the name, birth date and contact details:
		// kept, they would still answer "was this person a patient?". They are replaced by
		// random values and the search tokens go.
		if err := s.forgetIndexes(ctx, patientID); err != nil {
			return err
		}
		if s.accounts != nil {
			if err := s.accounts.CloseErasedPatient(ctx, patientID); err != nil {
				return err
			}
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE erasure_requests SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4`,
			ErasureApproved, by.AccountID, now.UnixNano(), id); err != nil {
			return fmt.Errorf("governance: record erasure approval: %w", err)
		}
		return nil
	})
}

func (s *Service) forgetIndexes(ctx context.Context, patientID string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		r := func() []byte { b := make([]byte, 32); rand.Read(b); return b }
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET name_bidx = $1, birth_date_bidx = $2, phone_bidx = $3, email_bidx = $4 WHERE id = $5`,
			r(), r(), r(), r(), patientID); err != nil {
			return fmt.Errorf("governance: forget blind indexes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM patient_search_tokens WHERE patient_id = $1`, patientID); err != nil {
			return fmt.Errorf("governance: forget search tokens: %w", err)
		}
		// End-to-end encrypted messages and attachments are sealed to devices, not to the
		// patient's keyset, so shredding the keyset does not reach them: they are deleted, in the
		// patient's own thread and in the chats of their visits.
		for _, table := range []string{"consult_messages", "consult_attachments"} {
			// table comes from the fixed list above, never from input.
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE thread = $1
				OR thread IN (SELECT 'visit.' || id FROM appointments WHERE patient_id = $2)`, "patient."+patientID, patientID); err != nil {
				return fmt.Errorf("governance: delete encrypted messages: %w", err)
			}
		}
		return nil
	})
}

// Erased reports whether an approved erasure request names the patient.
func (s *Service) Erased(ctx context.Context, patientID string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM erasure_requests WHERE patient_id = $1 AND state = $2`, patientID, ErasureApproved).Scan(&n); err != nil {
		return false, fmt.Errorf("governance: erased: %w", err)
	}
	return n > 0, nil
}

// ApplyLedger destroys the keyset of every patient the erasure ledger in dir lists. Haven
// runs it at every start: an erasure interrupted between the ledger and the keyset (a crash)
// is completed, and a database put back from before an erasure cannot serve that patient.
// It returns how many patients the ledger lists.
func ApplyLedger(ctx context.Context, dir string, k Keys) (int, error) {
	ids, err := ErasedPatients(dir)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := k.Shred(ctx, id); err != nil {
			return 0, fmt.Errorf("governance: apply erasure ledger: %w", err)
		}
	}
	return len(ids), nil
}

// RefuseErasure closes erasure request id without destroying anything (access.RefuseErasure:
// the privacy officer, for a request they could not verify or that the law does not allow).
func (s *Service) RefuseErasure(ctx context.Context, by principal.Subject, id string, o principal.Origin) error {
	a := guard.Act{By: by, Action: access.RefuseErasure, Resource: access.Resource{Type: "ErasureRequest", ID: id}, Origin: o}
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	patientID, err := s.openRequest(ctx, id)
	if err != nil {
		return err
	}
	a.Resource.PatientID = patientID
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, `UPDATE erasure_requests SET state = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND state = $5`,
			ErasureRefused, by.AccountID, s.now().UnixNano(), id, ErasureRequested); err != nil {
			return fmt.Errorf("governance: record erasure refusal: %w", err)
		}
		return nil
	})
}

// openRequest is the patient of erasure request id while it waits for a decision: ErrNotFound
// if there is no such request, ErrDecided once it was approved or refused.
func (s *Service) openRequest(ctx context.Context, id string) (patientID string, err error) {
	var state string
	err = s.db.QueryRowContext(ctx, `SELECT patient_id, state FROM erasure_requests WHERE id = $1`, id).Scan(&patientID, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("governance: find erasure request: %w", err)
	}
	if state != ErasureRequested {
		return "", ErrDecided
	}
	return patientID, nil
}
