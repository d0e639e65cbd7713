package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/visits"
)

// A visit's page, one address for everyone in it: the patient checks in, answers the intake
// questions, agrees (or not) that guests may join, and waits, the page following the waiting
// room live; the clinician admits, ends with a summary and a follow-up, and invites a guest the
// patient agreed to; a guest sees who takes part. The service decides who may open which visit
// (a guest only the one their link was for); the page shows each what their role needs.

func (u *UI) visitRoutes() []route {
	return []route{
		{"GET /visits/{id}", u.visitPage},
		{"POST /visits/{id}/check-in", u.checkIn},
		{"POST /visits/{id}/intake", u.submitIntake},
		{"POST /visits/{id}/guests/allow", u.allowGuests},
		{"POST /visits/{id}/admit", u.admitPatient},
		{"POST /visits/{id}/end", u.endVisit},
		{"POST /visits/{id}/guests", u.inviteGuest},
		{"GET /visit/guest/{token}", u.guestLinkPage},
		{"POST /visit/guest/{token}", u.redeemGuest},
	}
}

// followUpDays is how far ahead the end-of-visit form offers follow-up times.
const followUpDays = 28

type visitData struct {
	Visit visits.Visit
	// Open: check-in is open (from Opens until the visit is over).
	Open bool
	// Intake: the answers (the clinician reads them; a patient's form keeps what they typed).
	Intake visits.Intake
	// Guest is a guest's new link, shown once to the clinician who made it.
	Guest *visits.GuestLink
	// FollowUps are the clinician's free times for a follow-up, by day.
	FollowUps []dayChoice
	Summary   string // the clinician's draft, kept when the end form is refused
	// Note is the visit note's draft (its sections), saved or kept when a form is refused.
	Note  clinical.Note
	Video bool // the visit is on (in progress)
	// Consult is the call, chat and pre-call check's frame (consult.go), while the visit is
	// booked, waiting or in progress.
	Consult *consultView
}

// visitPath is a visit's page.
func visitPath(id string) string { return "/visits/" + url.PathEscape(id) }

// visitTemplate is the visit page each role sees.
var visitTemplate = map[principal.Role]string{
	principal.Patient:   "visit",
	principal.Clinician: "clinicianvisit",
	principal.Guest:     "guestvisit",
}

// visitTitle is the page's heading, which says where the visit stands.
func visitTitle(v visits.Visit, role principal.Role) string {
	switch v.State {
	case visits.StateWaiting:
		if role == principal.Patient {
			return "Waiting room"
		}
		return "Patient waiting"
	case visits.StateInProgress:
		switch role {
		case principal.Patient:
			return "Your visit has started"
		case principal.Guest:
			return "The visit has started"
		}
		return "Visit in progress"
	case visits.StateEnded:
		return "Visit ended"
	case visits.StateCancelled:
		return "Visit cancelled"
	case visits.StateNoShow:
		return "Visit missed"
	}
	if role == principal.Patient {
		return "Your visit"
	}
	return "Upcoming visit"
}

// visitData reads the visit (and what the reader's role shows beside it).
func (u *UI) visitData(r *http.Request, by principal.Subject, id string) (visitData, error) {
	v, err := u.d.Visits.Visit(r.Context(), by, id, httpx.Origin(r))
	if err != nil {
		return visitData{}, httpx.FromDomain(err)
	}
	now := u.now()
	d := visitData{Visit: v, Open: !now.Before(v.Opens) && now.Before(v.End), Video: v.State == visits.StateInProgress,
		Consult: visitConsult(by, v)}
	if by.Role == principal.Clinician && v.IntakeDone {
		in, err := u.d.Visits.Intake(r.Context(), by, id, httpx.Origin(r))
		if err != nil {
			return d, httpx.FromDomain(err)
		}
		d.Intake = in
	}
	if by.Role == principal.Clinician && v.State == visits.StateInProgress {
		if d.FollowUps, err = u.followUps(r, by); err != nil {
			return d, err
		}
	}
	if by.Role == principal.Clinician && (v.State == visits.StateInProgress || v.State == visits.StateEnded) {
		if d.Note, err = u.visitNote(r, by, id); err != nil {
			return d, err
		}
	}
	return d, nil
}

