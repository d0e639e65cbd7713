package privacy

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
)

// AccessEvent is one line of a patient's access log: one audit entry, in words.
type AccessEvent struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Who        string    `json:"who"`  // a staff member's name, "You" or "Haven"
	Role       string    `json:"role"` // the role's code: clinician, auditor, …
	What       string    `json:"what"` // in plain words
	Outcome    string    `json:"outcome"`
	Why        string    `json:"why"` // the reason the decision recorded, in words
	You        bool      `json:"you"`
	BreakGlass bool      `json:"breakGlass"`
	// System marks Haven's own reads (a notice to the patient's address): shown, not reportable.
	System   bool `json:"system"`
	Reported bool `json:"reported"`
	// Review is the latest report of this entry and, once closed, what the privacy officer found.
	Review *ReviewState `json:"review,omitempty"`

	actor, action string // who and what, for grouping; never shown
}

// ReviewState is where the patient's report of an entry stands.
type ReviewState struct {
	Status string `json:"status"` // open, resolved (or duplicate, for reports from before 0013)
	// Outcome is the privacy officer's finding once closed: justified or unjustified; empty for
	// a report closed without one (through the API, or before findings were recorded).
	Outcome string     `json:"outcome,omitempty"`
	Note    string     `json:"note,omitempty"` // the privacy officer's note to the patient
	Closed  *time.Time `json:"closed,omitempty"`
}

// Reportable reports whether the patient may report this entry: not their own act, not
// Haven's, and not one they reported already.
func (ev AccessEvent) Reportable() bool { return !ev.You && !ev.System && !ev.Reported }

// Role words: RoleWords(ev.Role), for templates.
func (ev AccessEvent) RoleWords() string { return RoleWords(ev.Role) }

// PatientEvent is entry e as its patient reads it, staff names still to be filled in (Who is
// empty for a staff member). Nothing in it is an internal code.
func PatientEvent(e Entry) AccessEvent {
	you := e.ActorRole == string(access.Patient)
	ev := AccessEvent{Seq: e.Seq, Time: e.Time, Role: e.ActorRole, Outcome: e.Outcome, You: you,
		BreakGlass: e.Reason == "break-glass", actor: e.ActorID, action: e.Action}
	var ok bool
	if ev.What, ok = forPatient[e.Action]; !ok {
		ev.What = somethingForPatient
	}
	id, _, _ := strings.Cut(e.Reason, " ") // a reason id with a detail after it
	if ev.Why, ok = explain[id]; !ok {
		ev.Why = phrase(id)
	}
	switch {
	case e.ActorRole == string(access.System):
		ev.System, ev.Who = true, "Haven"
	case you:
		ev.Who = "You"
	}
	return ev
}

// LogQuery pages an access log.
type LogQuery struct {
	Before int64 // only entries older than this index; 0 for the newest
	Limit  int   // events on the page: at most 1000, 200 if 0
	// OthersOnly leaves out the patient's own acts (signing in, reading the log): what the
	// patient's page shows. Without it only their reads of the log itself are left out.
	OthersOnly bool
}

// LogPage is one page of an access log, newest first.
type LogPage struct {
	Events []AccessEvent
	Older  int64 // Before for the next page; 0 when there is none
}

// maxLogRounds bounds how many batches of the patient's own acts one page skips.
const maxLogRounds = 20

// AccessLog returns who opened the patient's record, newest first (the latest 200 events).
// The read itself is audited before the log is returned. A blank patientID is ErrNoPatient: to
// the audit search it would mean every patient.
func (s *Service) AccessLog(ctx context.Context, by access.Subject, patientID string, o audit.Origin) ([]AccessEvent, error) {
	p, err := s.AccessLogPage(ctx, by, patientID, LogQuery{}, o)
	return p.Events, err
}

