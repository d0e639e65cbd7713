package server

import (
	"context"
	"strings"

	"haven/internal/principal"
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

// connectedSystems adds the registered connected systems to the people the privacy officer
// can filter the trail by.
func connectedSystems(ctx context.Context, systems *smart.Service, people []privacy.Person) ([]privacy.Person, error) {
	ns, err := systems.Directory(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		people = append(people, privacy.Person{AccountID: n.ID, Name: n.Name, Role: string(principal.Integration)})
	}
	return people, nil
}
