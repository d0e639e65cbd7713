package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"haven/internal/httpx"
	"haven/internal/visits"
)

type (
	consentRequest struct {
		// Version is the consent version the patient read: the one GET /consent/telehealth gave.
		Version string `json:"version"`
	}
	guestRedeemResponse struct {
		// VisitID is the one visit the guest's session reaches.
		VisitID string `json:"visitId"`
	}
)

// visitParam is a visit's path parameter: an appointment is also its visit.
var visitParam = []Param{{Name: "id", In: "path", Required: true, Description: "appointment (visit) identifier"}}

// visitRoutes are consent, the visit's page, check-in, intake, the waiting room, the
// on-demand queue and guests (package visits). The two live routes answer Server-Sent Events.
func (a *API) visitRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/consent/telehealth", OperationID: "getTelehealthConsent", Summary: "The telehealth (video visit) consent in force: its version, its words, and the SHA-256 of those words", Tag: "visits",
			Public: true, Response: visits.Consent{}, Handler: a.currentConsent},
		{Method: "GET", Path: "/me/consent/telehealth", OperationID: "getMyTelehealthConsent", Summary: "Which telehealth consent the signed-in patient accepted, when, its words, and whether it is the one in force (current false: they are asked again)", Tag: "visits",
			Response: visits.ConsentStatus{}, Handler: a.myConsent},
		{Method: "POST", Path: "/me/consent/telehealth", OperationID: "acceptTelehealthConsent", Summary: "Accept the telehealth consent; version must be the one in force (409 if the text has changed since it was read)", Tag: "visits",
			Request: consentRequest{}, Response: visits.ConsentStatus{}, Handler: a.acceptConsent},

		{Method: "GET", Path: "/visits/{id}", OperationID: "getVisit", Summary: "A visit's page: state, times, who takes part, the patient's place in line and the clinician's status while waiting; once ended, the summary and what Haven keeps (the patient's). A guest reaches their own visit's page and nothing else", Tag: "visits",
			Query: visitParam, Response: visits.Visit{}, Guest: true, Handler: a.visit},
		{Method: "GET", Path: "/visits/{id}/events", OperationID: "followVisit", Summary: "Live events of a visit's page (Server-Sent Events: each a kind and the visit's identifier, never PHI; a comment every 20 seconds); the page then asks for the visit again", Tag: "visits",
			Query: visitParam, Response: "", Guest: true, Handler: a.followVisit},
		{Method: "POST", Path: "/visits/{id}/check-in", OperationID: "checkIn", Summary: "The patient checks in and waits: from 15 minutes before the start (the clinic's setting) until the end; an on-demand visit at once", Tag: "visits",
			Query: visitParam, Response: visits.Visit{}, Handler: a.checkIn},
		{Method: "PUT", Path: "/visits/{id}/intake", OperationID: "submitIntake", Summary: "The patient's answers before the visit (reason required), sealed under their key; replaced until the visit starts", Tag: "visits",
			Query: visitParam, Request: visits.Intake{}, Response: okResponse{}, Handler: a.submitIntake},
		{Method: "GET", Path: "/visits/{id}/intake", OperationID: "getIntake", Summary: "The patient's answers before the visit (the patient, or a clinician caring for them)", Tag: "visits",
			Query: visitParam, Response: visits.Intake{}, Handler: a.intake},
		{Method: "POST", Path: "/visits/{id}/guests-allowed", OperationID: "allowGuests", Summary: "The patient agrees that the clinician may invite an interpreter or a family member to this visit", Tag: "visits",
			Query: visitParam, Response: okResponse{}, Handler: a.allowGuests},
		{Method: "POST", Path: "/visits/{id}/admit", OperationID: "admitPatient", Summary: "Let the waiting patient in and start the visit; needs the patient's acceptance of the telehealth consent in force", Tag: "visits",
			Query: visitParam, Response: visits.Visit{}, Handler: a.admit},
		{Method: "POST", Path: "/visits/{id}/guests", OperationID: "inviteGuest", Summary: "Invite an interpreter or a family member (at most 3) to this visit, with the patient's agreement: a single-use link, returned once, that expires when the visit ends", Tag: "visits",
			Query: visitParam, Request: visits.GuestInvite{}, Response: visits.GuestLink{}, Status: http.StatusCreated, Handler: a.inviteGuest},
		{Method: "POST", Path: "/visits/{id}/end", OperationID: "endVisit", Summary: "End the visit: the summary goes to the patient's record as a note; followUp (optional) books the next appointment with the caller; guests' links and sessions end", Tag: "visits",
			Query: visitParam, Request: visits.Ending{}, Response: visits.Visit{}, Handler: a.endVisit},
		{Method: "POST", Path: "/guest-links/redeem", OperationID: "redeemGuestLink", Summary: "Open a guest link (its token), once: starts the guest's session (cookie) for the one visit it names", Tag: "visits",
			Public: true, Request: tokenRequest{}, Response: guestRedeemResponse{}, Handler: a.redeemGuest},

		{Method: "GET", Path: "/waiting-room", OperationID: "getWaitingRoom", Summary: "Who is waiting and who is being seen today: a clinician's own visits with the intake answers, or everyone's for the front desk (no answers)", Tag: "visits",
			Response: []visits.Waiting{}, Handler: a.waitingRoom},
		{Method: "GET", Path: "/waiting-room/events", OperationID: "followWaitingRoom", Summary: "Live events of the caller's waiting room and of the on-demand queue (Server-Sent Events: a kind and an appointment identifier, never PHI; a comment every 20 seconds). Following it shows a clinician as online to their waiting patients", Tag: "visits",
			Response: "", Handler: a.followWaitingRoom},
		{Method: "GET", Path: "/queue", OperationID: "listQueue", Summary: "Who waits to see the next available clinician, first first", Tag: "visits",
			Response: []visits.Waiting{}, Handler: a.queue},
		{Method: "POST", Path: "/queue", OperationID: "joinQueue", Summary: "The signed-in patient (in a clinician's care) asks to see the next available clinician; joining again keeps the place", Tag: "visits",
			Response: visits.QueuePlace{}, Handler: a.joinQueue},
		{Method: "GET", Path: "/me/queue", OperationID: "getMyQueuePlace", Summary: "The signed-in patient's place in the queue, or, once a clinician took them, their visit", Tag: "visits",
			Response: visits.QueuePlace{}, Handler: a.myQueuePlace},
		{Method: "DELETE", Path: "/queue", OperationID: "leaveQueue", Summary: "The signed-in patient stops waiting for the next available clinician", Tag: "visits",
			Response: okResponse{}, Handler: a.leaveQueue},
		{Method: "POST", Path: "/queue/take", OperationID: "takeNextFromQueue", Summary: "A clinician takes the first patient in the queue: an on-demand visit starting now, waiting to be admitted (of two clinicians racing, one gets the patient)", Tag: "visits",
			Response: visits.Visit{}, Status: http.StatusCreated, Handler: a.takeNext},
	}
}