// AccessLogPage returns one page of the patient's access log, newest first; LogPage.Older
// pages back. The read is audited before the page is returned.
func (s *Service) AccessLogPage(ctx context.Context, by access.Subject, patientID string, q LogQuery, o audit.Origin) (LogPage, error) {
	if blank(patientID) {
		return LogPage{}, ErrNoPatient
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	return guard.Do(ctx, s.door, act(by, access.ReadAccessLog, patientID, "", o), func(ctx context.Context) (LogPage, error) {
		return s.accessLog(ctx, patientID, q)
	})
}

// ReasonNoOwnRecord is recorded when someone with no patient record asks for their own access
// log.
const ReasonNoOwnRecord = "no-own-record"

// MyAccessLogPage is AccessLogPage for the caller's own record. A caller with no record (staff)
// is refused, and the refusal recorded, like any other.
func (s *Service) MyAccessLogPage(ctx context.Context, by access.Subject, q LogQuery, o audit.Origin) (LogPage, error) {
	if blank(by.PatientID) {
		return LogPage{}, s.door.Refuse(ctx, act(by, access.ReadAccessLog, "", "", o), ReasonNoOwnRecord)
	}
	return s.AccessLogPage(ctx, by, by.PatientID, q, o)
}

// ownEvent is PatientEvent(e) for the record's own account self: a patient's act by any other
// account is another patient's, shown as such and reportable, never "You". Without self (no
// way to name the account) a patient's act is taken as the record's own.
func ownEvent(e Entry, self string) AccessEvent {
	ev := PatientEvent(e)
	if ev.You && self != "" && e.ActorID != self {
		ev.You, ev.Who = false, "Another patient"
	}
	return ev
}

// selfOf names the account of patientID's record, or "" if it cannot be named.
func (s *Service) selfOf(ctx context.Context, patientID string) (string, error) {
	if s.deps.PatientAccount == nil {
		return "", nil
	}
	id, err := s.deps.PatientAccount(ctx, patientID)
	if err != nil {
		return "", wrap("access log: patient account", err)
	}
	return id, nil
}

func (s *Service) accessLog(ctx context.Context, patientID string, q LogQuery) (LogPage, error) {
	page := LogPage{Events: []AccessEvent{}}
	self, err := s.selfOf(ctx, patientID)
	if err != nil {
		return LogPage{}, err
	}
	batch := min(q.Limit+1, 1000)
	before := q.Before
	for range maxLogRounds {
		entries, err := audit.Search(ctx, s.db, audit.Filter{PatientID: patientID, Before: before, Limit: batch})
		if err != nil {
			return LogPage{}, wrap("access log", err)
		}
		for _, e := range entries {
			before = e.Seq
			ev := ownEvent(e, self)
			if ev.You && (q.OthersOnly || e.Action == string(access.ReadAccessLog)) {
				continue // the patient's own look at this page is noise to them
			}
			if len(page.Events) == q.Limit {
				page.Older = page.Events[len(page.Events)-1].Seq
				return s.fill(ctx, patientID, page)
			}
			page.Events = append(page.Events, ev)
		}
		if len(entries) < batch {
			return s.fill(ctx, patientID, page) // the beginning of the log
		}
	}
	// Rounds of the patient's own acts only: the next page goes on from where this one stopped.
	page.Older = before
	return s.fill(ctx, patientID, page)
}

// fill names the staff on a page and adds where the patient's reports stand.
func (s *Service) fill(ctx context.Context, patientID string, page LogPage) (LogPage, error) {
	reviews, err := s.reviewStates(ctx, patientID)
	if err != nil {
		return LogPage{}, err
	}
	guests := s.guestNames(ctx, patientID, page.Events)
	names := map[string]string{}
	for i := range page.Events {
		ev := &page.Events[i]
		switch {
		case ev.Who != "":
		case ev.Role == string(access.Guest):
			ev.Who = cmp.Or(guests[ev.actor], unknownGuest)
		default:
			ev.Who = s.staffName(ctx, names, ev.actor)
		}
		if r, ok := reviews[ev.Seq]; ok {
			ev.Reported, ev.Review = true, r
		}
	}
	return page, nil
}

// guestNames names the visit guests who acted on a page, in one lookup. A guest whose name
// cannot be told is shown as a guest all the same, as a staff member with no name is.
func (s *Service) guestNames(ctx context.Context, patientID string, events []AccessEvent) map[string]string {
	var ids []string
	for _, ev := range events {
		if ev.Who == "" && ev.Role == string(access.Guest) {
			ids = append(ids, ev.actor)
		}
	}
	if len(ids) == 0 || s.deps.GuestNames == nil {
		return nil
	}
	names, err := s.deps.GuestNames(ctx, patientID, ids)
	if err != nil {
		return nil
	}
	return names
}

// AccessEntry returns one entry of the patient's access log, for its own page (where the
// patient may report it). The read is audited as a read of the log; an entry about another
// patient is ErrNotFound, as is one that does not exist.
func (s *Service) AccessEntry(ctx context.Context, by access.Subject, patientID string, seq int64, o audit.Origin) (AccessEvent, error) {
	if blank(patientID) {
		return AccessEvent{}, ErrNoPatient
	}
	return guard.Do(ctx, s.door, act(by, access.ReadAccessLog, patientID, strconv.FormatInt(seq, 10), o), func(ctx context.Context) (AccessEvent, error) {
		e, err := audit.EntryAt(ctx, s.db, seq)
		if err != nil || e.PatientID != patientID {
			return AccessEvent{}, ErrNotFound
		}
		self, err := s.selfOf(ctx, patientID)
		if err != nil {
			return AccessEvent{}, err
		}
		p, err := s.fill(ctx, patientID, LogPage{Events: []AccessEvent{ownEvent(e, self)}})
		if err != nil {
			return AccessEvent{}, err
		}
		return p.Events[0], nil
	})
}

// Group is one line of the access log as the patient's page shows it: one entry, or the list
// and search views one person made of the patient on one day, counted ("saw you in their list
// of patients, 8 times").
type Group struct {
	AccessEvent           // the latest of them
	Count       int       // how many entries the line stands for
	First       time.Time // the earliest of them
}

// grouped are the actions that only show that a patient exists: repeated, they say nothing new.
var grouped = map[string]bool{
	string(access.ListCareTeam):    true,
	string(access.SearchPatients):  true,
	string(access.IdentifyPatient): true,
	string(access.ReadAccessLog):   true,
}

// GroupEvents groups events (newest first) for a page: list and search views by one person
// with one outcome on one day in loc are one line, placed where the latest of them is. Every
// other entry is a line of its own; a reported entry is never folded into another.
func GroupEvents(events []AccessEvent, loc *time.Location) []Group {
	if loc == nil {
		loc = time.UTC
	}
	out := make([]Group, 0, len(events))
	at := map[string]int{}
	for _, ev := range events {
		if !grouped[ev.action] || ev.Reported {
			out = append(out, Group{AccessEvent: ev, Count: 1, First: ev.Time})
			continue
		}
		key := strings.Join([]string{ev.actor, ev.Role, ev.action, ev.Outcome, ev.Time.In(loc).Format(time.DateOnly)}, "\x00")
		if i, ok := at[key]; ok {
			out[i].Count++
			out[i].First = ev.Time
			continue
		}
		at[key] = len(out)
		out = append(out, Group{AccessEvent: ev, Count: 1, First: ev.Time})
	}
	return out
}
