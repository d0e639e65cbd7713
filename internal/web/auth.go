package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/identity/totp"
)

func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	return goTo(stagePath(httpx.Session(r)))
}

// formPage re-renders a form with a message the user can act on, or returns the error. Too many
// attempts keep their 429 and Retry-After, so the page and the header say the same wait.
func (u *UI) formPage(w http.ResponseWriter, r *http.Request, name, title string, data any, err error) error {
	msg, ferr := formError(err)
	if ferr != nil {
		return ferr
	}
	status := http.StatusUnprocessableEntity
	var he *httpx.Error
	if errors.As(httpx.FromDomain(err), &he) && he.Status == http.StatusTooManyRequests {
		status = he.Status
		he.SetHeader(w)
	}
	var field string
	if fe := fault.As(err); fe != nil && fe.Kind == fault.Invalid {
		field = fe.Field
	}
	return u.render(w, r, status, name, page{Title: title, Error: msg, ErrorField: field, Data: data})
}

type setupData struct{ Token, Email, Name string }

func (u *UI) setupForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if !u.d.Identity.SetupTokenValid(r.Context(), token) {
		return httpx.Errorf(http.StatusGone, "this setup link is not valid: setup is complete, or the link has expired (restart Haven for a new one)")
	}
	return u.render(w, r, http.StatusOK, "setup", page{Title: "Set up Haven", Data: setupData{Token: token}})
}

func (u *UI) setup(w http.ResponseWriter, r *http.Request) error {
	d := setupData{Token: r.PostFormValue("token"), Email: r.PostFormValue("email"), Name: r.PostFormValue("name")}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		return u.render(w, r, http.StatusUnprocessableEntity, "setup", page{Title: "Set up Haven", Error: "the two passwords differ", Data: d})
	}
	token, err := u.d.Identity.CompleteSetup(r.Context(), d.Token, d.Email, d.Name, pw, httpx.Origin(r))
	if err != nil {
		return u.formPage(w, r, "setup", "Set up Haven", d, err)
	}
	httpx.SetSession(w, token)
	return goTo("/totp/enrol")
}

type loginData struct {
	Email string
	OIDC  string // the organisation's identity provider, for the staff sign-in button; "" when off
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) error {
	if s := httpx.Session(r); s != nil {
		return goTo(stagePath(s))
	}
	return u.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{OIDC: u.d.Identity.FederationName()}})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) error {
	d := loginData{Email: r.PostFormValue("email"), OIDC: u.d.Identity.FederationName()}
	token, _, err := u.d.Identity.Login(r.Context(), d.Email, r.PostFormValue("password"), httpx.Origin(r))
	if err != nil {
		return u.formPage(w, r, "login", "Sign in", d, err)
	}
	httpx.SetSession(w, token)
	return goTo("/")
}

func (u *UI) totpForm(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageSecondFactor {
		return goTo(stagePath(s))
	}
	return u.render(w, r, http.StatusOK, "totp", page{Title: "Enter your code"})
}

func (u *UI) totp(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageSecondFactor {
		return goTo(stagePath(s))
	}
	token, err := u.d.Identity.VerifySecondFactor(r.Context(), s, r.PostFormValue("code"), httpx.Origin(r))
	if err != nil {
		return u.formPage(w, r, "totp", "Enter your code", nil, err)
	}
	httpx.SetSession(w, token)
	return goTo("/")
}

type enrolData struct {
	Secret string // in groups of four; empty when policy allows only passkeys
	// AppLink is the otpauth:// link that opens an authenticator app on the device showing the
	// page: a phone cannot scan the QR code on its own screen.
	AppLink template.URL
	Signed  bool // adding an app to a signed-in account, rather than enrolling a first factor
	// PasswordAlone is the length from which this person's password would sign in on its own,
	// where the organisation allows it (0 otherwise); said to a patient enrolling a first factor,
	// whose shorter password is why they are here.
	PasswordAlone int
	MailOn        bool // "Forgot your password?" can send them a link to choose a passphrase
}

// enrolling reports whether s may enrol a factor on the enrolment page.
func enrolling(s *identity.Session) bool {
	return s != nil && (s.Stage == identity.StageEnrol || s.Stage == identity.StageFull)
}

func (u *UI) enrolForm(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if !enrolling(s) {
		return goTo(stagePath(s))
	}
	d, err := u.enrolData(r, s)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "enrol", page{Title: "Set up your authenticator", Data: d})
}

