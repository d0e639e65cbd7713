package web

import (
	"net/http"
	"sort"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
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
	Role  principal.Role
	Label string
}

var staffRoles = []roleChoice{
	{principal.Clinician, "Clinician"},
	{principal.Auditor, "Privacy officer (auditor)"},
	{principal.Admin, "Administrator"},
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

func (u *UI) adminData(r *http.Request, by principal.Subject) (adminData, error) {
	staff, err := u.d.Identity.Workforce(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return adminData{}, err
	}
	d := adminData{Staff: staff, Self: by.AccountID, Roles: staffRoles}
	for _, a := range staff {
		if a.Role == principal.Clinician && a.Status == identity.StatusActive {
			d.Clinicians = append(d.Clinicians, a)
		}
	}
	ids, err := u.d.Records.PatientIDs(r.Context(), by, httpx.Origin(r))
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
	by, err := u.admit(r, "accounts.manage", "", "/admin")
	if err != nil {
		return err
	}
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	d.Assigned = r.URL.Query().Get("assigned") == "1" || r.URL.Query().Get("removed") == "1"
	d.Changed = r.URL.Query().Get("changed")
	return u.render(w, r, http.StatusOK, "admin", page{Title: "Administration", Data: d})
}

func (u *UI) inviteStaff(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "account.invite", "", "/admin")
	if err != nil {
		return err
	}
	role := principal.Role(r.PostFormValue("role"))
	if role == "" {
		role = principal.Clinician
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
	by, err := u.admit(r, "account.reset-issue", "", "/admin")
	if err != nil {
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
	by, err := u.admit(r, "account.role-change", "", "/admin")
	if err != nil {
		return err
	}
	if err := u.d.Identity.ChangeRole(r.Context(), by, r.PathValue("id"), principal.Role(r.PostFormValue("role")), httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?changed=role")
}

func (u *UI) unassign(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "careteam.remove", "", "/admin")
	if err != nil {
		return err
	}
	if err := u.d.Records.Unassign(r.Context(), by, r.PostFormValue("patient"), r.PostFormValue("clinician"), httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?removed=1")
}

func (u *UI) assign(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "careteam.assign", "", "/admin")
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
	by, err := u.admit(r, "account.disable", "", "/admin")
	if err != nil {
		return err
	}
	if err := u.d.Identity.Disable(r.Context(), by, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return goTo("/admin")
}
