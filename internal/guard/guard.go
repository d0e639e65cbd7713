// Package guard is Haven's one door. Every PHI disclosure and every account or administrative
// act passes through it: the policy decides, step-up is enforced where the policy asks for a
// fresh second factor, one audit entry is built here and appended, and only then is the
// result released. If the entry cannot be written, nothing is released (fail closed).
//
// The domain services (clinical, identity, privacy) call it; transports never do, and never
// see the policy or the log. Entries are built in one place (entry), so decision, reason,
// purpose of use and origin cannot drift between services.
//
// A read's entry commits while the read runs, and the answer waits for both; a write's entry
// is durable before the write starts, so there is never an unaudited change.
package guard

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/principal"
)

// StepUpWindow is how recent a second factor must be for an act the policy marks step-up.
const StepUpWindow = 5 * time.Minute

// Errors.
var (
	// ErrForbidden is every refusal by the policy. It never says why: the entry does.
	ErrForbidden = fault.New(fault.Forbidden, "you are not permitted to do this")
	// ErrStepUpRequired means the act needs a fresh second factor.
	ErrStepUpRequired = fault.New(fault.StepUpRequired, "confirm it is you: enter a code from your authenticator app")
	// ErrUnrecorded means the audit entry could not be written, so the result is withheld.
	ErrUnrecorded = fault.New(fault.Unavailable, "the service cannot record this access right now, so it is refused; try again later")
)

// ReasonStepUpRequired is the reason recorded when an allowed act lacked a fresh factor.
const ReasonStepUpRequired = "step-up-required"

// Decider is the policy decision point (package access).
type Decider interface {
	Decide(ctx context.Context, s access.Subject, a access.Action, r access.Resource) access.Decision
}

// ManyDecider is what a Decider may also do: decide one act on many resources, answering
// what Decide would for each (access.Policy.DecideMany).
type ManyDecider interface {
	DecideMany(ctx context.Context, s access.Subject, a access.Action, rs []access.Resource) []access.Decision
}

// Appender appends audit entries durably (package audit).
type Appender interface {
	AppendAll(ctx context.Context, entries []audit.Entry) error
}

// Door is the guarded call.
type Door struct {
	policy Decider
	log    Appender
	now    func() time.Time
	// written counts the entries this door appended, so a test can tell that every entry in
	// the log came through the door and none was appended around it.
	written atomic.Int64
}

// Written is how many entries this door has appended since it was built.
func (d *Door) Written() int64 { return d.written.Load() }

// New returns the door over a policy and a log; now tells the time (a fake clock in tests).
func New(policy Decider, log Appender, now func() time.Time) *Door {
	return &Door{policy: policy, log: log, now: now}
}

// Act is one request at the door.
type Act struct {
	By       principal.Subject
	Action   access.Action
	Resource access.Resource
	Origin   principal.Origin
	// Detail is added to the entry's reason after the decision's own reason id: identifiers and
	// fixed words only (a role change's "clinician->auditor"), never PHI.
	Detail string
}

// Admit decides act and, if it is refused, records the refusal. It records nothing when the
// act is allowed: it is the check a transport needs before reading a body, and the act itself
// then goes through Do, which records it.
func (d *Door) Admit(ctx context.Context, act Act) error {
	_, err := d.decide(ctx, act)
	return err
}

// decide asks the policy and enforces step-up. A refusal is recorded before it is returned.
func (d *Door) decide(ctx context.Context, act Act) (access.Decision, error) {
	dec := d.policy.Decide(ctx, act.By, act.Action, act.Resource)
	if dec.Allow && dec.StepUp && !d.fresh(act) {
		if err := d.append(ctx, d.entry(act, audit.Deny, ReasonStepUpRequired)); err != nil {
			return dec, err
		}
		return dec, ErrStepUpRequired
	}
	if !dec.Allow {
		if err := d.append(ctx, d.entry(act, audit.Deny, dec.Reason)); err != nil {
			return dec, err
		}
		return dec, ErrForbidden
	}
	return dec, nil
}

// Refuse records act as refused for reason, without asking the policy, and returns
// ErrForbidden: for a request that names nothing the policy could allow (a staff member asking
// for "my record", which they have none of).
func (d *Door) Refuse(ctx context.Context, act Act, reason string) error {
	if err := d.append(ctx, d.entry(act, audit.Deny, reason)); err != nil {
		return err
	}
	return ErrForbidden
}

func (d *Door) fresh(act Act) bool {
	at := act.By.FactorAt
	return !at.IsZero() && d.now().Sub(at) <= StepUpWindow
}

