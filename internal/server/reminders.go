package server

import (
	"context"
	"time"
)

// runReminders sends the due appointment reminders now and then every interval until ctx ends.
// A pass that fails is logged (appointment identifiers and SMTP status codes only, never an
// address) and the next pass tries again: a reminder whose send failed is still due.
func (s *Server) runReminders(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.visits.SendReminders(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("appointment reminders", "sent", n, "error", err.Error())
		case n > 0:
			s.log.Info("appointment reminders", "sent", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
