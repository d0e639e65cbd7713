package privacy

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/monitor"
)

// The privacy officer's pages read the trail in words: people by name and role, what they did
// and how it ended. Staff names come from identity; patients' names from the records service,
// each one shown an entry in that patient's own log (patient.identify).

// TrailEntry is an audit entry as the privacy officer reads it.
type TrailEntry struct {
	Entry
	Who     string // the person's name, "Haven", or who it was when no one was signed in
	Role    string // the person's role, in words
	What    string // the action, in words
	Outcome string // allowed, refused, done, failed
	Why     string // the reason, in words
	Patient string // the patient's name when the entry is about one (and it could be read)
}

// notSignedIn is who acted when no account did (a sign-in with an unknown address).
const notSignedIn = "Someone not signed in"

// OfficerEntry is e in words as the privacy officer reads it, names still to be filled in
// (Who is empty for a staff member or patient). Nothing in it is an internal code.
func OfficerEntry(e Entry) TrailEntry {
	t := TrailEntry{Entry: e, What: ActionWords(e.Action), Outcome: OutcomeWords(e.Outcome), Why: ReasonWords(e.Reason)}
	if e.ActorRole != "" {
		t.Role = RoleWords(e.ActorRole)
	}
	switch {
	case e.ActorRole == string(access.System):
		t.Who, t.Role = "Haven", ""
	case e.ActorID == "":
		t.Who = notSignedIn
	}
	return t
}

// inWords fills in names: staff by account, patients by record (each patient named is an
// entry in their log). A patient who acted is named when the entry is about their own record.
func (s *Service) inWords(ctx context.Context, by access.Subject, es []Entry, o audit.Origin) ([]TrailEntry, error) {
	out := make([]TrailEntry, len(es))
	var ids []string
	for i, e := range es {
		out[i] = OfficerEntry(e)
		if e.PatientID != "" {
			ids = append(ids, e.PatientID)
		}
	}
	patients := map[string]string{}
	if s.deps.Patients != nil && len(ids) > 0 {
		var err error
		if patients, err = s.deps.Patients.PatientNames(ctx, by, ids, o); err != nil {
			return nil, err
		}
	}
	staff, selves := map[string]string{}, map[string]string{}
	for i := range out {
		t := &out[i]
		t.Patient = patients[t.PatientID]
		if t.Who != "" {
			continue
		}
		if t.ActorRole == string(access.Guest) {
			t.Who = aGuest
			continue
		}
		if t.ActorRole == string(access.Patient) {
			// Named only when the account is that record's own: another patient's attempt on
			// the record is never put in its owner's name.
			t.Who = "A patient"
			if n := patients[t.PatientID]; n != "" {
				if _, ok := selves[t.PatientID]; !ok {
					selves[t.PatientID], _ = s.selfOf(ctx, t.PatientID)
				}
				if selves[t.PatientID] == t.ActorID {
					t.Who = n
				}
			}
			continue
		}
		t.Who = s.staffName(ctx, staff, t.ActorID)
	}
	return out, nil
}

// TrailQuery is the privacy officer's search of the trail: a filter, and a patient's name to
// find through the records service's blind index (never by opening records).
type TrailQuery struct {
	Filter
	PatientName string
}

// TrailPage is one page of the trail in words, newest first.
type TrailPage struct {
	Entries []TrailEntry
	Older   int64 // Before for the next page; 0 when there is none
	// NoPatient: the name given is no patient's, so nothing was searched.
	NoPatient bool
}

// TrailPageSize is how many entries a page of the trail shows when the query says no number.
const TrailPageSize = 50

// Trail searches the trail for the privacy officer's page and says it in words. The search is
// decided and recorded first; a patient's name is then looked up (each patient found is an
// entry in their log), and the entries' patients named.
func (s *Service) Trail(ctx context.Context, by access.Subject, q TrailQuery, o audit.Origin) (TrailPage, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, q.PatientID, "search", o); err != nil {
		return TrailPage{}, err
	}
	f := q.Filter
	if name := strings.TrimSpace(q.PatientName); name != "" {
		if s.deps.Patients == nil {
			return TrailPage{NoPatient: true}, nil
		}
		ids, err := s.deps.Patients.PatientsNamed(ctx, by, name, o)
		if err != nil {
			return TrailPage{}, err
		}
		if len(ids) == 0 {
			return TrailPage{NoPatient: true}, nil
		}
		f.PatientIDs = ids
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = TrailPageSize
	}
	limit := f.Limit
	f.Limit++
	es, err := audit.Search(ctx, s.db, f)
	if err != nil {
		return TrailPage{}, wrap("trail", err)
	}
	var page TrailPage
	if len(es) > limit {
		es = es[:limit]
		page.Older = es[limit-1].Seq
	}
	if page.Entries, err = s.inWords(ctx, by, es, o); err != nil {
		return TrailPage{}, err
	}
	return page, nil
}

