package web

import (
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
)

// Staff sign-in through the organisation's OpenID Connect provider: /auth/oidc/start sends the
// browser to the provider, which sends it back to OIDCCallbackPath. identity checks the answer;
// these handlers carry the browser's binding secret in a cookie between the two.

// OIDCCallbackPath is where the provider returns the browser; register BaseURL+OIDCCallbackPath
// with the provider as the redirect URI.
const OIDCCallbackPath = "/auth/oidc/callback"

// bindingCookie holds the secret that ties the provider's answer to the browser that asked. It
// is SameSite=Lax, not Strict: the answer arrives as a top-level navigation from the provider's
// site, which carries Lax cookies and not Strict ones.
const bindingCookie = "__Host-haven_oidc"

func (u *UI) federatedStart(w http.ResponseWriter, r *http.Request) error {
	if s := httpx.Session(r); s != nil && s.Stage == identity.StageFull {
		return goTo(stagePath(s))
	}
	to, binding, err := u.d.Identity.BeginFederatedSignIn(r.Context(), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: binding, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(identity.FederationLifetime.Seconds())})
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (u *UI) federatedCallback(w http.ResponseWriter, r *http.Request) error {
	var binding string
	if c, err := r.Cookie(bindingCookie); err == nil {
		binding = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	q := r.URL.Query()
	token, _, err := u.d.Identity.FinishFederatedSignIn(r.Context(), identity.FederatedAnswer{
		State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), Binding: binding,
	}, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	// The browser arrived from the provider's site, so a redirect from here would still be part
	// of a cross-site navigation and the SameSite=Strict session cookie would not be sent with
	// it. The page moves on by itself (meta refresh, no script), as a navigation from Haven.
	return u.render(w, r, http.StatusOK, "federated", page{Title: "Signing you in"})
}