// Do passes act through the door and runs op if it is allowed, releasing op's result only
// once the act's entry is durable. A refusal is recorded and returned as ErrForbidden or
// ErrStepUpRequired; op never runs.
func Do[T any](ctx context.Context, d *Door, act Act, op func(context.Context) (T, error)) (T, error) {
	var zero T
	dec, err := d.decide(ctx, act)
	if err != nil {
		return zero, err
	}
	e := d.entry(act, audit.Allow, dec.Reason)
	if dec.Writes {
		if err := d.append(ctx, e); err != nil {
			return zero, err
		}
		return op(ctx)
	}
	// A read: the entry commits while the record is read and opened.
	committed := make(chan error, 1)
	go func() { committed <- d.append(ctx, e) }()
	v, opErr := op(ctx)
	if err := <-committed; err != nil {
		return zero, err
	}
	if opErr != nil {
		return zero, opErr
	}
	return v, nil
}

// Run is Do for an act with no result.
func Run(ctx context.Context, d *Door, act Act, op func(context.Context) error) error {
	_, err := Do(ctx, d, act, func(ctx context.Context) (struct{}, error) { return struct{}{}, op(ctx) })
	return err
}

// Disclosed is one patient a list or a search shows, with the reason the caller may see them.
type Disclosed struct {
	PatientID string
	Reason    string
}

// List passes act (a list or a search, decided without a patient) through the door, runs op,
// and records one entry per patient op discloses, or one with no patient when it discloses
// none, before anything is released. op filters its candidates with May or MayEach.
func List[T any](ctx context.Context, d *Door, act Act, op func(context.Context) (T, []Disclosed, error)) (T, error) {
	var zero T
	dec, err := d.decide(ctx, act)
	if err != nil {
		return zero, err
	}
	v, shown, err := op(ctx)
	if err != nil {
		return zero, err
	}
	var entries []audit.Entry
	for _, s := range shown {
		a := act
		a.Resource.PatientID, a.Resource.ID = s.PatientID, s.PatientID
		entries = append(entries, d.entry(a, audit.Allow, s.Reason))
	}
	if len(entries) == 0 {
		// A search that disclosed no one still says what the caller looked for.
		entries = append(entries, d.entry(act, audit.Allow, dec.Reason))
	}
	if err := d.appendAll(ctx, entries); err != nil {
		return zero, err
	}
	return v, nil
}

// May reports whether by may do a to r, recording nothing: for filtering candidates a list
// will not show. Whatever it lets through is recorded by List.
func (d *Door) May(ctx context.Context, by principal.Subject, a access.Action, r access.Resource) (bool, string) {
	dec := d.policy.Decide(ctx, by, a, r)
	return dec.Allow, dec.Reason
}

// MayEach is May for each of rs, in order, deciding them together when the policy can (one
// care-team lookup for a whole list of candidates). It records nothing, like May.
func (d *Door) MayEach(ctx context.Context, by principal.Subject, a access.Action, rs []access.Resource) []access.Decision {
	if m, ok := d.policy.(ManyDecider); ok {
		return m.DecideMany(ctx, by, a, rs)
	}
	out := make([]access.Decision, len(rs))
	for i, r := range rs {
		out[i] = d.policy.Decide(ctx, by, a, r)
	}
	return out
}

// Event is an authentication or account event that no policy decides (a sign-in attempt, a
// logout, a password change by its owner): it is recorded with its outcome.
type Event struct {
	By       principal.Subject
	Action   string
	Resource access.Resource
	Outcome  string // audit.Success or audit.Failure
	Reason   string
	Origin   principal.Origin
}

// Record appends an event's entry; an error means the caller must not go on as if it were
// recorded.
func (d *Door) Record(ctx context.Context, ev Event) error {
	e := d.entry(Act{By: ev.By, Action: access.Action(ev.Action), Resource: ev.Resource, Origin: ev.Origin}, ev.Outcome, ev.Reason)
	return d.append(ctx, e)
}

// entry builds the one audit entry shape every door writes.
func (d *Door) entry(act Act, outcome, reason string) audit.Entry {
	if act.Detail != "" {
		reason += " " + act.Detail
	}
	return audit.Entry{
		ActorID: act.By.AccountID, ActorRole: string(act.By.Role), Action: string(act.Action),
		ResourceType: act.Resource.Type, ResourceID: act.Resource.ID, PatientID: act.Resource.PatientID,
		Outcome: outcome, Reason: reason, SourceAddr: act.Origin.Addr, RequestID: act.Origin.RequestID,
		Purpose: access.PurposeOfUse(act.By),
	}
}

func (d *Door) append(ctx context.Context, e audit.Entry) error {
	return d.appendAll(ctx, []audit.Entry{e})
}

func (d *Door) appendAll(ctx context.Context, es []audit.Entry) error {
	if err := d.log.AppendAll(ctx, es); err != nil {
		return fault.Wrap(fault.Unavailable, ErrUnrecorded.Message, errors.Join(ErrUnrecorded, err))
	}
	d.written.Add(int64(len(es)))
	return nil
}
