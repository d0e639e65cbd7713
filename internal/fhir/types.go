package fhir

import (
	"context"
	"time"
)

// Type is one resource type Haven serves. A nil function is an interaction the type does not
// support; the CapabilityStatement says so. Every function calls domain services only, as the
// caller (c.By, with the interaction set), so the door decides and records each one.
type Type struct {
	Name string
	// NoLastUpdated: Haven does not record when these resources change, so they carry no
	// meta.lastUpdated and a _lastUpdated search is refused rather than answered empty.
	NoLastUpdated bool
	// Profile, if set, is the canonical URL of the profile the type's resources follow.
	Profile string
	// Read returns one resource by id, or a fault NotFound (404) error.
	Read func(ctx context.Context, c Caller, id string) (Resource, error)
	// Search returns every match of q. The layer applies _id, _lastUpdated, _count and
	// _offset after it (a type may use them to narrow its own work first) and pages the
	// result; a type that could return without bound caps itself and says so in Params' docs.
	Search func(ctx context.Context, c Caller, q Query) ([]Resource, error)
	// SearchPage, if set, is asked first for one page of a search's matches (offset, count)
	// and their total, so that a search over many patients discloses, and records, only the
	// patients on the page. paged false means it cannot for this query: Search answers it.
	SearchPage func(ctx context.Context, c Caller, q Query, offset, count int) (page []Resource, total int, paged bool, err error)
	// Params are the search parameters Search understands besides the common ones
	// (CommonParams); any other parameter is refused with a 400 OperationOutcome.
	Params []Param
	// Create stores a new resource from a FHIR JSON body and returns it as stored.
	Create func(ctx context.Context, c Caller, body []byte) (Resource, error)
	// Update replaces resource id from a FHIR JSON body. version is the If-Match header's
	// version id (W/"3" → "3"), or "" if the request had none; a stale version is a fault
	// Conflict error, answered 412.
	Update func(ctx context.Context, c Caller, id, version string, body []byte) (Resource, error)
	// Everything returns this type's resources for one patient, for Patient/$everything.
	Everything func(ctx context.Context, c Caller, patientID string) ([]Resource, error)
	// Raw returns a resource's content as bytes (Binary), served when the client does not ask
	// for FHIR JSON.
	Raw func(ctx context.Context, c Caller, id string) (Content, error)
}

// Content is a Binary's bytes as a download.
type Content struct {
	Type     string // media type
	Filename string
	Data     []byte
}

// Param is one search parameter of a type.
type Param struct {
	Name string
	Type string // FHIR search parameter type: token, reference, date, string, number, uri
	Doc  string // what it matches, for the CapabilityStatement
}

// CommonParams are understood for every type: the layer applies them.
var commonParams = []Param{
	{Name: "_id", Type: "token", Doc: "the resource's id"},
	{Name: "_lastUpdated", Type: "date", Doc: "when the resource last changed, with a prefix (ge2026-01-01)"},
	{Name: "_count", Type: "number", Doc: "entries per page (default 20, at most 100)"},
}

// ignoredParams are accepted and have no effect: JSON is the only format.
var ignoredParams = map[string]bool{"_format": true, "_pretty": true, "_offset": true}

// Head is what every resource starts with. Resource types embed it.
type Head struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`
}

func (h *Head) head() *Head { return h }

// Resource is any resource Haven serves: a struct embedding Head, as a pointer.
type Resource interface{ head() *Head }

// HeadOf is r's Head.
func HeadOf(r Resource) *Head { return r.head() }

// NewHead is the head of a resource of type typ with id, last changed at updated, at
// version (0: unversioned).
func NewHead(typ, id string, updated time.Time, version int64) Head {
	h := Head{ResourceType: typ, ID: id}
	if !updated.IsZero() || version > 0 {
		h.Meta = &Meta{}
		if !updated.IsZero() {
			h.Meta.LastUpdated = Instant(updated)
		}
		if version > 0 {
			h.Meta.VersionID = itoa(version)
		}
	}
	return h
}

// registry is every type Haven serves, in the order the CapabilityStatement lists them.
func (f *FHIR) registry() []*Type {
	var ts []*Type
	ts = append(ts, f.recordTypes()...)
	ts = append(ts, f.documentTypes()...)
	ts = append(ts, f.scheduleTypes()...)
	return ts
}
