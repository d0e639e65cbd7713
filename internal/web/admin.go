package web

import (
	"net/http"
	"sort"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/httpx"
	"haven/internal/identity"
)

type adminData struct {
	Staff      []identity.Account
	Clinicians []identity.Account
	Patients   []patientIDs
	Notice     *linkNotice // right after an invitation or a password reset
	Self       string      // the administrator's own account, which has no reset button
	Assigned   bool
	Changed    string // "role" after a role change
	Roles      []roleChoice
}

// roleChoice is a staff role as the role picker names it.
type roleChoice struct {
	Role  access.Role
	Label string
}

var staffRoles = []roleChoice{
	{access.Clinician, "Clinician"},
	{access.Auditor, "Privacy officer (auditor)"},
	{access.Admin, "Administrator"},
}

// linkNotice tells the issuer of a single-use link where it went: e-mailed to its owner, or
// shown here once to hand over.
type linkNotice struct {
	Heading, Who, Lifetime string
	Link                   identity.Link
}

type patientIDs struct {
	ID         string
	Clinicians []string
}

// requireAdmin asks the policy, as the API does, and audits a refusal.
func (u *UI) requireAdmin(r *http.Request, action string) (access.Subject, error) {
	s, err := require(r, access.Admin)
	if err != nil {
		return access.Subject{}, err
	}
	d := u.d.Policy.Decide(r.Context(), s.Subject, access.ManageAccounts, access.Resource{Type: "Account"})
	if d.Allow {
		return s.Subject, nil
	}
	o := httpx.Origin(r)
	if _, err := u.d.Audit.Append(r.Context(), audit.Entry{ActorID: s.Subject.AccountID, ActorRole: string(s.Subject.Role),
		Action: action, ResourceType: "Account", Outcome: audit.Deny, Reason: d.Reason, SourceAddr: o.Addr, RequestID: o.RequestID}); err != nil {
		return access.Subject{}, httpx.FromDomain(err)
	}
	return access.Subject{}, httpx.ErrForbidden
}

func (u *UI) adminData(r *http.Request, by access.Subject) (adminData, error) {
	staff, err := u.d.Identity.Workforce(r.Context())
	if err != nil {
		return adminData{}, err
	}
	d := adminData{Staff: staff, Self: by.AccountID, Roles: staffRoles}
	for _, a := range staff {
		if a.Role == access.Clinician && a.Status == identity.StatusActive {
			d.Clinicians = append(d.Clinicians, a)
		}
	}
	ids, err := u.d.Records.PatientIDs(r.Context(), by)
	if err != nil {
		return adminData{}, httpx.FromDomain(err)
	}
	for id, cs := range ids {
		d.Patients = append(d.Patients, patientIDs{ID: id, Clinicians: cs})
	}
	sort.Slice(d.Patients, func(i, j int) bool { return d.Patients[i].ID < d.Patients[j].ID })
	return d, nil
}

func (u *UI) admin(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "account.list")
	if err != nil {
		return err
	}
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	d.Assigned = r.URL.Query().Get("assigned") == "1"
	d.Changed = r.URL.Query().Get("changed")
	return u.render(w, r, http.StatusOK, "admin", page{Title: "Administration", Data: d})
}

func (u *UI) inviteStaff(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "account.invite")
	if err != nil {
		return err
	}
	if err := u.needStepUp(r, "/admin"); err != nil {
		return err
	}
	role := access.Role(r.PostFormValue("role"))
	if role == "" {
		role = access.Clinician
	}
	_, link, ierr := u.d.Identity.InviteWorkforce(r.Context(), by, role, r.PostFormValue("email"), r.PostFormValue("name"), httpx.Origin(r))
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	if ierr != nil {
		return u.formPage(w, r, "admin", "Administration", d, ierr)
	}
	// An unsent link is shown once, in this response only (no-store), never in a URL or a log.
	d.Notice = &linkNotice{Heading: "Invitation for " + r.PostFormValue("name"), Who: r.PostFormValue("name"),
		Link: link, Lifetime: "72 hours"}
	return u.render(w, r, http.StatusOK, "admin", page{Title: "Administration", Data: d})
}

func (u *UI) resetStaffPassword(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "account.reset-issue")
	if err != nil {
		return err
	}
	if err := u.needStepUp(r, "/admin"); err != nil {
		return err
	}
	link, rerr := u.d.Identity.ResetStaffPassword(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	if rerr != nil {
		return u.formPage(w, r, "admin", "Administration", d, rerr)
	}
	who := "the staff member"
	for _, a := range d.Staff {
		if a.ID == r.PathValue("id") {
			who = a.Name
		}
	}
	d.Notice = &linkNotice{Heading: "Password reset for " + who, Who: who, Link: link, Lifetime: "30 minutes"}
	return u.render(w, r, http.StatusOK, "admin", page{Title: "Administration", Data: d})
}

// changeStaffRole gives a staff member another role, after a step-up; their sessions end.
func (u *UI) changeStaffRole(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "account.role-change")
	if err != nil {
		return err
	}
	if err := u.needStepUp(r, "/admin"); err != nil {
		return err
	}
	if err := u.d.Identity.ChangeRole(r.Context(), by, r.PathValue("id"), access.Role(r.PostFormValue("role")), httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?changed=role")
}

func (u *UI) assign(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "careteam.assign")
	if err != nil {
		return err
	}
	if err := u.d.Records.Assign(r.Context(), by, r.PostFormValue("patient"), r.PostFormValue("clinician"), httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?assigned=1")
}

func (u *UI) disableStaff(w http.ResponseWriter, r *http.Request) error {
	by, err := u.requireAdmin(r, "account.disable")
	if err != nil {
		return err
	}
	if r.PathValue("id") == by.AccountID {
		return httpx.Errorf(http.StatusUnprocessableEntity, "you cannot disable your own account")
	}
	if err := u.needStepUp(r, "/admin"); err != nil {
		return err
	}
	if err := u.d.Identity.Disable(r.Context(), by, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return goTo("/admin")
}
