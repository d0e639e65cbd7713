package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"haven/internal/fhir"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/smart"
)

// The administrator's page of connected systems (SMART Backend Services clients): who they
// are, what they may read or write, under which agreement, and a form to register one. Every
// act on it needs a recent second factor: the door sends the browser to confirm it first.

const integrationsPath = "/admin/integrations"

func (u *UI) integrationRoutes() []route {
	return []route{
		{"GET " + integrationsPath, u.integrations},
		{"POST " + integrationsPath, u.registerIntegration},
		{"POST " + integrationsPath + "/{id}/disable", u.disableIntegration},
		{"POST " + integrationsPath + "/{id}/enable", u.enableIntegration},
	}
}

// integrationsData is the page: the systems, the form as last sent, and what was just done.
type integrationsData struct {
	Systems  []systemView
	Form     systemForm
	Done     *doneNotice
	TokenURL string
}

// systemForm is the registration form's fields, kept to fill it again after an error.
type systemForm struct {
	Name, JWKS, JWKSURL, Scopes, Purpose, AgreementStart, AgreementEnd string
}

// systemView is one connected system as the page shows it.
type systemView struct {
	smart.Client
	PurposeWords, Status, Keys string
	From, To                   string // the agreement's dates, in words
	Lapsed                     bool
}

// purposeWords are the purposes of use a system may be registered for, as people say them.
var purposeWords = map[string]string{
	"TREAT":   "Treatment",
	"HPAYMT":  "Payment",
	"HOPERAT": "Health-care operations",
}

func viewOf(c smart.Client) systemView {
	v := systemView{Client: c, PurposeWords: purposeWords[c.Purpose], From: longDate(c.AgreementStart), To: longDate(c.AgreementEnd)}
	switch {
	case c.Disabled:
		v.Status = "Disabled"
	case !c.AgreementInForce:
		v.Status, v.Lapsed = "Refused: its agreement is not in force today", true
	default:
		v.Status = "Active"
	}
	if c.JWKSURL != "" {
		v.Keys = "Fetched from " + c.JWKSURL
	} else if keys, ok := c.JWKS["keys"].([]any); ok {
		v.Keys = "Registered here (" + strconv.Itoa(len(keys)) + " key"
		if len(keys) != 1 {
			v.Keys += "s"
		}
		v.Keys += ")"
	}
	return v
}

// longDate writes an agreement date (YYYY-MM-DD) as people read it: "31 December 2027".
func longDate(d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return t.Format("2 January 2006")
}

func (u *UI) integrationsData(r *http.Request, by principal.Subject) (integrationsData, error) {
	cs, err := u.d.SMART.Clients(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return integrationsData{}, err
	}
	d := integrationsData{TokenURL: u.d.BaseURL + fhir.TokenPath, Form: systemForm{Purpose: "TREAT"}}
	for _, c := range cs {
		d.Systems = append(d.Systems, viewOf(c))
	}
	q := r.URL.Query()
	d.Done = d.doneWith(q.Get("done"), q.Get("who"))
	return d, nil
}

// doneWith says what the last act did to the system who, with the act that undoes it.
func (d integrationsData) doneWith(done, who string) *doneNotice {
	for _, s := range d.Systems {
		if s.ID != who {
			continue
		}
		switch done {
		case "registered":
			return &doneNotice{Message: s.Name + " is registered. Give its vendor the client ID " + s.ID + " and the token address " + d.TokenURL + "."}
		case "disabled":
			return &doneNotice{Message: s.Name + " is disabled: its access tokens stopped working and it gets no new ones.",
				Undo: &undoAct{Action: integrationsPath + "/" + s.ID + "/enable", Label: "Enable " + s.Name + " again"}}
		case "enabled":
			return &doneNotice{Message: s.Name + " is enabled again: it can ask for access tokens within its agreement's dates."}
		}
	}
	return nil
}

func (u *UI) integrations(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "integration.manage", "", integrationsPath)
	if err != nil {
		return err
	}
	d, err := u.integrationsData(r, by)
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "integrations", page{Title: "Connected systems", Data: d})
}

func (u *UI) registerIntegration(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "integration.manage", "", integrationsPath)
	if err != nil {
		return err
	}
	f := systemForm{Name: r.PostFormValue("name"), JWKS: r.PostFormValue("jwks"), JWKSURL: r.PostFormValue("jwksUrl"),
		Scopes: r.PostFormValue("scopes"), Purpose: r.PostFormValue("purpose"),
		AgreementStart: r.PostFormValue("agreementStart"), AgreementEnd: r.PostFormValue("agreementEnd")}
	c, rerr := u.d.SMART.Register(r.Context(), by, smart.NewClient{Name: f.Name, JWKS: f.JWKS, JWKSURL: f.JWKSURL,
		Scopes: f.Scopes, Purpose: f.Purpose, AgreementStart: f.AgreementStart, AgreementEnd: f.AgreementEnd}, httpx.Origin(r))
	if rerr != nil {
		d, err := u.integrationsData(r, by)
		if err != nil {
			return httpx.FromDomain(err)
		}
		d.Form = f
		return u.formPage(w, r, "integrations", "Connected systems", d, rerr)
	}
	return goTo(integrationsPath + "?" + url.Values{"done": {"registered"}, "who": {c.ID}}.Encode())
}

func (u *UI) disableIntegration(w http.ResponseWriter, r *http.Request) error {
	return u.setIntegrationDisabled(r, true)
}

func (u *UI) enableIntegration(w http.ResponseWriter, r *http.Request) error {
	return u.setIntegrationDisabled(r, false)
}

func (u *UI) setIntegrationDisabled(r *http.Request, disabled bool) error {
	by, err := u.admit(r, "integration.manage", "", integrationsPath)
	if err != nil {
		return err
	}
	c, err := u.d.SMART.SetDisabled(r.Context(), by, r.PathValue("id"), disabled, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return goTo(integrationsPath + "?" + url.Values{"done": {done}, "who": {strings.TrimSpace(c.ID)}}.Encode())
}
