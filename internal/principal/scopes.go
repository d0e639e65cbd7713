package principal

import (
	"fmt"
	"slices"
	"strings"
)

// Interaction is a FHIR interaction as SMART v2 scopes name it: create, read, update, delete
// or search. A SMART v1 scope's "read" is read and search, its "write" create, update and
// delete.
type Interaction byte

// Interactions.
const (
	Create Interaction = 'c'
	Read   Interaction = 'r'
	Update Interaction = 'u'
	Delete Interaction = 'd'
	Search Interaction = 's'
)

// Scope is one SMART system scope: a resource type ("*" for every type) and the interactions
// it allows.
type Scope struct {
	Type  string
	Perms string // a subset of "cruds", in that order
}

// String is the scope as a token carries it, in SMART v2 form ("system/Observation.rs").
func (s Scope) String() string { return "system/" + s.Type + "." + s.Perms }

// Scopes are the scopes a token grants.
type Scopes []Scope

// String joins the scopes with spaces, as an OAuth scope parameter does.
func (ss Scopes) String() string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return strings.Join(out, " ")
}

// Allow reports whether a scope grants interaction on fhirType. An empty type (an act with no
// FHIR resource) is never allowed.
func (ss Scopes) Allow(fhirType string, i Interaction) bool {
	if fhirType == "" || i == 0 {
		return false
	}
	for _, s := range ss {
		if (s.Type == "*" || s.Type == fhirType) && strings.IndexByte(s.Perms, byte(i)) >= 0 {
			return true
		}
	}
	return false
}

// Within reports whether every scope of ss is granted by allowed: a token may ask for less
// than its client was registered for, never more.
func (ss Scopes) Within(allowed Scopes) bool {
	for _, s := range ss {
		for i := 0; i < len(s.Perms); i++ {
			if !allowed.Allow(s.Type, Interaction(s.Perms[i])) && !(s.Type == "*" && allowed.allowStar(Interaction(s.Perms[i]))) {
				return false
			}
		}
	}
	return true
}

func (ss Scopes) allowStar(i Interaction) bool {
	return slices.ContainsFunc(ss, func(s Scope) bool { return s.Type == "*" && strings.IndexByte(s.Perms, byte(i)) >= 0 })
}

// ParseScopes reads a space-separated list of SMART system scopes, in v2 form
// ("system/Observation.rs", "system/*.cruds") or v1 form ("system/Patient.read",
// "system/*.write", "system/*.*"). Anything else (a patient/ or user/ scope, an unknown
// permission, a type that is not a FHIR resource name) is an error naming it.
func ParseScopes(s string) (Scopes, error) {
	var out Scopes
	for _, tok := range strings.Fields(s) {
		sc, err := parseScope(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given: name at least one, such as system/Observation.rs")
	}
	return out, nil
}

func parseScope(tok string) (Scope, error) {
	rest, ok := strings.CutPrefix(tok, "system/")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q: only system scopes (system/Type.perms) are granted to a connected system", tok)
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || !validType(typ) {
		return Scope{}, fmt.Errorf("scope %q: write it as system/Type.perms, such as system/Observation.rs", tok)
	}
	switch perms {
	case "read":
		perms = "rs"
	case "write":
		perms = "cud"
	case "*":
		perms = "cruds"
	default:
		if !inOrder(perms) {
			return Scope{}, fmt.Errorf("scope %q: permissions are letters of cruds, in that order", tok)
		}
	}
	return Scope{Type: typ, Perms: perms}, nil
}

// inOrder reports whether p is a non-empty subsequence of "cruds".
func inOrder(p string) bool {
	const all = "cruds"
	if p == "" {
		return false
	}
	j := 0
	for i := 0; i < len(p); i++ {
		k := strings.IndexByte(all[j:], p[i])
		if k < 0 {
			return false
		}
		j += k + 1
	}
	return true
}

// validType reports whether t can be a FHIR resource type name ("*", or a capitalised word of
// letters) — whether Haven serves it is the scope's holder's concern.
func validType(t string) bool {
	if t == "*" {
		return true
	}
	if t == "" || len(t) > 64 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
