package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

type adminData struct {
	Staff      []staffView
	Clinicians []identity.Account
	Patients   []patientIDs
	Notice     *linkNotice // right after an invitation or a password reset
	Done       *doneNotice // what the last act did, and how to undo it
	Assigned   bool
	Changed    string // "role" after a role change
	Roles      []roleChoice
}

// staffView is a staff account as the staff table shows it: by name and role, with its status
// in words and the acts that apply to it.
type staffView struct {
	identity.Account
	Self bool // the administrator's own account: no reset, disable or role change
}

// StatusText is the account's status in words.
func (v staffView) StatusText() string {
	switch v.Status {
	case identity.StatusActive:
		return "Active"
	case identity.StatusInvited:
		return "Invited, has not activated the account yet"
	case identity.StatusDisabled:
		return "Disabled: cannot sign in"
	case identity.StatusLocked:
		return "Locked after failed sign-ins: a password reset unlocks it"
	}
	return v.Status
}

// Invited: the account waits for its invitation to be used, so the invitation can be sent
// again (a password reset would not help: there is no password yet).
func (v staffView) Invited() bool { return v.Status == identity.StatusInvited }

// Disabled: the account can be enabled again.
func (v staffView) Disabled() bool { return v.Status == identity.StatusDisabled }

// CanReset: another person's activated account, not disabled.
func (v staffView) CanReset() bool {
	return !v.Self && (v.Status == identity.StatusActive || v.Status == identity.StatusLocked)
}

// CanDisable: another person's account, not an administrator's (an organisation keeps its
// administrators), not already disabled.
func (v staffView) CanDisable() bool {
	return !v.Self && v.Role != principal.Admin && v.Status != identity.StatusDisabled
}

// doneNotice says what an act on a staff account did, with the act that undoes it, if any.
type doneNotice struct {
	Message string
	Undo    *undoAct
}

// undoAct is a one-button form.
type undoAct struct {
	Action, Label string
}

// roleChoice is a staff role as the role picker names it.
type roleChoice struct {
	Role  principal.Role
	Label string
}

var staffRoles = []roleChoice{
	{principal.Clinician, principal.Clinician.Label()},
	{principal.Nurse, principal.Nurse.Label()},
	{principal.FrontDesk, principal.FrontDesk.Label()},
	{principal.Billing, principal.Billing.Label()},
	{principal.Auditor, principal.Auditor.Label()},
	{principal.Admin, principal.Admin.Label()},
}

// staffMember finds an account in the staff table by its identifier.
func (d adminData) staffMember(id string) (staffView, bool) {
	for _, v := range d.Staff {
		if v.ID == id {
			return v, true
		}
	}
	return staffView{}, false
}

// doneWith describes what ?done= reports for the account ?who= names, if it is on the page.
func (d adminData) doneWith(done, who string) *doneNotice {
	v, ok := d.staffMember(who)
	if !ok {
		return nil
	}
	switch done {
	case "disabled":
		return &doneNotice{
			Message: v.Name + " is disabled: signed out everywhere, and cannot sign in until the account is enabled again.",
			Undo:    &undoAct{Action: "/admin/staff/" + v.ID + "/enable", Label: "Enable " + v.Name + " again"}}
	case "enabled":
		if v.Invited() {
			return &doneNotice{Message: v.Name + " is enabled again but has not activated the account yet: the earlier invitation no longer works, so send it again.",
				Undo: &undoAct{Action: "/admin/staff/" + v.ID + "/invitation", Label: "Send the invitation again"}}
		}
		return &doneNotice{Message: v.Name + " is enabled again and can sign in with the same password and second factor as before."}
	}
	return nil
}

// linkNotice tells the issuer of a single-use link where it went: e-mailed to its owner, or
// shown here once to hand over.
type linkNotice struct {
	Heading, Who, Lifetime string
	Link                   identity.Link
	Replaced               string // said when the link replaces an earlier one
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
	d := adminData{Roles: staffRoles}
	for _, a := range staff {
		d.Staff = append(d.Staff, staffView{Account: a, Self: a.ID == by.AccountID})
		if (a.Role == principal.Clinician || a.Role == principal.Nurse) && a.Status == identity.StatusActive {
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
	q := r.URL.Query()
	d.Assigned = q.Get("assigned") == "1" || q.Get("removed") == "1"
	d.Changed = q.Get("changed")
	d.Done = d.doneWith(q.Get("done"), q.Get("who"))
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
	return u.staffLink(w, r, "account.reset-issue", u.d.Identity.ResetStaffPassword,
		linkNotice{Heading: "Password reset for ", Lifetime: "30 minutes"})
}

// resendInvitation replaces the lost invitation of someone who has not activated their account
// yet; the earlier link stops working.
func (u *UI) resendInvitation(w http.ResponseWriter, r *http.Request) error {
	return u.staffLink(w, r, "account.invite-resend", u.d.Identity.ResendInvite,
		linkNotice{Heading: "New invitation for ", Lifetime: "72 hours", Replaced: "The earlier invitation link no longer works."})
}

// staffLink issues a single-use link for the staff member in the path (a reset, a new
// invitation) and shows it on the administration page, named for whom it is: e-mailed, or shown
// this once. notice's Heading is completed with their name.
func (u *UI) staffLink(w http.ResponseWriter, r *http.Request, action string,
	issue func(context.Context, principal.Subject, string, principal.Origin) (identity.Link, error), notice linkNotice) error {
	by, err := u.admit(r, action, "", "/admin")
	if err != nil {
		return err
	}
	link, ierr := issue(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	if ierr != nil {
		return u.formPage(w, r, "admin", "Administration", d, ierr)
	}
	who := "the staff member"
	if v, ok := d.staffMember(r.PathValue("id")); ok {
		who = v.Name
	}
	notice.Heading, notice.Who, notice.Link = notice.Heading+who, who, link
	d.Notice = &notice
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

// disableData is the confirmation page's: who would be disabled.
type disableData struct{ Staff staffView }

// confirmDisable asks before disabling someone, saying what it does and that it can be undone.
// The step-up comes first, so that the confirmation is the last step.
func (u *UI) confirmDisable(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	by, err := u.admit(r, "account.disable", "", "/admin/staff/"+url.PathEscape(id)+"/disable")
	if err != nil {
		return err
	}
	return u.renderConfirmDisable(w, r, by, id)
}

func (u *UI) renderConfirmDisable(w http.ResponseWriter, r *http.Request, by principal.Subject, id string) error {
	d, err := u.adminData(r, by)
	if err != nil {
		return err
	}
	v, ok := d.staffMember(id)
	if !ok || !v.CanDisable() {
		return httpx.ErrNotFound
	}
	return u.render(w, r, http.StatusOK, "disable", page{Title: "Disable " + v.Name + "?", Data: disableData{Staff: v}})
}

// disableStaff disables an account once the confirmation page's button says so; a form sent
// without it gets the confirmation page.
func (u *UI) disableStaff(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	by, err := u.admit(r, "account.disable", "", "/admin/staff/"+url.PathEscape(id)+"/disable")
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return u.renderConfirmDisable(w, r, by, id)
	}
	if err := u.d.Identity.Disable(r.Context(), by, id, httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?done=disabled&who=" + url.QueryEscape(id))
}

// enableStaff undoes a disable.
func (u *UI) enableStaff(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "account.enable", "", "/admin")
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := u.d.Identity.Enable(r.Context(), by, id, httpx.Origin(r)); err != nil {
		d, derr := u.adminData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "admin", "Administration", d, err)
	}
	return goTo("/admin?done=enabled&who=" + url.QueryEscape(id))
}
