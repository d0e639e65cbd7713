// Package web is Haven's browser UI: server-rendered html/template pages and one stylesheet,
// embedded in the binary. Forms work without JavaScript; the strict Content-Security-Policy
// forbids inline script and style, so the templates carry neither.
//
// The UI holds no policy and no data of its own. Each handler checks the session stage and role
// (to route people to the right page) and calls the same domain services as the JSON API, which
// decide, audit and seal. One-time secrets (invite links) are rendered once, with no-store, and
// never put in a URL Haven redirects to or in a log.
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
	"haven/internal/privacy"
	"haven/internal/services"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are the services the UI calls: the same set every transport gets.
type Deps = services.Services

// UI serves the pages.
type UI struct {
	d Deps
	// pages are the parsed templates, never executed themselves: each answer executes a clone
	// whose time functions show the reader's zone.
	pages map[string]*template.Template
	zones sync.Map // IANA name → *time.Location, as readers' browsers name them
}

// New parses every page template (each page with the shared layout) once.
func New(d Deps) *UI {
	u := &UI{d: d, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err) // the pattern is constant
	}
	funcs := timeFuncs(time.UTC)
	funcs["role"] = func(role any) string { return privacy.RoleWords(fmt.Sprint(role)) } // "auditor" reads "privacy officer"
	for k, f := range visitFuncs() {
		funcs[k] = f
	}
	for k, f := range billingFuncs() {
		funcs[k] = f
	}
	for k, f := range documentFuncs() {
		funcs[k] = f
	}
	funcs["holdReason"] = holdReasonLabel
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" || strings.HasPrefix(name, "partial-") {
			continue
		}
		// Templates are embedded and parsed at start: a broken one fails every test at once.
		u.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/partial-*.html", n))
	}
	return u
}

// Mount registers the UI's routes.
func (u *UI) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	for _, rt := range u.routes() {
		mux.Handle(rt.pattern, httpx.Adapt(u.d.Log, u.renderError, guestGate(rt)))
	}
	// Any other path outside the API, whatever the method: the error page, with the way back.
	mux.Handle("/", httpx.Adapt(u.d.Log, u.renderError, guestGate(route{h: u.notFound})))
}

// guestGate refuses a visit guest every page but the few their link opens (their visit's page,
// the link itself, signing out), before the page's handler runs: the same rule as the API's
// Route.Guest. The visit's page still asks the door, which lets a guest into that one visit only.
func guestGate(rt route) httpx.HandlerFunc {
	if guestPages[rt.pattern] {
		return rt.h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if s := httpx.Session(r); s != nil && s.Subject.Role == principal.Guest {
			return httpx.ErrGuestOnlyVisit
		}
		return rt.h(w, r)
	}
}

