package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"haven/internal/server/servertest"
)

// TestAdminRegistersAConnectedSystem: the administrator registers a system from the page, is
// told what to give its vendor, sees a form error next to the field it is about, disables the
// system and can undo it; the page asks for a fresh second factor first.
func TestAdminRegistersAConnectedSystem(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "lab", Algorithm: "ES384"}}})
	private, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k, KeyID: "lab"}}})
	form := url.Values{"name": {"Acme Labs"}, "jwks": {string(set)}, "scopes": {"system/Observation.rs"}, "purpose": {"TREAT"},
		"agreementStart": {"2026-01-01"}, "agreementEnd": {"2027-12-31"}}

	code, _, body := page(t, e, admin, "GET", "/admin/integrations", nil)
	if code != http.StatusOK || !strings.Contains(body, "No system is connected yet") || !strings.Contains(body, `<label for="system-jwks">`) {
		t.Fatalf("the empty page = %d\n%s", code, body)
	}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("jwks", string(private))
	code, _, body = page(t, e, admin, "POST", "/admin/integrations", bad)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "private key") ||
		!strings.Contains(body, `id="system-jwks" name="jwks" rows="6" spellcheck="false" aria-describedby="system-jwks-hint" aria-invalid="true"`) ||
		!strings.Contains(body, `value="Acme Labs"`) {
		t.Fatalf("a private key = %d, want the form again with the error at the key set:\n%s", code, body)
	}

	code, loc, _ := page(t, e, admin, "POST", "/admin/integrations", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/integrations?done=registered&who=") {
		t.Fatalf("register = %d → %q", code, loc)
	}
	id := strings.TrimPrefix(loc, "/admin/integrations?done=registered&who=")
	_, _, body = page(t, e, admin, "GET", loc, nil)
	for _, want := range []string{"Acme Labs is registered", id, "/fhir/R4/auth/token", "Treatment", "1 January 2026 to 31 December 2027", "Active", "Registered here (1 key)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after registering lacks %q", want)
		}
	}

	code, loc, _ = page(t, e, admin, "POST", "/admin/integrations/"+id+"/disable", url.Values{})
	if code != http.StatusSeeOther || loc != "/admin/integrations?done=disabled&who="+id {
		t.Fatalf("disable = %d → %q", code, loc)
	}
	_, _, body = page(t, e, admin, "GET", loc, nil)
	if !strings.Contains(body, "Acme Labs is disabled") || !strings.Contains(body, `action="/admin/integrations/`+id+`/enable"`) {
		t.Fatalf("the page does not say the system is disabled or offer to undo it:\n%s", body)
	}
	if code, loc, _ = page(t, e, admin, "POST", "/admin/integrations/"+id+"/enable", url.Values{}); code != http.StatusSeeOther || loc != "/admin/integrations?done=enabled&who="+id {
		t.Fatalf("enable = %d → %q", code, loc)
	}

	e.Clock.Advance(6 * time.Minute)
	admin.Must(200, "GET", "/api/v1/me", nil)
	if code, loc, _ = page(t, e, admin, "GET", "/admin/integrations", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/step-up?next=") {
		t.Errorf("without a fresh second factor = %d → %q, want the step-up page", code, loc)
	}
}
