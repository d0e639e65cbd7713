package fhir

import (
	"context"
	"strconv"
	"strings"
	"time"

	"haven/internal/principal"
	"haven/internal/privacy"
)

// AuditEvent is one entry of the audit trail (package privacy), for the privacy officer's own
// systems (an auditor's session, or a connected system with an AuditEvent scope). It carries
// what the entry holds and nothing more: identifiers, the action, the outcome and its reason,
// the purpose, the source address; never a name or clinical content. Its id is the entry's
// index in the log.
type AuditEvent struct {
	Head
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []auditAgent      `json:"agent"`
	Source         auditSource       `json:"source"`
	Entity         []auditEntity     `json:"entity,omitempty"`
}

// auditRef is a reference by id or, for what Haven does not serve as a resource (a staff
// account, a connected system), by identifier.
type auditRef struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type auditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *auditRef         `json:"who,omitempty"`
	Requestor bool              `json:"requestor"`
	Network   *auditNetwork     `json:"network,omitempty"`
}

type auditNetwork struct {
	Address string `json:"address"`
	Type    string `json:"type"` // 2: an IP address
}

type auditSource struct {
	Observer auditRef `json:"observer"`
	Type     []Coding `json:"type,omitempty"`
}

type auditEntity struct {
	What *auditRef `json:"what,omitempty"`
	Type *Coding   `json:"type,omitempty"`
	Role *Coding   `json:"role,omitempty"`
}

// maxAuditEvents caps one search: the newest entries matching the search's patient, agent,
// Haven action and date range, before the finer filters (prefixes, outcome, action code).
const maxAuditEvents = 1000

// Code systems of the trail.
const (
	systemDCM        = "http://dicom.nema.org/resources/ontology/DCM"
	systemEventType  = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	systemEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemObjectRole = "http://terminology.hl7.org/CodeSystem/object-role"
)

func (f *FHIR) auditEventType() *Type {
	return &Type{
		Name: "AuditEvent",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			// An id that is no index is no entry, once the door has decided: a caller without
			// the right is refused whatever id they send.
			seq, err := strconv.ParseInt(id, 10, 64)
			if err != nil || strconv.FormatInt(seq, 10) != id {
				seq = 0
			}
			e, err := f.d.Privacy.TrailEntryAt(ctx, c.By, seq, c.Origin)
			if err != nil {
				return nil, err
			}
			return f.auditEvent(e), nil
		},
		Search: f.searchAuditEvents,
		Params: []Param{
			{Name: "patient", Type: "reference", Doc: "entries about the patient (Patient/<id>). Every search returns at most the newest 1000 entries matching its patient, agent, one Haven action and date range"},
			{Name: "agent", Type: "reference", Doc: "entries by one account or connected system: its id, or Practitioner/<id>"},
			{Name: "date", Type: "date", Doc: "when the entry was recorded, with a prefix (ge2026-11-01)"},
			{Name: "subtype", Type: "token", Doc: "Haven's action, such as record.read (the subtype's code)"},
			{Name: "action", Type: "token", Doc: "C, R, U, D or E; or Haven's action, as subtype"},
			{Name: "outcome", Type: "token", Doc: "0 (allowed or succeeded) or 4 (refused or failed); or Haven's outcome: allow, deny, success, failure"},
		},
	}
}

