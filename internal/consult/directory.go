package consult

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/store"
)

// Keys is a directory answer (docs/e2ee.md section 1): the people of a visit or a thread, each
// current device with the leaf that added it and its inclusion proof against the checkpoint.
type Keys struct {
	Checkpoint string   `json:"checkpoint"` // the signed note
	Origin     string   `json:"origin"`     // the log's origin, the checkpoint's first line
	People     []Person `json:"people"`
}

// Person is one participant or member, with their current devices.
type Person struct {
	AccountID   string      `json:"accountId"`
	Role        string      `json:"role"` // patient, clinician, nurse, guest
	DisplayName string      `json:"displayName"`
	Devices     []KeyDevice `json:"devices"`
}

// KeyDevice is a device's public keys with their proof.
type KeyDevice struct {
	DeviceID string   `json:"deviceId"`
	SignKey  string   `json:"signKey"`
	AgreeKey string   `json:"agreeKey"`
	Entry    Entry    `json:"entry"`
	Proof    []string `json:"proof"` // RFC 6962 inclusion proof, each hash b64url
}

// member is a person before their devices are read.
type member struct {
	accountID, role, name string
}

const (
	selectPatientAccount = `SELECT id FROM accounts WHERE patient_id = $1`
	selectVisitGuests    = `SELECT account_id FROM visit_guests WHERE appointment_id = $1 AND expires_at > $2 ORDER BY created_at, id`
	selectCareTeam       = `SELECT c.clinician_id, a.role FROM care_team c JOIN accounts a ON a.id = c.clinician_id
		WHERE c.patient_id = $1 AND a.role IN ('clinician', 'nurse') ORDER BY c.created_at, c.clinician_id`
)

// VisitKeys answers the device keys of a visit's participants (consult.join): the patient, the
// clinician and the guests whose invitation holds.
func (s *Service) VisitKeys(ctx context.Context, by access.Subject, visitID string, o Origin) (Keys, error) {
	v, err := s.loadVisit(ctx, visitID)
	if err != nil {
		return Keys{}, err
	}
	a := act(by, access.JoinConsult, "Visit", visitIDOrEmpty(visitID), v.patientID, o)
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Keys, error) {
		if v.id == "" {
			return Keys{}, ErrNotFound
		}
		ms, err := s.visitMembers(ctx, v)
		if err != nil {
			return Keys{}, err
		}
		return s.keysOf(ctx, ms)
	})
}

// ThreadKeys answers the device keys of a patient's thread's members (message.read): the
// patient and the clinicians and nurses in their care team.
func (s *Service) ThreadKeys(ctx context.Context, by access.Subject, patientID string, o Origin) (Keys, error) {
	t, err := s.resolve(ctx, PatientThread(patientID))
	if err != nil {
		return Keys{}, err
	}
	return guard.Do(ctx, s.door, t.act(by, access.ReadMessages, o), func(ctx context.Context) (Keys, error) {
		ms, err := s.patientMembers(ctx, patientID)
		if err != nil {
			return Keys{}, err
		}
		return s.keysOf(ctx, ms)
	})
}

func visitIDOrEmpty(id string) string {
	if len(id) > 64 {
		return ""
	}
	return id
}

// visitMembers lists a visit's participants with the names they see on the visit's page.
func (s *Service) visitMembers(ctx context.Context, v visitRow) ([]member, error) {
	var out []member
	pa, err := s.patientAccount(ctx, v.patientID)
	if err != nil {
		return nil, err
	}
	pnames, err := s.deps.Patients.OpenNames(ctx, []string{v.patientID})
	if err != nil {
		return nil, fmt.Errorf("consult: patient name: %w", err)
	}
	if pa != "" {
		out = append(out, member{accountID: pa, role: "patient", name: pnames[v.patientID]})
	}
	staff, err := s.deps.Staff.DisplayNames(ctx, []string{v.clinicianID})
	if err != nil {
		return nil, fmt.Errorf("consult: clinician name: %w", err)
	}
	out = append(out, member{accountID: v.clinicianID, role: "clinician", name: staff[v.clinicianID]})
	guests, err := s.strings(ctx, selectVisitGuests, v.id, s.now().UnixNano())
	if err != nil {
		return nil, err
	}
	if len(guests) > 0 {
		names := map[string]string{}
		if s.deps.GuestNames != nil {
			if names, err = s.deps.GuestNames(ctx, v.patientID, guests); err != nil {
				return nil, fmt.Errorf("consult: guest names: %w", err)
			}
		}
		for _, g := range guests {
			out = append(out, member{accountID: g, role: "guest", name: names[g]})
		}
	}
	return out, nil
}