// enrolData prepares the enrolment page: the pending authenticator-app secret, unless policy
// allows only passkeys. A signed-in account with a factor is sent to step up first.
func (u *UI) enrolData(r *http.Request, s *identity.Session) (enrolData, error) {
	d := enrolData{Signed: s.Stage == identity.StageFull, MailOn: u.d.Identity.MailOn()}
	if !d.Signed {
		d.PasswordAlone = u.d.Identity.FactorPolicy(s.Subject.Role).PasswordAlone
	}
	k, ok, err := u.pendingKey(r, s)
	switch {
	case errors.Is(err, identity.ErrStepUpRequired):
		return d, stepUpFirst("/totp/enrol")
	case err != nil:
		return d, err
	case ok:
		d.Secret = groupSecret(k.Secret)
		d.AppLink = appLink(k.URL)
	}
	return d, nil
}

// pendingKey is the one rule the enrolment page and its QR image follow: the authenticator-app
// key being enrolled; none (ok false) when policy allows only passkeys; identity's
// ErrStepUpRequired when a signed-in account that has a factor must confirm it first.
func (u *UI) pendingKey(r *http.Request, s *identity.Session) (k totp.Key, ok bool, err error) {
	k, err = u.d.Identity.BeginTOTPEnrolment(r.Context(), s)
	if errors.Is(err, identity.ErrPasskeyRequired) {
		return totp.Key{}, false, nil
	}
	if err != nil {
		return totp.Key{}, false, fmt.Errorf("web: pending authenticator key: %w", err)
	}
	return k, true, nil
}

// appLink is the key's otpauth:// URL as a link target. html/template passes only http, https
// and mailto links; this one is Haven's own (issuer, label and secret, made by totp.Generate),
// so it is trusted here, and only if it is an otpauth URL.
func appLink(keyURL string) template.URL {
	if !strings.HasPrefix(keyURL, "otpauth://totp/") {
		return ""
	}
	return template.URL(keyURL)
}