// searchAuditEvents searches the trail. The patient, agent, one Haven action and the date
// range narrow the log's own search, which returns the newest maxAuditEvents; the rest (date
// prefixes exactly, action codes, outcomes, several values) filter what it returned.
func (f *FHIR) searchAuditEvents(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	var tq privacy.TrailQuery
	tq.Limit = maxAuditEvents
	for _, name := range []string{"patient", "agent"} {
		if len(q.Values(name)) > 1 || (len(q.Values(name)) == 1 && len(q.Values(name)[0]) > 1) {
			return nil, ErrInvalid(name + " takes one value here; search once for each")
		}
	}
	if id, ok, err := q.Reference("patient", "Patient"); err != nil {
		return nil, err
	} else if ok {
		tq.PatientID = id
	}
	if v := q.Get("agent"); v != "" {
		tq.ActorID = v[strings.LastIndex(v, "/")+1:]
		if tq.ActorID == "" {
			return nil, ErrInvalid("agent must name an account or a connected system by its id")
		}
	}
	dates, err := q.Dates("date")
	if err != nil {
		return nil, err
	}
	tq.From, tq.To = dateBounds(dates)
	actions, subtypes, outcomes := q.Values("action"), q.Tokens("subtype"), q.Tokens("outcome")
	if len(subtypes) == 1 && len(subtypes[0]) == 1 {
		tq.Action = subtypes[0][0].Code
	} else if len(actions) == 1 && len(actions[0]) == 1 && !crude(actions[0][0]) {
		tq.Action = actions[0][0]
	}
	es, err := f.d.Privacy.SearchTrail(ctx, c.By, tq, c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, e := range es {
		ev := f.auditEvent(e)
		if !MatchDates(dates, e.Time, time.Time{}) || !MatchTokens(subtypes, ev.Subtype...) || !matchAction(actions, e.Action) ||
			!MatchTokens(outcomes, Coding{System: "http://hl7.org/fhir/audit-event-outcome", Code: ev.Outcome}, Coding{Code: e.Outcome}) {
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// crude reports whether v is an AuditEvent action code rather than a Haven action.
func crude(v string) bool { return len(v) == 1 && strings.Contains("CRUDE", v) }

// matchAction reports whether a Haven action matches every AND term of the action parameter:
// each value an action code (C R U D E) or a Haven action.
func matchAction(terms [][]string, action string) bool {
	for _, term := range terms {
		hit := false
		for _, v := range term {
			if v == action || (crude(v) && v == privacy.EventAction(action)) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// dateBounds is the widest [from, to) every AND term of a date search lies in: the log's
// own search narrows to it, and MatchDates then applies each prefix exactly. Zero is open.
func dateBounds(terms [][]DateParam) (from, to time.Time) {
	for _, term := range terms {
		if len(term) != 1 {
			continue // an OR of several values: left to MatchDates
		}
		d := term[0]
		var lo, hi time.Time
		switch d.Prefix {
		case "eq":
			lo, hi = d.Lo, d.Hi
		case "gt", "ge", "sa":
			lo = d.Lo
		case "lt", "le", "eb":
			hi = d.Hi
		default:
			continue
		}
		if !lo.IsZero() && lo.After(from) {
			from = lo
		}
		if !hi.IsZero() && (to.IsZero() || hi.Before(to)) {
			to = hi
		}
	}
	return from, to
}

// auditEvent is an entry as an AuditEvent.
func (f *FHIR) auditEvent(e privacy.Entry) *AuditEvent {
	ev := &AuditEvent{
		Head:     NewHead("AuditEvent", strconv.FormatInt(e.Seq, 10), e.Time, 0),
		Type:     Coding{System: systemEventType, Code: "rest", Display: "RESTful Operation"},
		Subtype:  []Coding{{System: f.d.BaseURL + "/fhir/CodeSystem/haven-action", Code: e.Action}},
		Action:   privacy.EventAction(e.Action),
		Recorded: e.Time.UTC().Format(time.RFC3339Nano),
		Outcome:  privacy.EventOutcome(e.Outcome),
		Source: auditSource{Observer: auditRef{Display: "Haven"},
			Type: []Coding{{System: "http://terminology.hl7.org/CodeSystem/security-source-type", Code: "4", Display: "Application Server"}}},
	}
	switch {
	case strings.HasPrefix(e.Action, "auth."):
		ev.Type = Coding{System: systemDCM, Code: "110114", Display: "User Authentication"}
	case e.PatientID != "":
		ev.Type = Coding{System: systemDCM, Code: "110110", Display: "Patient Record"}
	}
	if e.Outcome != "" {
		ev.OutcomeDesc = e.Outcome
		if e.Reason != "" {
			ev.OutcomeDesc += ": " + e.Reason
		}
	}
	if e.Purpose != "" {
		ev.PurposeOfEvent = []CodeableConcept{{Coding: []Coding{{System: SystemPurpose, Code: e.Purpose}}}}
	}
	ev.Agent = []auditAgent{f.auditAgent(e)}
	if e.ResourceID != "" {
		typ := strings.ToLower(e.ResourceType)
		if typ == "" {
			typ = "resource"
		}
		ev.Entity = append(ev.Entity, auditEntity{
			What: &auditRef{Identifier: &Identifier{System: f.d.BaseURL + "/fhir/sid/" + typ, Value: e.ResourceID}},
			Type: &Coding{System: systemEntityType, Code: "2", Display: "System Object"}})
	}
	if e.PatientID != "" {
		ev.Entity = append(ev.Entity, auditEntity{What: &auditRef{Reference: "Patient/" + e.PatientID},
			Type: &Coding{System: systemEntityType, Code: "1", Display: "Person"},
			Role: &Coding{System: systemObjectRole, Code: "1", Display: "Patient"}})
	}
	return ev
}

// auditAgent is who acted: a clinician as the Practitioner Haven serves under their account
// id; anyone else by the identifier of their account, or a connected system by its client's.
func (f *FHIR) auditAgent(e privacy.Entry) auditAgent {
	a := auditAgent{Requestor: true}
	if e.ActorRole != "" {
		a.Role = []CodeableConcept{{Text: principal.Role(e.ActorRole).Label()}}
	}
	switch principal.Role(e.ActorRole) {
	case principal.Integration:
		a.Type = &CodeableConcept{Coding: []Coding{{System: systemDCM, Code: "110150", Display: "Application"}}}
	case principal.Patient, principal.Guest, principal.Clinician, principal.Nurse, principal.Admin, principal.Auditor,
		principal.FrontDesk, principal.Billing:
		a.Type = &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/extra-security-role-type", Code: "humanuser", Display: "human user"}}}
	}
	if e.ActorID != "" {
		system := f.d.BaseURL + "/fhir/sid/account"
		if principal.Role(e.ActorRole) == principal.Integration {
			system = f.d.BaseURL + "/fhir/sid/client"
		}
		a.Who = &auditRef{Identifier: &Identifier{System: system, Value: e.ActorID}}
		if principal.Role(e.ActorRole) == principal.Clinician {
			a.Who.Reference = "Practitioner/" + e.ActorID
		}
	}
	if e.SourceAddr != "" {
		a.Network = &auditNetwork{Address: e.SourceAddr, Type: "2"}
	}
	return a
}