func (a *API) currentConsent(w http.ResponseWriter, r *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, a.d.Visits.CurrentConsent())
}

func (a *API) myConsent(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r).Subject
	st, err := a.d.Visits.Consent(r.Context(), s, s.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
}

// acceptConsent records the signed-in patient's acceptance. The door decides before the body is
// read: staff have no record to accept it for.
func (a *API) acceptConsent(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r).Subject
	if err := a.d.Admit(r.Context(), s, "consent.accept", s.PatientID, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	var req consentRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Visits.AcceptConsent(r.Context(), s, s.PatientID, req.Version, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	st, err := a.d.Visits.Consent(r.Context(), s, s.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
}

func (a *API) visit(w http.ResponseWriter, r *http.Request) error {
	v, err := a.d.Visits.Visit(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

func (a *API) checkIn(w http.ResponseWriter, r *http.Request) error {
	v, err := a.d.Visits.CheckIn(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

// admitTo asks the door, before a body is read, whether the caller may do action to the visit
// in the path (a refusal is recorded).
func (a *API) admitTo(r *http.Request, action string) error {
	return httpx.FromDomain(a.d.Visits.AdmitTo(r.Context(), httpx.Session(r).Subject, action, r.PathValue("id"), httpx.Origin(r)))
}

func (a *API) submitIntake(w http.ResponseWriter, r *http.Request) error {
	if err := a.admitTo(r, "intake.write"); err != nil {
		return err
	}
	var req visits.Intake
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Visits.SubmitIntake(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) intake(w http.ResponseWriter, r *http.Request) error {
	in, err := a.d.Visits.Intake(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, in)
}

func (a *API) allowGuests(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Visits.AllowGuests(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) admit(w http.ResponseWriter, r *http.Request) error {
	v, err := a.d.Visits.Admit(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

func (a *API) inviteGuest(w http.ResponseWriter, r *http.Request) error {
	if err := a.admitTo(r, "guest.invite"); err != nil {
		return err
	}
	var req visits.GuestInvite
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	link, err := a.d.Visits.InviteGuest(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, link)
}

func (a *API) endVisit(w http.ResponseWriter, r *http.Request) error {
	if err := a.admitTo(r, "visit.end"); err != nil {
		return err
	}
	var req visits.Ending
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	v, err := a.d.Visits.End(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, v)
}

// redeemGuest opens a guest link: the guest's session starts, as a sign-in's does.
func (a *API) redeemGuest(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, visitID, err := a.d.Visits.RedeemGuest(r.Context(), req.Token, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusOK, guestRedeemResponse{visitID})
}

func (a *API) waitingRoom(w http.ResponseWriter, r *http.Request) error {
	list, err := a.d.Visits.WaitingRoom(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (a *API) queue(w http.ResponseWriter, r *http.Request) error {
	list, err := a.d.Visits.Queue(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (a *API) joinQueue(w http.ResponseWriter, r *http.Request) error {
	p, err := a.d.Visits.JoinQueue(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, p)
}

func (a *API) myQueuePlace(w http.ResponseWriter, r *http.Request) error {
	p, err := a.d.Visits.MyQueuePlace(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, p)
}

func (a *API) leaveQueue(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Visits.LeaveQueue(r.Context(), httpx.Session(r).Subject, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) takeNext(w http.ResponseWriter, r *http.Request) error {
	v, err := a.d.Visits.TakeNext(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, v)
}

func (a *API) followVisit(w http.ResponseWriter, r *http.Request) error {
	return a.stream(w, r, r.PathValue("id"))
}

func (a *API) followWaitingRoom(w http.ResponseWriter, r *http.Request) error {
	return a.stream(w, r, "")
}

// Heartbeat is how often a live stream sends a comment, so that the browser and any proxy
// between keep it open and a dead connection is noticed.
const Heartbeat = 20 * time.Second

// stream answers a live route with Server-Sent Events. The door decides before anything is
// streamed (Follow; a refusal is an ordinary JSON error). The stream ends when the client goes
// away or the server shuts down (the hub closes every subscription); the server's read and
// write timeouts, which bound ordinary requests, are lifted for it.
func (a *API) stream(w http.ResponseWriter, r *http.Request, visitID string) error {
	events, stop, err := a.d.Visits.Follow(r.Context(), httpx.Session(r).Subject, visitID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	defer stop()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // no deadline; not every writer has one to lift
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 3000\n: following\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	tick := time.NewTicker(Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil // shutting down
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, b); err != nil {
				return nil
			}
		case <-tick.C:
			if _, err := io.WriteString(w, ": still here\n\n"); err != nil {
				return nil
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}