// followUps are the clinician's own free times over the next weeks, by day in the reader's zone.
func (u *UI) followUps(r *http.Request, by principal.Subject) ([]dayChoice, error) {
	now := u.now()
	slots, err := u.d.Visits.Slots(r.Context(), by, by.AccountID, now, now.Add(followUpDays*24*time.Hour), httpx.Origin(r))
	if err != nil {
		if isNotFound(err) {
			return nil, nil // no hours set: no follow-up to offer
		}
		return nil, httpx.FromDomain(err)
	}
	loc := u.zoneOf(r)
	var days []dayChoice
	for _, s := range slots {
		key := s.Start.In(loc).Format(time.DateOnly)
		if n := len(days); n > 0 && days[n-1].Key == key {
			days[n-1].Slots = append(days[n-1].Slots, s)
			continue
		}
		days = append(days, dayChoice{Key: key, At: s.Start, Slots: []visits.Slot{s}})
	}
	return days, nil
}

// renderVisit answers with the visit page of by's role, following the visit live.
func (u *UI) renderVisit(w http.ResponseWriter, r *http.Request, by principal.Subject, status int, d visitData, msg, field string) error {
	name, ok := visitTemplate[by.Role]
	if !ok {
		return httpx.ErrForbidden
	}
	live := &liveView{Events: "/api/v1/visits/" + url.PathEscape(d.Visit.ID) + "/events", State: d.Visit.State, Src: visitPath(d.Visit.ID)}
	if by.Role == principal.Patient && d.Visit.State == visits.StateBooked {
		// The page opens for check-in at a time, not on an event: look again now and then.
		live.Poll = 30
		if !d.Open {
			live.State = "not-open"
		}
	}
	return u.render(w, r, status, name, page{Title: visitTitle(d.Visit, by.Role), Error: msg, ErrorField: field, Data: d, Live: live})
}

func (u *UI) visitPage(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient, principal.Clinician, principal.Guest)
	if err != nil {
		return err
	}
	d, err := u.visitData(r, by, r.PathValue("id"))
	if err != nil {
		return err
	}
	return u.renderVisit(w, r, by, http.StatusOK, d, "", "")
}

// visitAct runs a patient's or a clinician's act on the visit in the path and returns to its
// page; a refusal the person can act on is shown on the page.
func (u *UI) visitAct(w http.ResponseWriter, r *http.Request, role principal.Role, action string, act func(by principal.Subject, id string) error, keep func(*visitData)) error {
	id := r.PathValue("id")
	s, err := require(r, role)
	if err != nil {
		return err
	}
	by := s.Subject
	if role == principal.Patient {
		// The patient's own record: the door can decide before the form is read.
		if by, err = u.admit(r, action, s.Subject.PatientID, visitPath(id)); err != nil {
			return err
		}
	}
	// The door decides on this visit before the form is read; the act is decided again when
	// it runs.
	aerr := u.d.Visits.AdmitTo(r.Context(), by, action, id, httpx.Origin(r))
	if aerr == nil {
		aerr = act(by, id)
	}
	if aerr != nil {
		msg, ferr := formError(aerr)
		if ferr != nil {
			return ferr
		}
		d, err := u.visitData(r, by, id)
		if err != nil {
			return err
		}
		if keep != nil {
			keep(&d)
		}
		return u.renderVisit(w, r, by, http.StatusUnprocessableEntity, d, msg, faultField(aerr))
	}
	return goTo(visitPath(id))
}

func (u *UI) checkIn(w http.ResponseWriter, r *http.Request) error {
	return u.visitAct(w, r, principal.Patient, "visit.check-in", func(by principal.Subject, id string) error {
		_, err := u.d.Visits.CheckIn(r.Context(), by, id, httpx.Origin(r))
		return err
	}, nil)
}

func (u *UI) submitIntake(w http.ResponseWriter, r *http.Request) error {
	in := func() visits.Intake {
		return visits.Intake{Reason: strings.TrimSpace(r.PostFormValue("reason")), Symptoms: strings.TrimSpace(r.PostFormValue("symptoms")),
			Medications: strings.TrimSpace(r.PostFormValue("medications")), Questions: strings.TrimSpace(r.PostFormValue("questions"))}
	}
	return u.visitAct(w, r, principal.Patient, "intake.write", func(by principal.Subject, id string) error {
		return u.d.Visits.SubmitIntake(r.Context(), by, id, in(), httpx.Origin(r))
	}, func(d *visitData) { d.Intake = in() })
}

