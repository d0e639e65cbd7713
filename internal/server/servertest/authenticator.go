package servertest

import "haven/internal/identity/passkey/passkeytest"

// Authenticator is a software passkey for API tests (see passkeytest.Authenticator).
type Authenticator = passkeytest.Authenticator

// RegisterPasskey adds a passkey named name from a to the client's account (enrolling or
// signed in with a recent step-up) and returns the status of the finishing request.
func (c *Client) RegisterPasskey(a *Authenticator, name string) int {
	c.e.t.Helper()
	code, _ := c.RegisterPasskeyAnswer(a, name)
	return code
}

// RegisterPasskeyAnswer is RegisterPasskey that also returns the finishing request's answer.
func (c *Client) RegisterPasskeyAnswer(a *Authenticator, name string) (int, map[string]any) {
	c.e.t.Helper()
	opts := c.Must(200, "POST", "/api/v1/passkeys/options", nil)
	cred, err := a.Create(opts["publicKey"])
	if err != nil {
		c.e.t.Fatal(err)
	}
	code, answer, _ := c.Do("POST", "/api/v1/passkeys", map[string]any{"ceremony": opts["ceremony"], "name": name, "credential": cred})
	return code, answer
}

// PasskeySignIn signs in without a password, with a's discoverable passkey; it returns the status.
func (c *Client) PasskeySignIn(a *Authenticator) int {
	c.e.t.Helper()
	opts := c.Must(200, "POST", "/api/v1/auth/passkeys/sign-in/options", nil)
	cred, err := a.Get(opts["publicKey"])
	if err != nil {
		c.e.t.Fatal(err)
	}
	code, _, _ := c.Do("POST", "/api/v1/auth/passkeys/sign-in", map[string]any{"ceremony": opts["ceremony"], "credential": cred})
	return code
}

// PasskeyVerify answers the second factor or a step-up with a's passkey; it returns the status.
func (c *Client) PasskeyVerify(a *Authenticator) int {
	c.e.t.Helper()
	opts := c.Must(200, "POST", "/api/v1/auth/passkeys/verify/options", nil)
	cred, err := a.Get(opts["publicKey"])
	if err != nil {
		c.e.t.Fatal(err)
	}
	code, _, _ := c.Do("POST", "/api/v1/auth/passkeys/verify", map[string]any{"ceremony": opts["ceremony"], "credential": cred})
	return code
}
