package visits

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
)

// Bounds of the intake answers, in characters.
const (
	MaxIntakeReason = 500
	MaxIntakeAnswer = 2000
)

// ErrNoIntake: the patient has not answered the questions before this visit.
var ErrNoIntake = fault.New(fault.NotFound, "there are no answers to the questions before this visit yet")

// errIntakeClosed refuses answers once the visit has started.
var errIntakeClosed = fault.New(fault.Conflict, "your visit has started; tell your clinician in the visit")

// Clean returns the answers as they are kept: trimmed, line ends made "\n", within their bounds,
// with no control characters but line breaks and tabs. The reason is required.
func (in Intake) Clean() (Intake, error) {
	var err error
	fields := []struct {
		name     string
		v        *string
		max      int
		required bool
		hint     string
	}{
		{"reason", &in.Reason, MaxIntakeReason, true, "say in a few words why you want to see the clinician"},
		{"symptoms", &in.Symptoms, MaxIntakeAnswer, false, "describe your symptoms"},
		{"medications", &in.Medications, MaxIntakeAnswer, false, "list the medicines you take"},
		{"questions", &in.Questions, MaxIntakeAnswer, false, "write your questions"},
	}
	for _, f := range fields {
		if *f.v, err = cleanText(*f.v, f.max); err != nil || f.required && *f.v == "" {
			return Intake{}, fault.InvalidField(f.name, fmt.Sprintf("%s, in up to %d characters", f.hint, f.max))
		}
	}
	return in, nil
}

var errBadText = errors.New("visits: text not allowed")

// cleanText trims s and makes its line ends "\n"; it refuses invalid UTF-8, control characters
// other than line breaks and tabs, and more than max characters.
func cleanText(s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errBadText
	}
	s = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	for _, c := range s {
		if unicode.IsControl(c) && c != '\n' && c != '\t' {
			return "", errBadText
		}
	}
	if utf8.RuneCountInString(s) > max {
		return "", errBadText
	}
	return s, nil
}

// SubmitIntake stores the patient's answers before the visit (intake.write), sealed under their
// key; answering again replaces them, until the visit starts.
func (s *Service) SubmitIntake(ctx context.Context, by access.Subject, id string, in Intake, o Origin) error {
	r, a, err := s.decided(ctx, by, access.WriteIntake, id, o)
	if err != nil {
		return err
	}
	if in, err = in.Clean(); err != nil {
		return err
	}
	if err := intakeOpen(r.state); err != nil {
		return err
	}
	err = guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("visits: intake: %w", err)
		}
		ct, err := s.cipher.Seal(ctx, r.patientID, intakeLocation(r.id), b)
		if err != nil {
			return fmt.Errorf("visits: seal intake: %w", err)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE appointments SET intake_ct = $1 WHERE id = $2 AND state IN ($3, $4)`,
			ct, r.id, StateBooked, StateWaiting)
		if err != nil {
			return fmt.Errorf("visits: store intake: %w", err)
		}
		if gone, err := moved(res); err != nil || gone {
			return cmpErr(err, errIntakeClosed)
		}
		return nil
	})
	if err == nil {
		s.publish(r, "intake")
	}
	return err
}

// intakeOpen says whether answers may still be given in state.
func intakeOpen(state string) error {
	switch state {
	case StateBooked, StateWaiting:
		return nil
	case StateInProgress:
		return errIntakeClosed
	}
	return closed(state)
}

// Intake reads the patient's answers (intake.read): the patient's own, or a clinician caring
// for them.
func (s *Service) Intake(ctx context.Context, by access.Subject, id string, o Origin) (Intake, error) {
	r, a, err := s.visitAct(ctx, by, access.ReadIntake, id, o)
	if err != nil {
		return Intake{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Intake, error) {
		if r.id == "" {
			return Intake{}, ErrNotFound
		}
		return s.openIntake(ctx, r.id, r.patientID)
	})
}

// openIntake opens a visit's answers, inside an act the door allowed.
func (s *Service) openIntake(ctx context.Context, id, patientID string) (Intake, error) {
	var ct []byte
	err := s.db.QueryRowContext(ctx, `SELECT intake_ct FROM appointments WHERE id = $1`, id).Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return Intake{}, ErrNotFound
	}
	if err != nil {
		return Intake{}, fmt.Errorf("visits: load intake: %w", err)
	}
	if ct == nil {
		return Intake{}, ErrNoIntake
	}
	b, err := s.cipher.Open(ctx, patientID, intakeLocation(id), ct)
	if err != nil {
		return Intake{}, fmt.Errorf("visits: open intake: %w", err)
	}
	var in Intake
	if err := json.Unmarshal(b, &in); err != nil {
		return Intake{}, fmt.Errorf("visits: intake: %w", err)
	}
	return in, nil
}