// groupSecret spaces a base32 secret in fours, as authenticator apps accept it typed.
func groupSecret(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// enrolQR is the enrolment page's QR code. It follows the page's rule, answered as an image
// request can use it: where the page sends the browser to step up, the image is refused (403; an
// <img> that followed the redirect would get a form, not an image, and the page never shows the
// image then anyway); where the page shows no code, there is none (404).
func (u *UI) enrolQR(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if !enrolling(s) {
		return httpx.ErrNotFound
	}
	k, ok, err := u.pendingKey(r, s)
	switch {
	case errors.Is(err, identity.ErrStepUpRequired):
		return httpx.FromDomain(err)
	case err != nil:
		return err
	case !ok:
		return httpx.ErrNotFound
	}
	png, err := totp.QRCode(k.URL)
	if err != nil {
		return fmt.Errorf("web: enrolment QR code: %w", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(png)
	return err
}

func (u *UI) enrol(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if !enrolling(s) {
		return goTo(stagePath(s))
	}
	signed := s.Stage == identity.StageFull
	done, err := u.d.Identity.ConfirmTOTPEnrolment(r.Context(), s, r.PostFormValue("code"), httpx.Origin(r))
	if err != nil {
		d, derr := u.enrolData(r, s)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "enrol", "Set up your authenticator", d, err)
	}
	next := "/"
	if signed {
		next = "/account?done=totp"
	} else {
		httpx.SetSession(w, done.Token)
	}
	if len(done.RecoveryCodes) > 0 {
		return u.showRecoveryCodes(w, r, done.RecoveryCodes, next)
	}
	return goTo(next)
}

// codesData is the page that shows an account's first recovery codes, once, right after its
// first factor: the answer to the enrolment itself, never a page that can be opened again.
type codesData struct {
	Codes []string
	Next  nextPage
}

// showRecoveryCodes answers with the recovery codes page; its Continue button (behind an
// "I saved them" box) goes on to next.
func (u *UI) showRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, next string) error {
	return u.render(w, r, http.StatusOK, "codes", page{Title: "Save your recovery codes", Data: codesData{Codes: codes, Next: continueTo(next)}})
}

// nextPage is a page of this site as a GET form reaches it: the path as the form's action and the
// query as hidden fields (submitting a GET form replaces its action's query with its fields).
type nextPage struct {
	Path  string
	Query []formField
}

type formField struct{ Name, Value string }

// continueTo splits next, which must be a path on this site (safeNext), for a GET form.
func continueTo(next string) nextPage {
	u, err := url.Parse(safeNext(next))
	if err != nil {
		return nextPage{Path: "/"}
	}
	p := nextPage{Path: u.Path}
	for name, values := range u.Query() {
		for _, v := range values {
			p.Query = append(p.Query, formField{name, v})
		}
	}
	slices.SortStableFunc(p.Query, func(a, b formField) int { return strings.Compare(a.Name, b.Name) })
	return p
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) error {
	if s := httpx.Session(r); s != nil {
		if err := u.d.Identity.Logout(r.Context(), s, httpx.Origin(r)); err != nil {
			return err
		}
	}
	httpx.ClearSession(w)
	return goTo("/login")
}

type inviteData struct {
	Token string
	// Policy says what follows the password for the invited account's role (invitations only).
	Policy identity.FactorPolicy
}

// linkPage is a page where a single-use link sets a password: an invitation or a reset.
type linkPage struct {
	name, title string
	valid       func(ctx context.Context, token string) bool
	use         func(ctx context.Context, token, pw string, o identity.Origin) (string, identity.Stage, error)
	// data fills in the page for a usable token, beyond the token itself.
	data func(ctx context.Context, token string) inviteData
}

func (u *UI) invitePage() linkPage {
	return linkPage{"invite", "Activate your account", u.d.Identity.InviteValid, u.d.Identity.ActivateInvite, u.inviteData}
}

// inviteData tells the activation page the invited role's policy, so that it says what follows
// the password: for a patient, whether a long passphrase can stand alone.
func (u *UI) inviteData(ctx context.Context, token string) inviteData {
	d := inviteData{Token: token}
	if role, err := u.d.Identity.InviteRole(ctx, token); err == nil {
		d.Policy = u.d.Identity.FactorPolicy(role)
	}
	return d
}

// resetPage continues like a sign-in with the new password: at the second factor for an account
// that has one.
func (u *UI) resetPage() linkPage {
	return linkPage{"reset", "Choose a new password", u.d.Identity.ResetValid, u.d.Identity.ResetPassword,
		func(_ context.Context, token string) inviteData { return inviteData{Token: token} }}
}

func (u *UI) linkForm(w http.ResponseWriter, r *http.Request, p linkPage) error {
	token := r.URL.Query().Get("token")
	if !p.valid(r.Context(), token) {
		return httpx.Errorf(http.StatusGone, "this link is not valid: it was already used or has expired; ask for a new one")
	}
	return u.render(w, r, http.StatusOK, p.name, page{Title: p.title, Data: p.data(r.Context(), token)})
}

func (u *UI) useLink(w http.ResponseWriter, r *http.Request, p linkPage) error {
	d := p.data(r.Context(), r.PostFormValue("token"))
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		return u.render(w, r, http.StatusUnprocessableEntity, p.name, page{Title: p.title, Error: "the two passwords differ", Data: d})
	}
	token, _, err := p.use(r.Context(), d.Token, pw, httpx.Origin(r))
	if err != nil {
		return u.formPage(w, r, p.name, p.title, d, err)
	}
	httpx.SetSession(w, token)
	return goTo("/")
}

func (u *UI) inviteForm(w http.ResponseWriter, r *http.Request) error {
	return u.linkForm(w, r, u.invitePage())
}
func (u *UI) invite(w http.ResponseWriter, r *http.Request) error {
	return u.useLink(w, r, u.invitePage())
}
func (u *UI) resetForm(w http.ResponseWriter, r *http.Request) error {
	return u.linkForm(w, r, u.resetPage())
}
func (u *UI) reset(w http.ResponseWriter, r *http.Request) error {
	return u.useLink(w, r, u.resetPage())
}

type forgotData struct {
	MailOn bool
	Sent   string
}

func (u *UI) forgotForm(w http.ResponseWriter, r *http.Request) error {
	return u.render(w, r, http.StatusOK, "forgot", page{Title: "Forgot your password?", Data: forgotData{MailOn: u.d.Identity.MailOn()}})
}

// forgot answers the same whether or not an account uses the address.
func (u *UI) forgot(w http.ResponseWriter, r *http.Request) error {
	d := forgotData{MailOn: u.d.Identity.MailOn()}
	if err := u.d.Identity.RequestPasswordReset(r.Context(), r.PostFormValue("email"), httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "forgot", "Forgot your password?", d, err)
	}
	d.Sent = identity.ResetRequestedMessage
	return u.render(w, r, http.StatusOK, "forgot", page{Title: "Forgot your password?", Data: d})
}