func (u *UI) allowGuests(w http.ResponseWriter, r *http.Request) error {
	return u.visitAct(w, r, principal.Patient, "guest.allow", func(by principal.Subject, id string) error {
		return u.d.Visits.AllowGuests(r.Context(), by, id, httpx.Origin(r))
	}, nil)
}

func (u *UI) admitPatient(w http.ResponseWriter, r *http.Request) error {
	return u.visitAct(w, r, principal.Clinician, "visit.admit", func(by principal.Subject, id string) error {
		_, err := u.d.Visits.Admit(r.Context(), by, id, httpx.Origin(r))
		return err
	}, nil)
}

func (u *UI) endVisit(w http.ResponseWriter, r *http.Request) error {
	summary := r.PostFormValue("summary")
	n := noteForm(r)
	return u.visitAct(w, r, principal.Clinician, "visit.end", func(by principal.Subject, id string) error {
		e := visits.Ending{Summary: strings.TrimSpace(summary), Subjective: n.Subjective, Objective: n.Objective,
			Assessment: n.Assessment, Category: n.Category}
		if f := r.PostFormValue("followUp"); f != "" {
			t, err := time.Parse(time.RFC3339, f)
			if err != nil {
				return invalidField("followUp", "choose a follow-up time from the list, or none")
			}
			e.FollowUp = t
		}
		_, err := u.d.Visits.End(r.Context(), by, id, e, httpx.Origin(r))
		return err
	}, func(d *visitData) { d.Summary, d.Note = summary, formNote(n) })
}

// inviteGuest makes a guest's single-use link and shows it once, on this answer only (no-store:
// never in a URL, a redirect or a log).
func (u *UI) inviteGuest(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	s, err := require(r, principal.Clinician)
	if err != nil {
		return err
	}
	var link visits.GuestLink
	ierr := u.d.Visits.AdmitTo(r.Context(), s.Subject, "guest.invite", id, httpx.Origin(r))
	if ierr == nil {
		g := visits.GuestInvite{Name: strings.TrimSpace(r.PostFormValue("name")), Relation: r.PostFormValue("relation")}
		link, ierr = u.d.Visits.InviteGuest(r.Context(), s.Subject, id, g, httpx.Origin(r))
	}
	d, err := u.visitData(r, s.Subject, id)
	if err != nil {
		return err
	}
	if ierr != nil {
		msg, ferr := formError(ierr)
		if ferr != nil {
			return ferr
		}
		return u.renderVisit(w, r, s.Subject, http.StatusUnprocessableEntity, d, msg, faultField(ierr))
	}
	d.Guest = &link
	return u.renderVisit(w, r, s.Subject, http.StatusOK, d, "", "")
}

// faultField is the field a domain error names, if any.
func faultField(err error) string {
	if fe := fault.As(err); fe != nil {
		return fe.Field
	}
	return ""
}

// ---- guests ----

type guestLinkData struct{ Token string }

// guestLinkPage shows a button, not the visit: link scanners and previews open links, and
// opening one must not use up the single use. The guest joins with the button (a POST).
func (u *UI) guestLinkPage(w http.ResponseWriter, r *http.Request) error {
	return u.render(w, r, http.StatusOK, "guestjoin", page{Title: "Join a video visit", Data: guestLinkData{Token: r.PathValue("token")}})
}

// redeemGuest turns the link into the guest's session (replacing any session this browser had)
// and opens the visit's page.
func (u *UI) redeemGuest(w http.ResponseWriter, r *http.Request) error {
	token, visitID, err := u.d.Visits.RedeemGuest(r.Context(), r.PathValue("token"), httpx.Origin(r))
	if err != nil {
		if isNotFound(err) || isGone(err) {
			return httpx.Errorf(http.StatusGone, "this guest link is not valid: it was already used, or the visit has ended; ask the clinician for a new one")
		}
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return goTo(visitPath(visitID))
}

// isGone: the service says the thing is no longer there (a used or expired link).
func isGone(err error) bool {
	var he *httpx.Error
	return errors.As(httpx.FromDomain(err), &he) && he.Status == http.StatusGone
}
