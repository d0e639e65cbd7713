package server

import (
	"context"
	"time"
)

// runPurge deletes the records past their retention period now and then every interval until
// ctx ends. A pass that fails is logged (counts only) and recorded in governance_runs; the
// next pass tries again, and what it did not delete is still expired.
func (s *Server) runPurge(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.governance.Purge(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("retention purge", "deleted", res.Deleted, "held", res.Held, "error", err.Error())
		case res.Deleted > 0 || res.Held > 0:
			s.log.Info("retention purge", "deleted", res.Deleted, "held", res.Held)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
