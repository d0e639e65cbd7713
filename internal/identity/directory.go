package identity

import "context"

// StaffMembers lists every staff account, active or not, for the privacy officer's filter of
// the trail by person (names and roles; no PHI). It decides nothing: the caller asks the door
// first (package privacy, as the privacy officer's review of the trail).
func (s *Service) StaffMembers(ctx context.Context) ([]Account, error) {
	return s.workforce(ctx)
}
