package visits

// UNBUILT: the methods below are the contract the helpers implement. Each helper moves the
// methods it builds out of this file into its own; the file is deleted before anything lands.

import (
	"context"
	"errors"

	"haven/internal/access"
)

var errUnbuilt = errors.New("visits: not built yet")

// ---- visits (consent.go, visit.go, waiting.go, queue.go, guests.go) ----

// CurrentConsent is the telehealth consent text in force.
func (s *Service) CurrentConsent() Consent { return Consent{} }

// Consent says which consent the patient accepted (consent.read).
func (s *Service) Consent(ctx context.Context, by access.Subject, patientID string, o Origin) (ConsentStatus, error) {
	return ConsentStatus{}, errUnbuilt
}

// AcceptConsent records the patient's acceptance of version (consent.accept).
func (s *Service) AcceptConsent(ctx context.Context, by access.Subject, patientID, version string, o Origin) error {
	return errUnbuilt
}

// Visit opens a visit's page (visit.read).
func (s *Service) Visit(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	return Visit{}, errUnbuilt
}

// CheckIn puts the patient in the waiting room (visit.check-in).
func (s *Service) CheckIn(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	return Visit{}, errUnbuilt
}

// SubmitIntake stores the patient's answers (intake.write).
func (s *Service) SubmitIntake(ctx context.Context, by access.Subject, id string, in Intake, o Origin) error {
	return errUnbuilt
}

// Intake reads the patient's answers (intake.read).
func (s *Service) Intake(ctx context.Context, by access.Subject, id string, o Origin) (Intake, error) {
	return Intake{}, errUnbuilt
}

// AllowGuests records the patient's agreement that guests may be invited (guest.allow).
func (s *Service) AllowGuests(ctx context.Context, by access.Subject, id string, o Origin) error {
	return errUnbuilt
}

// WaitingRoom lists who waits: a clinician's own visits, or everyone's for the front desk
// (waitingroom.read).
func (s *Service) WaitingRoom(ctx context.Context, by access.Subject, o Origin) ([]Waiting, error) {
	return nil, errUnbuilt
}

// Admit lets the waiting patient in and starts the visit (visit.admit); it needs the current
// telehealth consent.
func (s *Service) Admit(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	return Visit{}, errUnbuilt
}

// End ends the visit, writes the summary through the note path, and books the follow-up
// (visit.end).
func (s *Service) End(ctx context.Context, by access.Subject, id string, e Ending, o Origin) (Visit, error) {
	return Visit{}, errUnbuilt
}

// JoinQueue puts the patient in the on-demand queue (queue.join).
func (s *Service) JoinQueue(ctx context.Context, by access.Subject, o Origin) (QueuePlace, error) {
	return QueuePlace{}, errUnbuilt
}

// QueuePlace says where the patient stands in the on-demand queue (queue.join's read side).
func (s *Service) MyQueuePlace(ctx context.Context, by access.Subject, o Origin) (QueuePlace, error) {
	return QueuePlace{}, errUnbuilt
}

// LeaveQueue takes the patient out of the queue (queue.leave).
func (s *Service) LeaveQueue(ctx context.Context, by access.Subject, o Origin) error {
	return errUnbuilt
}

// Queue lists who waits in the on-demand queue (queue.read).
func (s *Service) Queue(ctx context.Context, by access.Subject, o Origin) ([]Waiting, error) {
	return nil, errUnbuilt
}

// TakeNext takes the first patient in the queue and starts a visit with them (queue.take).
func (s *Service) TakeNext(ctx context.Context, by access.Subject, o Origin) (Visit, error) {
	return Visit{}, errUnbuilt
}

// InviteGuest invites a guest to one visit (guest.invite), with the patient's agreement.
func (s *Service) InviteGuest(ctx context.Context, by access.Subject, id string, g GuestInvite, o Origin) (GuestLink, error) {
	return GuestLink{}, errUnbuilt
}

// RedeemGuest turns a guest link into a guest session, once; it returns the session token and
// the visit it reaches.
func (s *Service) RedeemGuest(ctx context.Context, token string, o Origin) (session, visitID string, err error) {
	return "", "", errUnbuilt
}

// Follow subscribes the caller to the live events of what they may see: a visit's page
// (visitID set: visit.read) or their waiting room (visitID empty: waitingroom.read). Refusals
// are recorded; the subscription itself discloses nothing.
func (s *Service) Follow(ctx context.Context, by access.Subject, visitID string, o Origin) (<-chan Event, func(), error) {
	return nil, nil, errUnbuilt
}
