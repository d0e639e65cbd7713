package api

import (
	"net/http"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/httpx"
)

// requireAdmin asks the policy whether the caller may manage accounts, auditing a refusal.
func (a *API) requireAdmin(r *http.Request, action string) (access.Subject, error) {
	s := httpx.Session(r).Subject
	d := a.d.Policy.Decide(r.Context(), s, access.ManageAccounts, access.Resource{Type: "Account"})
	if d.Allow {
		return s, nil
	}
	o := httpx.Origin(r)
	if _, err := a.d.Audit.Append(r.Context(), audit.Entry{ActorID: s.AccountID, ActorRole: string(s.Role), Action: action,
		ResourceType: "Account", Outcome: audit.Deny, Reason: d.Reason, SourceAddr: o.Addr, RequestID: o.RequestID}); err != nil {
		return s, httpx.FromDomain(err)
	}
	return s, httpx.ErrForbidden
}

func (a *API) listStaff(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.requireAdmin(r, "account.list"); err != nil {
		return err
	}
	accts, err := a.d.Identity.Workforce(r.Context())
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
	by, err := a.requireAdmin(r, "account.invite")
	if err != nil {
		return err
	}
	// Creating an account with a role is a role change: it needs a fresh second factor.
	if err := a.d.Identity.RequireStepUp(httpx.Session(r)); err != nil {
		return httpx.FromDomain(err)
	}
	var req inviteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = access.Clinician
	}
	id, link, err := a.d.Identity.InviteWorkforce(r.Context(), by, req.Role, req.Email, req.Name, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, inviteResponse{AccountID: id, linkResponse: newLinkResponse(link)})
}

// resetStaffPassword issues a password-reset link for a staff member; a fresh second factor is
// needed, as for any change to another person's credentials.
func (a *API) resetStaffPassword(w http.ResponseWriter, r *http.Request) error {
	by, err := a.requireAdmin(r, "account.reset-issue")
	if err != nil {
		return err
	}
	if err := a.d.Identity.RequireStepUp(httpx.Session(r)); err != nil {
		return httpx.FromDomain(err)
	}
	link, err := a.d.Identity.ResetStaffPassword(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, newLinkResponse(link))
}

// changeStaffRole gives a staff member another role; like every change of who may do what, it
// needs a fresh second factor.
func (a *API) changeStaffRole(w http.ResponseWriter, r *http.Request) error {
	by, err := a.requireAdmin(r, "account.role-change")
	if err != nil {
		return err
	}
	if err := a.d.Identity.RequireStepUp(httpx.Session(r)); err != nil {
		return httpx.FromDomain(err)
	}
	var req roleRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.ChangeRole(r.Context(), by, r.PathValue("id"), req.Role, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) listPatientIDs(w http.ResponseWriter, r *http.Request) error {
	by, err := a.requireAdmin(r, "patient.list-ids")
	if err != nil {
		return err
	}
	ids, err := a.d.Records.PatientIDs(r.Context(), by)
	if err != nil {
		return httpx.FromDomain(err)
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
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) disableStaff(w http.ResponseWriter, r *http.Request) error {
	by, err := a.requireAdmin(r, "account.disable")
	if err != nil {
		return err
	}
	if r.PathValue("id") == by.AccountID {
		return httpx.Errorf(http.StatusUnprocessableEntity, "you cannot disable your own account")
	}
	if err := a.d.Identity.RequireStepUp(httpx.Session(r)); err != nil {
		return httpx.FromDomain(err)
	}
	if err := a.d.Identity.Disable(r.Context(), by, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}
