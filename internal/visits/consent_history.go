package visits

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// ConsentHistory serves the FHIR API, whose Consent resources are each acceptance a patient
// made rather than the latest alone: a patient who accepted a newer text keeps the record of
// the older one.

const selectConsents = `SELECT version, text_sha256, accepted_at FROM telehealth_consents WHERE patient_id = $1
	ORDER BY accepted_at DESC, version DESC`

// ConsentHistory returns every telehealth consent the patient accepted, newest first
// (consent.read), each with the words of its version and whether it is the one in force.
func (s *Service) ConsentHistory(ctx context.Context, by access.Subject, patientID string, o Origin) ([]ConsentStatus, error) {
	a := act(by, access.ReadConsent, "Consent", patientID, patientID, o)
	return guard.Do(ctx, s.door, a, func(ctx context.Context) ([]ConsentStatus, error) {
		rows, err := s.db.QueryContext(ctx, selectConsents, patientID)
		if err != nil {
			return nil, fmt.Errorf("visits: load consents: %w", err)
		}
		defer rows.Close()
		cur := s.CurrentConsent()
		out := []ConsentStatus{}
		for rows.Next() {
			var st ConsentStatus
			var sum []byte
			var at int64
			if err := rows.Scan(&st.Version, &sum, &at); err != nil {
				return nil, fmt.Errorf("visits: scan consent: %w", err)
			}
			st.Accepted, st.SHA256, st.AcceptedAt = true, hex.EncodeToString(sum), time.Unix(0, at).UTC()
			if c, ok := s.consents[st.Version]; ok && c.SHA256 == st.SHA256 {
				st.Text = c.Text
			}
			st.Current = st.Version == cur.Version && st.SHA256 == cur.SHA256
			out = append(out, st)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("visits: load consents: %w", err)
		}
		return out, nil
	})
}
