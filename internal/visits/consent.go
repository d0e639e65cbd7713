package visits

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
)

// The telehealth consent is a text in plain words, shipped in the binary, one file per version
// (consent/<version>.md). Versions are named by the month they take effect (2026-11), so the
// newest sorts last and is the one in force. A patient's acceptance keeps the version, the
// SHA-256 of the exact text they were shown, and the time: the text they accepted can always
// be shown to them again, and a text changed under the same name is not taken as accepted.

//go:embed consent/*.md
var consentFiles embed.FS

// ErrConsentChanged refuses an acceptance of a version that is no longer the one in force.
var ErrConsentChanged = fault.New(fault.Conflict, "the consent text has changed; read the new one")

// ErrConsentNeeded refuses to start a visit before the patient accepted the consent in force.
var ErrConsentNeeded = fault.New(fault.Conflict,
	"the patient must accept the video visit consent first; they are asked on their visit page")

const (
	insertConsent = `INSERT INTO telehealth_consents (patient_id, version, text_sha256, accepted_by, accepted_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (patient_id, version) DO NOTHING`
	selectConsent = `SELECT version, text_sha256, accepted_at FROM telehealth_consents WHERE patient_id = $1
		ORDER BY accepted_at DESC, version DESC LIMIT 1`
	selectConsentOf = `SELECT COUNT(*) FROM telehealth_consents WHERE patient_id = $1 AND version = $2 AND text_sha256 = $3`
)

// loadConsents reads the versions shipped in the binary and lays extra over them (a test, or a
// clinic publishing its own text): version → text.
func loadConsents(extra map[string]string) (map[string]Consent, error) {
	out := map[string]Consent{}
	files, err := fs.Glob(consentFiles, "consent/*.md")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := consentFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		v := strings.TrimSuffix(strings.TrimPrefix(f, "consent/"), ".md")
		out[v] = newConsent(v, string(b))
	}
	for v, text := range extra {
		out[v] = newConsent(v, text)
	}
	if len(out) == 0 {
		return nil, errors.New("visits: no telehealth consent text")
	}
	return out, nil
}

func newConsent(version, text string) Consent {
	sum := sha256.Sum256([]byte(text))
	return Consent{Version: version, Text: text, SHA256: hex.EncodeToString(sum[:])}
}

// CurrentConsent is the telehealth consent text in force: the newest version.
func (s *Service) CurrentConsent() Consent {
	versions := slices.Sorted(maps.Keys(s.consents))
	return s.consents[versions[len(versions)-1]]
}

// Consent says which consent the patient accepted (consent.read): the latest acceptance, the
// words of that version, and whether it is the one in force.
func (s *Service) Consent(ctx context.Context, by access.Subject, patientID string, o Origin) (ConsentStatus, error) {
	a := act(by, access.ReadConsent, "Consent", patientID, patientID, o)
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (ConsentStatus, error) {
		var st ConsentStatus
		var sum []byte
		var at int64
		err := s.db.QueryRowContext(ctx, selectConsent, patientID).Scan(&st.Version, &sum, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return ConsentStatus{}, nil
		}
		if err != nil {
			return ConsentStatus{}, fmt.Errorf("visits: load consent: %w", err)
		}
		st.Accepted, st.SHA256, st.AcceptedAt = true, hex.EncodeToString(sum), time.Unix(0, at).UTC()
		if c, ok := s.consents[st.Version]; ok && c.SHA256 == st.SHA256 {
			st.Text = c.Text
		}
		cur := s.CurrentConsent()
		st.Current = st.Version == cur.Version && st.SHA256 == cur.SHA256
		return st, nil
	})
}

// AcceptConsent records the patient's acceptance of version (consent.accept). version must be
// the one in force: a page showing an older text is refused with ErrConsentChanged, so no one
// accepts words they were not shown. Accepting again is harmless.
func (s *Service) AcceptConsent(ctx context.Context, by access.Subject, patientID, version string, o Origin) error {
	a := act(by, access.AcceptConsent, "Consent", patientID, patientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	cur := s.CurrentConsent()
	if version != cur.Version {
		return ErrConsentChanged
	}
	a.Detail = cur.Version
	sum, _ := hex.DecodeString(cur.SHA256)
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, insertConsent, patientID, cur.Version, sum, by.AccountID, s.now().UnixNano()); err != nil {
			return fmt.Errorf("visits: accept consent: %w", err)
		}
		return nil
	})
}

// consentCurrent reports whether the patient accepted the consent in force, word for word.
func (s *Service) consentCurrent(ctx context.Context, patientID string) (bool, error) {
	cur := s.CurrentConsent()
	sum, _ := hex.DecodeString(cur.SHA256)
	var n int
	if err := s.db.QueryRowContext(ctx, selectConsentOf, patientID, cur.Version, sum).Scan(&n); err != nil {
		return false, fmt.Errorf("visits: consent in force: %w", err)
	}
	return n > 0, nil
}
