package server

import (
	"context"
	"strings"

	"haven/internal/privacy"
	"haven/internal/smart"
)

// actorNames names whoever acted in the audit trail for the privacy service: a person by their
// account's name, a connected system by the name it was registered under, so that a patient's
// access log says "Acme Labs (connected system)" rather than an identifier. Both kinds of id
// come from ids.New, so one never names the other.
type actorNames struct {
	people  privacy.Names
	systems *smart.Service
}

// DisplayName implements privacy.Names.
func (n actorNames) DisplayName(ctx context.Context, id string) (string, error) {
	name, err := n.people.DisplayName(ctx, id)
	if err == nil && strings.TrimSpace(name) != "" {
		return name, nil
	}
	system, ok, serr := n.systems.ClientName(ctx, id)
	if serr != nil {
		return "", serr
	}
	if ok {
		return system + " (connected system)", nil
	}
	return name, err
}
