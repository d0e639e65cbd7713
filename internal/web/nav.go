package web

import (
	"strings"

	"haven/internal/principal"
)

// navLink is one of a role's pages in the header.
type navLink struct {
	Href, Label string
	Current     bool // the page shown (aria-current)
}

// navs are each role's pages. A guest has none: their link opens one visit's page only.
var navs = map[principal.Role][]navLink{
	principal.Patient: {
		{Href: "/patient", Label: "My record"},
		{Href: "/patient/documents", Label: "Documents"},
		{Href: "/patient/appointments", Label: "Appointments"},
		{Href: "/patient/messages", Label: "Messages"},
		{Href: "/patient/prescriptions", Label: "Prescriptions"},
		{Href: "/patient/queue", Label: "See a clinician now"},
		{Href: "/patient/charges", Label: "Charges"},
	},
	principal.Clinician: {
		{Href: "/clinician/schedule", Label: "Schedule"},
		{Href: "/clinician", Label: "My patients"},
		{Href: "/clinician/availability", Label: "My hours"},
		{Href: "/clinician/queue", Label: "On-demand queue"},
	},
	principal.FrontDesk: {
		{Href: "/frontdesk", Label: "Clinic day"},
		{Href: "/frontdesk/clinicians", Label: "Clinicians' hours"},
	},
	// A nurse works from the same patient list and record pages as a clinician; the domain
	// decides what each may do there.
	principal.Nurse:   {{Href: "/clinician", Label: "My patients"}},
	principal.Billing: {{Href: "/billing", Label: "Charges"}},
	principal.Admin: {{Href: "/admin", Label: "Administration"}, {Href: "/admin/integrations", Label: "Connected systems"},
		{Href: "/admin/compliance", Label: "Compliance"}},
	principal.Auditor: {{Href: "/auditor", Label: "Privacy review"}, {Href: "/admin/compliance", Label: "Compliance"}},
}

// navFor is role's navigation with the link to path (or to the section path is in) marked.
func navFor(role principal.Role, path string) []navLink {
	links := navs[role]
	out := make([]navLink, len(links))
	best := -1
	for i, l := range links {
		out[i] = l
		if path == l.Href || strings.HasPrefix(path, l.Href+"/") {
			if best < 0 || len(l.Href) > len(links[best].Href) {
				best = i
			}
		}
	}
	if best >= 0 {
		out[best].Current = true
	}
	return out
}

// liveView makes a page follow what others change without a reload (static/live.js): on each
// event of Events, a server-sent event stream of the JSON API, the page fetches itself again and
// swaps its regions marked data-live; when State differs in the new copy, the whole main
// content. Poll (seconds) refreshes it even without events.
type liveView struct {
	Events string
	State  string
	Poll   int
	// Src is the page to fetch again, when this answer came from a form (a POST) rather than
	// from the page's own address.
	Src string
}
