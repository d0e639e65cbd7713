package visits

import "time"

// Policy is the clinic's scheduling policy in force (with DefaultConfig's values filled in), so
// that a page can say it before a person meets it: how long before its start an appointment can
// still be cancelled or moved, when a visit's page opens, how far ahead one may book.
func (s *Service) Policy() Config { return s.cfg }

// Now is the service's clock, so that a page says "upcoming" and "past" as the service decides
// them (tests run both on a fake clock).
func (s *Service) Now() time.Time { return s.now() }