// Patterns lists the UI's routes as net/http patterns ("POST /login"), for tests that walk them.
func (u *UI) Patterns() []string {
	var out []string
	for _, rt := range u.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

type route struct {
	pattern string
	h       httpx.HandlerFunc
}

// guestPages are the only routes a visit guest's session may use: the link that brought them,
// their visit's page, and signing out. Every other page refuses them (guestGate).
var guestPages = map[string]bool{
	"GET /visit/guest/{token}":  true,
	"POST /visit/guest/{token}": true,
	"GET /visits/{id}":          true,
	"POST /logout":              true,
}

func (u *UI) routes() []route {
	rs := []route{
		{"GET /{$}", u.home},
		{"GET /setup", u.setupForm},
		{"POST /setup", u.setup},
		{"GET /login", u.loginForm},
		{"POST /login", u.login},
		{"GET /auth/oidc/start", u.federatedStart},
		{"GET " + OIDCCallbackPath, u.federatedCallback},
		{"GET /login/totp", u.totpForm},
		{"POST /login/totp", u.totp},
		{"GET /totp/enrol", u.enrolForm},
		{"POST /totp/enrol", u.enrol},
		{"GET /totp/enrol/qr.png", u.enrolQR},
		{"GET /invite", u.inviteForm},
		{"POST /invite", u.invite},
		{"GET /forgot", u.forgotForm},
		{"POST /forgot", u.forgot},
		{"GET /reset", u.resetForm},
		{"POST /reset", u.reset},
		{"GET /admin", u.admin},
		{"POST /admin/staff", u.inviteStaff},
		{"POST /admin/care-team", u.assign},
		{"POST /admin/care-team/remove", u.unassign},
		{"GET /admin/staff/{id}/disable", u.confirmDisable},
		{"POST /admin/staff/{id}/disable", u.disableStaff},
		{"POST /admin/staff/{id}/enable", u.enableStaff},
		{"POST /admin/staff/{id}/invitation", u.resendInvitation},
		{"POST /admin/staff/{id}/reset", u.resetStaffPassword},
		{"POST /admin/staff/{id}/role", u.changeStaffRole},
		{"GET /clinician", u.clinician},
		{"POST /clinician/search", u.search},
		{"GET /clinician/patients/new", u.registerForm},
		{"POST /clinician/patients/new", u.register},
		{"GET /clinician/patients/{id}", u.record},
		{"POST /clinician/patients/{id}/notes", u.addNote},
		{"POST /clinician/patients/{id}/sign-in-link", u.sendSignInLink},
		{"GET /patient", u.patient},
		{"GET /patient/access-log", u.accessLog},
		{"GET /patient/export", u.exportRecord},
		{"GET /patient/export/ready", u.exportReady},
		{"GET /admin/compliance", u.complianceReport},
		{"GET /patient/access-log/{seq}", u.accessEntry},
		{"GET /patient/contact", u.contactForm},
		{"POST /patient/contact", u.updateContact},
		{"GET /account", u.account},
		{"GET /step-up", u.stepUpForm},
		{"POST /step-up", u.stepUp},
		{"POST /account/sessions/{id}/revoke", u.revokeSession},
		{"POST /account/recovery-codes", u.regenerateRecovery},
		{"POST /account/password", u.changePassword},
		{"POST /account/email", u.changeEmail},
		{"GET /email/confirm", u.emailConfirmForm},
		{"POST /email/confirm", u.confirmEmail},
		{"POST /account/passkeys/{id}/rename", u.renamePasskey},
		{"POST /account/passkeys/{id}/remove", u.removePasskey},
		{"POST /account/totp/remove", u.removeTOTP},
		{"POST /account/devices/{id}/remove", u.removeDevice},
		{"POST /patient/access-log/{seq}/report", u.reportAccess},
		{"GET /auditor", u.auditor},
		{"POST /auditor/search", u.auditorSearch},
		{"POST /auditor/export", u.auditorExport},
		{"GET /auditor/reviews/{id}", u.review},
		{"POST /auditor/reviews/{id}/resolve", u.resolveReview},
		{"POST /logout", u.logout},
	}
	rs = append(rs, u.scheduleRoutes()...)
	rs = append(rs, u.visitRoutes()...)
	rs = append(rs, u.billingRoutes()...)
	rs = append(rs, u.recordItemRoutes()...)
	rs = append(rs, u.consultRoutes()...)
	rs = append(rs, u.documentRoutes()...)
	rs = append(rs, u.noteRoutes()...)
	rs = append(rs, u.prescriptionRoutes()...)
	rs = append(rs, u.erasureRoutes()...)
	rs = append(rs, u.integrationRoutes()...)
	return append(rs, u.frontDeskRoutes()...)
}

// page is what every template receives.
type page struct {
	Title string
	User  *userView
	Error string
	// ErrorField is the form field the error is about, if any: its input points at the
	// message (aria-describedby) and is marked invalid.
	ErrorField string
	Data       any
	// Live makes the page follow what others change (a waiting room, a visit): see live.js.
	Live *liveView
}

type userView struct {
	Name string
	Role principal.Role
	Nav  []navLink // the role's pages, in the header
}

// render writes a page with status.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	master, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	t, err := master.Clone()
	if err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	t.Funcs(timeFuncs(u.zoneOf(r)))
	if p.User == nil {
		p.User = u.userOf(r)
	}
	if p.User != nil && p.User.Nav == nil {
		p.User.Nav = navFor(p.User.Role, r.URL.Path)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.html", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write([]byte(b.String()))
	return err
}

// userOf names the signed-in person for the page header.
func (u *UI) userOf(r *http.Request) *userView {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return nil
	}
	// A patient's name is PHI: the header shows their role only.
	v := &userView{Role: s.Subject.Role}
	if s.Subject.Role.Workforce() {
		if a, err := u.d.Identity.Account(r.Context(), s.Subject.AccountID); err == nil {
			v.Name = a.Name
		}
	}
	return v
}

// redirect is an error that sends the browser elsewhere (303 See Other).
type redirect string

func (r redirect) Error() string { return "redirect to " + string(r) }

// renderError shows an error page; a redirect error redirects.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, e *httpx.Error) {
	var to redirect
	if errors.As(e.Err, &to) {
		http.Redirect(w, r, string(to), http.StatusSeeOther)
		return
	}
	title, d := errorPage(e.Status, httpx.RequestID(r))
	var msg string
	switch {
	case e.Status >= 500:
		msg = sentence(e.Message) // the safe message; the cause is in the log
	case e.Message == httpx.ErrNotFound.Message:
		// The heading says it.
	default:
		msg = inWords(e.Err, e)
	}
	if err := u.render(w, r, e.Status, "error", page{Title: title, Error: msg, Data: d}); err != nil {
		http.Error(w, e.Message, e.Status)
	}
}

// notFound answers every path no page serves with the error page.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request) error { return httpx.ErrNotFound }

// goTo answers with a redirect through the error path.
func goTo(path string) error {
	return &httpx.Error{Status: http.StatusSeeOther, Message: "see other", Err: redirect(path)}
}

// stagePath is where a session at each sign-in stage belongs.
func stagePath(s *identity.Session) string {
	switch {
	case s == nil:
		return "/login"
	case s.Stage == identity.StageEnrol:
		return "/totp/enrol"
	case s.Stage == identity.StageSecondFactor:
		return "/login/totp"
	}
	switch s.Subject.Role {
	case principal.Admin:
		return "/admin"
	case principal.Clinician, principal.Nurse:
		return "/clinician"
	case principal.Billing:
		return "/billing"
	case principal.Auditor:
		return "/auditor"
	case principal.FrontDesk:
		return "/frontdesk"
	default:
		return "/patient"
	}
}

// require returns the fully signed-in session of a person with role, or sends the browser to
// the step it is missing. A signed-in person of another role gets 403.
func require(r *http.Request, role principal.Role) (*identity.Session, error) {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return nil, goTo(stagePath(s))
	}
	if s.Subject.Role != role {
		return nil, httpx.ErrForbidden
	}
	return s, nil
}

// signedIn returns the subject of a fully signed-in person whose role is one of roles, or sends
// the browser to the step it is missing; another role gets 403. It decides nothing about a
// record: the service the page calls asks the door.
func signedIn(r *http.Request, roles ...principal.Role) (principal.Subject, error) {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return principal.Subject{}, goTo(stagePath(s))
	}
	if !slices.Contains(roles, s.Subject.Role) {
		return principal.Subject{}, httpx.ErrForbidden
	}
	return s.Subject, nil
}