// People lists the staff for the privacy officer's filter by person, by name.
func (s *Service) People(ctx context.Context, by access.Subject, o audit.Origin) ([]Person, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "people", o); err != nil {
		return nil, err
	}
	if s.deps.Staff == nil {
		return nil, nil
	}
	ps, err := s.deps.Staff(ctx)
	if err != nil {
		return nil, wrap("people", err)
	}
	sort.SliceStable(ps, func(i, j int) bool { return strings.ToLower(ps[i].Name) < strings.ToLower(ps[j].Name) })
	return ps, nil
}

// ReviewView is a report as the privacy officer reads it: the access in words with the names
// of the person and the patient, and, once closed, the finding and the note.
type ReviewView struct {
	Review
	Access  TrailEntry
	Outcome string // justified, unjustified, or empty
	Note    string
	Closed  *time.Time
}

// ReviewQueue lists the open reports in words, oldest first.
func (s *Service) ReviewQueue(ctx context.Context, by access.Subject, o audit.Origin) ([]ReviewView, error) {
	rs, err := s.OpenReviews(ctx, by, o)
	if err != nil {
		return nil, err
	}
	es := make([]Entry, len(rs))
	for i, r := range rs {
		es[i] = r.Entry
	}
	ts, err := s.inWords(ctx, by, es, o)
	if err != nil {
		return nil, err
	}
	out := make([]ReviewView, len(rs))
	for i := range rs {
		out[i] = ReviewView{Review: rs[i], Access: ts[i]}
	}
	return out, nil
}

// ReviewByID returns one report, open or closed, in words, for the page where the privacy
// officer looks into it and closes it.
func (s *Service) ReviewByID(ctx context.Context, by access.Subject, id string, o audit.Origin) (ReviewView, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "review:"+id, o); err != nil {
		return ReviewView{}, err
	}
	var v ReviewView
	var seq, created int64
	var patientID string
	var note []byte
	var closed sql.NullInt64
	err := s.db.QueryRowContext(ctx, selectReview, id).Scan(&v.ID, &seq, &patientID, &v.Status, &created, &v.Outcome, &note, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewView{}, ErrNotFound
	}
	if err != nil {
		return ReviewView{}, wrap("review", err)
	}
	v.Created = time.Unix(0, created).UTC()
	if closed.Valid {
		t := time.Unix(0, closed.Int64).UTC()
		v.Closed = &t
	}
	v.Note = s.openNote(ctx, patientID, id, note)
	if v.Entry, err = audit.EntryAt(ctx, s.db, seq); err != nil {
		return ReviewView{}, wrap("review", err)
	}
	ts, err := s.inWords(ctx, by, []Entry{v.Entry}, o)
	if err != nil {
		return ReviewView{}, err
	}
	v.Access, v.ActorName = ts[0], ts[0].Who
	return v, nil
}

// AlertView is a security alert in words: its kind, who it is about by name where it is a
// staff member, and its detail without action codes.
type AlertView struct {
	monitor.Alert
	What   string
	Who    string
	Detail string
}

// alertWords says what each kind of alert means.
var alertWords = map[string]string{
	monitor.BruteForceAccount: "Many failed sign-ins to one account",
	monitor.BruteForceAddress: "Many failed sign-ins from one address",
	monitor.CredentialStuff:   "Sign-ins to many accounts from one address",
	monitor.MassAccess:        "Many records opened by one person",
	monitor.DeniedOutsideCare: "Repeated refusals outside their care",
	monitor.AfterHours:        "Records used outside working hours",
	monitor.FlaggedRecord:     "A flagged record was opened",
	monitor.AuditIntegrity:    "The audit log's integrity",
	monitor.RecordIntegrity:   "A record that cannot be opened",
	monitor.DeniedOtherRecord: "A patient trying other patients' records",
	monitor.ContactProbing:    "Asking for phone numbers or addresses other accounts use",
	monitor.BackupFailed:      "A scheduled backup that failed",
}

// AlertsInWords lists recent security alerts for the privacy officer's page, in words.
func (s *Service) AlertsInWords(ctx context.Context, by access.Subject, o audit.Origin) ([]AlertView, error) {
	as, err := s.Alerts(ctx, by, o)
	if err != nil {
		return nil, err
	}
	staff := map[string]string{}
	named := func(id string) (string, bool) {
		n := s.staffName(ctx, staff, id)
		return n, n != unknownStaff
	}
	out := make([]AlertView, len(as))
	for i, a := range as {
		v := AlertView{Alert: a, What: alertWords[a.Kind], Who: a.Subject, Detail: InWords(a.Detail)}
		if v.What == "" {
			v.What = strings.ReplaceAll(a.Kind, "-", " ")
		}
		switch a.Kind {
		case monitor.FlaggedRecord:
			actor, _, _ := strings.Cut(a.Subject, "→")
			if n, ok := named(actor); ok {
				v.Who = n
			}
		case monitor.MassAccess, monitor.DeniedOutsideCare, monitor.AfterHours, monitor.BruteForceAccount:
			if n, ok := named(a.Subject); ok {
				v.Who = n
			}
		}
		out[i] = v
	}
	return out, nil
}
