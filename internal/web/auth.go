package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
	return u.render(w, r, status, name, page{Title: title, Error: msg, Data: data})
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
	Secret string // empty when policy allows only passkeys
	Signed bool   // adding an app to a signed-in account, rather than enrolling a first factor
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
	d := enrolData{Signed: s.Stage == identity.StageFull}
	k, ok, err := u.pendingKey(r, s)
	switch {
	case errors.Is(err, identity.ErrStepUpRequired):
		return d, stepUpFirst("/totp/enrol")
	case err != nil:
		return d, err
	case ok:
		d.Secret = groupSecret(k.Secret)
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
	if signed {
		return goTo("/account?totp=1")
	}
	httpx.SetSession(w, done.Token)
	return goTo("/")
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

type inviteData struct{ Token string }

// linkPage is a page where a single-use link sets a password: an invitation or a reset.
type linkPage struct {
	name, title string
	valid       func(ctx context.Context, token string) bool
	use         func(ctx context.Context, token, pw string, o identity.Origin) (string, identity.Stage, error)
}

func (u *UI) invitePage() linkPage {
	return linkPage{"invite", "Activate your account", u.d.Identity.InviteValid, u.d.Identity.ActivateInvite}
}

// resetPage continues like a sign-in with the new password: at the second factor for an account
// that has one.
func (u *UI) resetPage() linkPage {
	return linkPage{"reset", "Choose a new password", u.d.Identity.ResetValid, u.d.Identity.ResetPassword}
}

func (u *UI) linkForm(w http.ResponseWriter, r *http.Request, p linkPage) error {
	token := r.URL.Query().Get("token")
	if !p.valid(r.Context(), token) {
		return httpx.Errorf(http.StatusGone, "this link is not valid: it was already used or has expired; ask for a new one")
	}
	return u.render(w, r, http.StatusOK, p.name, page{Title: p.title, Data: inviteData{Token: token}})
}

func (u *UI) useLink(w http.ResponseWriter, r *http.Request, p linkPage) error {
	d := inviteData{Token: r.PostFormValue("token")}
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
