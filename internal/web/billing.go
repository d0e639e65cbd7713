package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"haven/internal/billing"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/visits"
)

// Billing's pages: the billing role's list of charges (filter by status, move a charge along
// its life, export for the billing system after a fresh second factor), a clinician's charges
// for one patient with the form that adds one for an ended visit, and a patient's own charges
// on a phone. Billing sees charges and names, never notes or other clinical content: the
// services decide that, and these pages ask for nothing more.

func (u *UI) billingRoutes() []route {
	return []route{
		{"GET /billing", u.billingHome},
		{"POST /billing/charges/{id}/status", u.billingStatus},
		{"GET /billing/export", u.billingExport},
		{"GET /clinician/patients/{id}/charges", u.patientCharges},
		{"POST /clinician/patients/{id}/charges", u.addCharge},
		{"GET /patient/charges", u.myCharges},
	}
}

// billingFuncs are the templates' words for money and a charge's status.
func billingFuncs() template.FuncMap {
	return template.FuncMap{
		"money":         money,
		"chargeStatus":  chargeStatusWords,
		"patientStatus": func(s billing.Status) string { return s.Words() },
		"nextStatuses":  func(s billing.Status) []billing.Status { return s.Next() },
		"codes":         func(cs []string) string { return strings.Join(cs, ", ") },
	}
}

// money writes minor units as people read an amount: "$125.00" for dollars, "125.00 EUR"
// otherwise.
func money(minor int64, currency string) string {
	v := fmt.Sprintf("%d.%02d", minor/100, minor%100)
	if currency == "USD" {
		return "$" + v
	}
	return v + " " + currency
}

// chargeStatusWords is a status as staff read it.
func chargeStatusWords(s billing.Status) string {
	switch s {
	case billing.Draft:
		return "Draft"
	case billing.Submitted:
		return "Submitted"
	case billing.Paid:
		return "Paid"
	case billing.Denied:
		return "Denied"
	case billing.Void:
		return "Void"
	}
	return "Unknown"
}

// chargeActions name the move to each status on its button.
var chargeActions = map[billing.Status]string{
	billing.Draft: "Back to draft", billing.Submitted: "Submit", billing.Paid: "Mark paid", billing.Denied: "Mark denied", billing.Void: "Void",
}

type billingData struct {
	Charges  []billing.Charge
	Status   billing.Status
	Statuses []billing.Status
	Actions  map[billing.Status]string
	Done     string
}

var billingNotices = map[string]string{
	"status": "The charge's status is changed.",
}

func (u *UI) billingData(r *http.Request, by principal.Subject, status billing.Status) (billingData, error) {
	d := billingData{Status: status, Statuses: []billing.Status{billing.Draft, billing.Submitted, billing.Paid, billing.Denied, billing.Void}, Actions: chargeActions}
	cs, err := u.d.Billing.List(r.Context(), by, billing.Filter{Status: status}, httpx.Origin(r))
	if err != nil {
		return d, httpx.FromDomain(err)
	}
	d.Charges = cs
	return d, nil
}

func (u *UI) billingHome(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Billing)
	if err != nil {
		return err
	}
	status := billing.Status(r.URL.Query().Get("status"))
	if !status.Valid() {
		status = ""
	}
	d, err := u.billingData(r, by, status)
	if err != nil {
		return err
	}
	d.Done = billingNotices[r.URL.Query().Get("done")]
	return u.render(w, r, http.StatusOK, "billing", page{Title: "Charges", Data: d})
}

// billingStatus moves a charge to the status chosen, then back to the list as it was filtered.
func (u *UI) billingStatus(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Billing)
	if err != nil {
		return err
	}
	filter := billing.Status(r.PostFormValue("filter"))
	if !filter.Valid() {
		filter = ""
	}
	_, err = u.d.Billing.Update(r.Context(), by, r.PathValue("id"), billing.Change{Status: billing.Status(r.PostFormValue("status"))}, httpx.Origin(r))
	if err != nil {
		d, derr := u.billingData(r, by, filter)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "billing", "Charges", d, err)
	}
	q := url.Values{"done": {"status"}}
	if filter != "" {
		q.Set("status", string(filter))
	}
	return goTo("/billing?" + q.Encode())
}