// patientMembers lists a patient's thread's members.
func (s *Service) patientMembers(ctx context.Context, patientID string) ([]member, error) {
	var out []member
	pa, err := s.patientAccount(ctx, patientID)
	if err != nil {
		return nil, err
	}
	if pa != "" {
		pnames, err := s.deps.Patients.OpenNames(ctx, []string{patientID})
		if err != nil {
			return nil, fmt.Errorf("consult: patient name: %w", err)
		}
		out = append(out, member{accountID: pa, role: "patient", name: pnames[patientID]})
	}
	rows, err := s.db.QueryContext(ctx, selectCareTeam, patientID)
	if err != nil {
		return nil, fmt.Errorf("consult: care team: %w", err)
	}
	var team []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.accountID, &m.role); err != nil {
			rows.Close()
			return nil, fmt.Errorf("consult: care team: %w", err)
		}
		team = append(team, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consult: care team: %w", err)
	}
	if len(team) > 0 {
		accts := make([]string, len(team))
		for i, m := range team {
			accts[i] = m.accountID
		}
		names, err := s.deps.Staff.DisplayNames(ctx, accts)
		if err != nil {
			return nil, fmt.Errorf("consult: care team names: %w", err)
		}
		for _, m := range team {
			m.name = names[m.accountID]
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *Service) patientAccount(ctx context.Context, patientID string) (string, error) {
	as, err := s.strings(ctx, selectPatientAccount, patientID)
	if err != nil || len(as) == 0 {
		return "", err
	}
	return as[0], nil
}

func (s *Service) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("consult: query: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("consult: query: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// keysOf reads the members' current devices and proves each against one checkpoint, publishing
// a new checkpoint if the latest does not cover every leaf.
func (s *Service) keysOf(ctx context.Context, ms []member) (Keys, error) {
	var accts []string
	for _, m := range ms {
		accts = append(accts, m.accountID)
	}
	byAccount := map[string][]deviceRow{}
	var maxSeq int64
	for chunk := range chunks(accts, store.MaxInList) {
		list, args := store.InList(1, chunk)
		rows, err := s.devicesWhere(ctx, "removed_at IS NULL AND account_id IN "+list, args...)
		if err != nil {
			return Keys{}, err
		}
		for _, d := range rows {
			byAccount[d.account] = append(byAccount[d.account], d)
			maxSeq = max(maxSeq, d.seq)
		}
	}
	cp, err := s.checkpointFor(ctx, max(maxSeq, 1))
	if err != nil {
		return Keys{}, err
	}
	out := Keys{Checkpoint: string(cp.Signed), Origin: s.deps.Origin, People: []Person{}}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.accountID] {
			continue
		}
		seen[m.accountID] = true
		p := Person{AccountID: m.accountID, Role: m.role, DisplayName: m.name, Devices: []KeyDevice{}}
		ds := byAccount[m.accountID]
		sort.Slice(ds, func(i, j int) bool { return ds[i].seq < ds[j].seq })
		for _, d := range ds {
			kd, err := s.proven(ctx, d, cp.Size)
			if err != nil {
				return Keys{}, err
			}
			p.Devices = append(p.Devices, kd)
		}
		out.People = append(out.People, p)
	}
	return out, nil
}

// proven is a device with its leaf and the leaf's inclusion proof in the tree of size size.
func (s *Service) proven(ctx context.Context, d deviceRow, size int64) (KeyDevice, error) {
	e, err := audit.EntryAt(ctx, s.db, d.seq)
	if err != nil {
		return KeyDevice{}, fmt.Errorf("consult: device leaf: %w", err)
	}
	proof, err := audit.ProveEntry(ctx, s.db, d.seq, size)
	if err != nil {
		return KeyDevice{}, fmt.Errorf("consult: prove device: %w", err)
	}
	hs := make([]string, len(proof))
	for i, h := range proof {
		hs[i] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	return KeyDevice{DeviceID: d.id, SignKey: d.sign, AgreeKey: d.agree, Entry: entryOf(e), Proof: hs}, nil
}

func chunks(xs []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for i := 0; i < len(xs); i += n {
			if !yield(xs[i:min(i+n, len(xs))]) {
				return
			}
		}
	}
}
