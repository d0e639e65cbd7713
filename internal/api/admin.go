package api

import (
	"net/http"

	"haven/internal/httpx"
	"haven/internal/principal"
)

// Administrative routes: the route guard has asked the door (Route.Act) before the body is
// read, and each service asks again for the act itself, so neither a handler nor a body can
// skip the decision, the step-up or the audit entry.

func (a *API) listStaff(w http.ResponseWriter, r *http.Request) error {
	accts, err := a.d.Identity.Workforce(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	out := []staffResponse{}
	for _, ac := range accts {
		out = append(out, staffResponse{ID: ac.ID, Role: ac.Role, Status: ac.Status, Name: ac.Name, Email: ac.Email, HasTOTP: ac.HasTOTP, CreatedAt: ac.CreatedAt})
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) inviteStaff(w http.ResponseWriter, r *http.Request) error {
	var req inviteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = principal.Clinician
	}
	id, link, err := a.d.Identity.InviteWorkforce(r.Context(), httpx.Session(r).Subject, req.Role, req.Email, req.Name, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, inviteResponse{AccountID: id, linkResponse: newLinkResponse(link)})
}

// resetStaffPassword issues a password-reset link for a staff member; the policy asks for a
// fresh second factor, as for any change to another person's credentials.
func (a *API) resetStaffPassword(w http.ResponseWriter, r *http.Request) error {
	link, err := a.d.Identity.ResetStaffPassword(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, newLinkResponse(link))
}

// changeStaffRole gives a staff member another role; like every change of who may do what, it
// needs a fresh second factor.
func (a *API) changeStaffRole(w http.ResponseWriter, r *http.Request) error {
	var req roleRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.ChangeRole(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Role, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) listPatientIDs(w http.ResponseWriter, r *http.Request) error {
	ids, err := a.d.Records.PatientIDs(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	out := []patientIDResponse{}
	for p, cs := range ids {
		out = append(out, patientIDResponse{PatientID: p, ClinicianIDs: cs})
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) assign(w http.ResponseWriter, r *http.Request) error {
	var req assignRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Records.Assign(r.Context(), httpx.Session(r).Subject, req.PatientID, req.ClinicianID, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) unassign(w http.ResponseWriter, r *http.Request) error {
	var req assignRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Records.Unassign(r.Context(), httpx.Session(r).Subject, req.PatientID, req.ClinicianID, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) disableStaff(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Identity.Disable(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

// enableStaff undoes disableStaff: the account signs in again with the credentials it had.
func (a *API) enableStaff(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Identity.Enable(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

// resendStaffInvitation replaces a lost invitation of an account that is still invited.
func (a *API) resendStaffInvitation(w http.ResponseWriter, r *http.Request) error {
	link, err := a.d.Identity.ResendInvite(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, newLinkResponse(link))
}
