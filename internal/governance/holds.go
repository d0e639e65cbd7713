package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"haven/internal/ids"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/principal"
)

// HoldReasons are the words a legal hold may give: fixed, so that no free text (and no PHI)
// is stored with it.
var holdReasons = map[string]bool{"litigation": true, "investigation": true, "regulator": true, "other": true}

// HoldReasons lists the reasons a hold may give, in the order a form offers them.
func HoldReasons() []string { return []string{"litigation", "investigation", "regulator", "other"} }

// Errors. Their text is safe to show.
var (
	ErrNotFound = fault.New(fault.NotFound, "no such patient or request")
	// ErrHeld refuses an erasure while a legal hold is on the patient's records.
	ErrHeld = fault.New(fault.Conflict, "a legal hold is on this patient's records: lift it before approving an erasure")
	// ErrNotHeld refuses to lift a hold that is not in force.
	ErrNotHeld = fault.New(fault.Conflict, "no legal hold is on this patient's records")
	// ErrDecided refuses to approve a request already approved or refused.
	ErrDecided = fault.New(fault.Conflict, "this erasure request was already decided")
)

// Hold is a legal hold in force.
type Hold struct {
	PatientID string    `json:"patientId"`
	PlacedBy  string    `json:"placedBy"`
	Reason    string    `json:"reason"`
	PlacedAt  time.Time `json:"placedAt"`
}

func holdAct(by principal.Subject, patientID, detail string, o principal.Origin) guard.Act {
	return guard.Act{By: by, Action: access.SetLegalHold, Resource: access.Resource{Type: "LegalHold", ID: patientID, PatientID: patientID}, Origin: o, Detail: detail}
}

// PlaceHold puts a legal hold on a patient's records (access.SetLegalHold: the privacy
// officer, with step-up). While it holds, no purge and no erasure touches that patient.
// Placing a hold on a patient already held keeps the first.
func (s *Service) PlaceHold(ctx context.Context, by principal.Subject, patientID, reason string, o principal.Origin) error {
	a := holdAct(by, patientID, "place "+reason, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	if !holdReasons[reason] {
		return fault.InvalidField("reason", "choose litigation, investigation, regulator or other")
	}
	if err := s.patientExists(ctx, patientID); err != nil {
		return err
	}
	held, err := s.Held(ctx, patientID)
	if err != nil || held {
		return err
	}
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO legal_holds (id, patient_id, placed_by, reason, placed_at) VALUES ($1, $2, $3, $4, $5)`,
			ids.New(), patientID, by.AccountID, reason, s.now().UnixNano()); err != nil {
			return fmt.Errorf("governance: place legal hold: %w", err)
		}
		return nil
	})
}

// LiftHold ends the legal hold on a patient's records (access.SetLegalHold, with step-up).
func (s *Service) LiftHold(ctx context.Context, by principal.Subject, patientID string, o principal.Origin) error {
	a := holdAct(by, patientID, "lift", o)
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	held, err := s.Held(ctx, patientID)
	if err != nil {
		return err
	}
	if !held {
		return ErrNotHeld
	}
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, `UPDATE legal_holds SET lifted_by = $1, lifted_at = $2 WHERE patient_id = $3 AND lifted_at IS NULL`,
			by.AccountID, s.now().UnixNano(), patientID); err != nil {
			return fmt.Errorf("governance: lift legal hold: %w", err)
		}
		return nil
	})
}

// Held reports whether a legal hold is on the patient's records. It discloses nothing but
// that, to the services that must respect it.
func (s *Service) Held(ctx context.Context, patientID string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM legal_holds WHERE patient_id = $1 AND lifted_at IS NULL`, patientID).Scan(&n); err != nil {
		return false, fmt.Errorf("governance: legal hold: %w", err)
	}
	return n > 0, nil
}

// Holds lists the legal holds in force, for the privacy officer (identifiers only; the door
// records the read as access.ReadCompliance).
func (s *Service) Holds(ctx context.Context, by principal.Subject, o principal.Origin) ([]Hold, error) {
	a := guard.Act{By: by, Action: access.ReadCompliance, Resource: access.Resource{Type: "LegalHold"}, Origin: o}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) ([]Hold, error) {
		rows, err := s.db.QueryContext(ctx, `SELECT patient_id, placed_by, reason, placed_at FROM legal_holds WHERE lifted_at IS NULL ORDER BY placed_at, id`)
		if err != nil {
			return nil, fmt.Errorf("governance: list legal holds: %w", err)
		}
		defer rows.Close()
		out := []Hold{}
		for rows.Next() {
			var h Hold
			var at int64
			if err := rows.Scan(&h.PatientID, &h.PlacedBy, &h.Reason, &at); err != nil {
				return nil, fmt.Errorf("governance: list legal holds: %w", err)
			}
			h.PlacedAt = time.Unix(0, at).UTC()
			out = append(out, h)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("governance: list legal holds: %w", err)
		}
		return out, nil
	})
}

func (s *Service) patientExists(ctx context.Context, patientID string) error {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM patients WHERE id = $1`, patientID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("governance: find patient: %w", err)
	}
	return nil
}