// billingExport downloads the charges shown (the status filter, if any) as CSV or FHIR Claim
// JSON. The file leaves Haven, so the door asks for a fresh second factor: the browser goes
// to confirm it and comes back here.
func (u *UI) billingExport(w http.ResponseWriter, r *http.Request) error {
	if _, err := signedIn(r, principal.Billing); err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	status := billing.Status(r.URL.Query().Get("status"))
	if !status.Valid() {
		status = ""
	}
	q := url.Values{"format": {format}}
	if status != "" {
		q.Set("status", string(status))
	}
	by, err := u.admit(r, "charge.export", "", "/billing/export?"+q.Encode())
	if err != nil {
		return err
	}
	out, media, err := u.d.Billing.Export(r.Context(), by, billing.Filter{Status: status}, format, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	name := "charges.csv"
	if format == billing.FormatFHIR {
		name = "claims.json"
	}
	w.Header().Set("Content-Type", media)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(out)
	return err
}

// chargeForm is what the clinician typed, kept to show again beside an error.
type chargeForm struct {
	VisitID, ProcedureCodes, DiagnosisCodes, Amount, Note string
}

type patientChargesData struct {
	PatientID, PatientName string
	Charges                []billing.Charge
	// Visits are the patient's ended visits with the clinician, in the last 90 days, that
	// have no live charge yet.
	Visits []visits.Appointment
	Form   chargeForm
	Done   bool
}

// chargeableDays is how far back the charge form offers ended visits.
const chargeableDays = 90

func (u *UI) patientChargesData(r *http.Request, by principal.Subject, patientID string) (patientChargesData, error) {
	d := patientChargesData{PatientID: patientID}
	cs, err := u.d.Billing.List(r.Context(), by, billing.Filter{PatientID: patientID}, httpx.Origin(r))
	if err != nil {
		return d, httpx.FromDomain(err)
	}
	d.Charges = cs
	charged := map[string]bool{}
	for _, c := range cs {
		if c.Status != billing.Void {
			charged[c.VisitID] = true
		}
		d.PatientName = c.PatientName
	}
	now := u.now()
	as, err := u.appointments(r, by, now.Add(-chargeableDays*24*time.Hour), now.Add(time.Minute))
	if err != nil {
		return d, err
	}
	for _, a := range as {
		if a.PatientID == patientID && a.State == "ended" && !charged[a.ID] {
			d.Visits = append(d.Visits, a)
			if d.PatientName == "" {
				d.PatientName = a.PatientName
			}
		}
	}
	slices.Reverse(d.Visits) // the latest first
	return d, nil
}

func (u *UI) patientCharges(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician)
	if err != nil {
		return err
	}
	d, err := u.patientChargesData(r, by, r.PathValue("id"))
	if err != nil {
		return err
	}
	d.Done = r.URL.Query().Get("done") == "added"
	return u.render(w, r, http.StatusOK, "patientcharges", page{Title: "Charges", Data: d})
}

// addCharge records the charge for one of the patient's ended visits. The amount is typed in
// dollars and cents as people write it ("125", "125.50", "$125.50").
func (u *UI) addCharge(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	by, err := u.admit(r, "charge.write", id, "/clinician/patients/"+id+"/charges")
	if err != nil {
		return err
	}
	if by.Role != principal.Clinician {
		return httpx.ErrForbidden
	}
	f := chargeForm{VisitID: r.PostFormValue("visitId"), ProcedureCodes: r.PostFormValue("procedureCodes"),
		DiagnosisCodes: r.PostFormValue("diagnosisCodes"), Amount: r.PostFormValue("amount"), Note: r.PostFormValue("note")}
	minor, cerr := parseAmount(f.Amount)
	if cerr == nil {
		_, cerr = u.d.Billing.Create(r.Context(), by, billing.NewCharge{VisitID: f.VisitID, ProcedureCodes: splitCodes(f.ProcedureCodes),
			DiagnosisCodes: splitCodes(f.DiagnosisCodes), Amount: minor, Note: f.Note}, httpx.Origin(r))
	}
	if cerr != nil {
		d, err := u.patientChargesData(r, by, id)
		if err != nil {
			return err
		}
		d.Form = f
		return u.formPage(w, r, "patientcharges", "Charges", d, cerr)
	}
	return goTo("/clinician/patients/" + id + "/charges?done=added")
}

// splitCodes reads codes typed with commas, semicolons or spaces between them.
func splitCodes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// parseAmount reads an amount in dollars and cents ("125", "125.5", "$1,250.00") as cents.
func parseAmount(s string) (int64, error) {
	bad := fault.InvalidField("amount", "enter the amount in dollars and cents, such as 125.00")
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "$"))
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 7 || len(frac) > 2 {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseUint(whole, 10, 64)
	c, err2 := strconv.ParseUint(frac, 10, 64)
	if err1 != nil || err2 != nil || w*100+c == 0 || w*100+c > billing.MaxAmount {
		return 0, bad
	}
	return int64(w*100 + c), nil
}

type myChargesData struct {
	Charges []billing.Charge
}

// myCharges is a patient's own charges, as words: when, what for, how much, where it stands.
func (u *UI) myCharges(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	cs, err := u.d.Billing.List(r.Context(), by, billing.Filter{}, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "mycharges", page{Title: "Charges", Data: myChargesData{Charges: cs}})
}
