package visits

import (
	"context"

	"haven/internal/access"
	"haven/internal/guard"
)

// Live pages follow what they show through the hub: every move of a visit is published (a kind
// and the appointment's identifier, never PHI) to the visit's page, its clinician's waiting
// room and the front desk's; every change of the queue to the queue's followers. A page told
// of a change asks again through the door, so the event itself discloses nothing.

// Follow subscribes the caller to the live events of what they may see: a visit's page
// (visitID set: visit.read) or their waiting room and the queue (visitID empty:
// waitingroom.read). The door decides before anything is followed and records a refusal; an
// allowed subscription discloses nothing, so it is not an entry (the reads it prompts are).
// A clinician following their waiting room is "online" to their waiting patients.
func (s *Service) Follow(ctx context.Context, by access.Subject, visitID string, o Origin) (<-chan Event, func(), error) {
	if visitID != "" {
		r, _, err := s.decided(ctx, by, access.ReadVisit, visitID, o)
		if err != nil {
			return nil, nil, err
		}
		ch, stop := s.hub.Subscribe(visitTopic(r.id))
		return ch, stop, nil
	}
	if err := s.door.Admit(ctx, guard.Act{By: by, Action: access.ReadWaitingRoom, Resource: access.Resource{Type: "WaitingRoom"}, Origin: o}); err != nil {
		return nil, nil, err
	}
	topics := []string{topicQueue}
	switch by.Role {
	case access.Clinician:
		topics = append(topics, clinicianTopic(by.AccountID))
	case access.FrontDesk:
		topics = append(topics, topicFrontDesk)
	}
	ch, stop := s.hub.Subscribe(topics...)
	if by.Role != access.Clinician {
		return ch, stop, nil
	}
	// The clinician's status is what their waiting patients' pages show: they are told.
	bg := context.WithoutCancel(ctx)
	s.tellWaiting(bg, by.AccountID, "clinician-online")
	return ch, func() {
		stop()
		s.tellWaiting(bg, by.AccountID, "clinician-offline")
	}, nil
}

// tellWaiting publishes kind to the pages of the clinician's visits that wait for them. It is
// a courtesy to those pages: if the lookup fails they learn of it at their next event.
func (s *Service) tellWaiting(ctx context.Context, clinicianID, kind string) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM appointments WHERE clinician_id = $1 AND state IN ('booked', 'waiting') AND start_at >= $2`,
		clinicianID, s.now().Add(-waitingWindow).UnixNano())
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			s.hub.Publish(Event{Kind: kind, AppointmentID: id}, visitTopic(id))
		}
	}
}

// CloseLive ends every live subscription and refuses new ones: the server is shutting down,
// and streams that never go idle must not hold it up.
func (s *Service) CloseLive() { s.hub.Close() }

// OnEnd sets who is told, after the fact, of each visit that ends (the server closes the
// visit's call: its signalling sockets); nil tells no one. A live page learns of the end from
// the hub's "end" event; a call cannot wait for its page to notice.
func (s *Service) OnEnd(fn func(visitID string)) {
	if fn == nil {
		s.onEnd.Store(nil)
		return
	}
	s.onEnd.Store(&fn)
}

func (s *Service) ended(visitID string) {
	if fn := s.onEnd.Load(); fn != nil {
		(*fn)(visitID)
	}
}
