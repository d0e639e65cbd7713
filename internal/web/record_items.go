package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// The structured record in the browser: the clinician's (and nurse's) record page shows the
// record at a glance, with a small form to add each kind of item and one to change an item's
// status; the patient's page shows theirs and takes their own blood pressure, weight and
// glucose. Vitals' trends are inline SVG drawn here, each with a title and a table of the same
// readings, so nothing runs in the browser. The door decides every act (the forms are admitted
// before they are read); the page hides only what the reader's role could never do.

func (u *UI) recordItemRoutes() []route {
	return []route{
		{"POST /clinician/patients/{id}/items/{kind}", u.addRecordItem},
		{"POST /clinician/patients/{id}/items/{kind}/{item}/status", u.changeRecordItem},
		{"POST /patient/vitals", u.addOwnVital},
	}
}

// recordItems is the structured record as the pages show it.
type recordItems struct {
	Problems, Allergies, Medications, Immunizations []itemView
	Latest                                          []itemView // the latest reading of each vital
	Charts                                          []vitalChart
	Vitals                                          []vitalChoice // what the vitals form offers
}

// itemView is one item in words.
type itemView struct {
	ID, PatientID, Kind, Text, Detail, Status string
	When                                      time.Time
	By                                        string // who recorded it, in words
	Reported                                  bool   // patient-reported
	Severe                                    bool
	Options                                   []itemOption // the statuses it may change to
}

type itemOption struct{ Value, Label string }

type vitalChoice struct {
	Code, Label string
	Pressure    bool // asks for systolic and diastolic
	PatientMay  bool
}

func recordPath(id string) string { return "/clinician/patients/" + url.PathEscape(id) }

// kindAction is the policy action that writes a kind, by the plural the paths use.
func kindAction(plural string) string {
	switch plural {
	case "conditions":
		return "condition.write"
	case "allergies":
		return "allergy.write"
	case "medications":
		return "medication.write"
	case "observations":
		return "observation.write"
	}
	return "immunization.write"
}

// recordPage renders the clinician's record page: the whole record, in one read through the
// door (one line in the patient's access log per view).
func (u *UI) recordPage(w http.ResponseWriter, r *http.Request, by principal.Subject, id string, status int, p page, d recordData) error {
	sum, err := u.d.Records.Summary(r.Context(), by, id, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d.Record = clinical.Record{Patient: sum.Patient, Notes: sum.Notes}
	d.Items, d.Nurse = newRecordItems(sum, false), by.Role == principal.Nurse
	if d.Form == nil {
		d.Form = url.Values{}
	}
	p.Title, p.Data = "Patient record", d
	return u.render(w, r, status, "record", p)
}

func (u *UI) addRecordItem(w http.ResponseWriter, r *http.Request) error {
	id, plural := r.PathValue("id"), r.PathValue("kind")
	kind, ok := clinical.ParseKind(plural)
	if !ok {
		return httpx.ErrNotFound
	}
	by, err := u.admit(r, kindAction(plural), id, recordPath(id))
	if err != nil {
		return err
	}
	in, ierr := itemFromForm(r, u.zoneOf(r))
	if ierr == nil {
		_, ierr = u.d.Records.AddItem(r.Context(), by, id, kind, in, httpx.Origin(r))
	}
	if ierr != nil {
		return u.recordAgain(w, r, by, id, plural, ierr)
	}
	return goTo(recordPath(id) + "#" + plural + "-heading")
}

func (u *UI) changeRecordItem(w http.ResponseWriter, r *http.Request) error {
	id, plural := r.PathValue("id"), r.PathValue("kind")
	kind, ok := clinical.ParseKind(plural)
	if !ok {
		return httpx.ErrNotFound
	}
	by, err := u.admit(r, kindAction(plural), id, recordPath(id))
	if err != nil {
		return err
	}
	ch := clinical.ItemChange{Status: r.PostFormValue("status")}
	if ch.Status == "" {
		return u.recordAgain(w, r, by, id, plural, fault.InvalidField("status", "choose what to change, then press Change"))
	}
	if _, err := u.d.Records.UpdateItem(r.Context(), by, id, kind, r.PathValue("item"), ch, httpx.Origin(r)); err != nil {
		return u.recordAgain(w, r, by, id, plural, err)
	}
	return goTo(recordPath(id) + "#" + plural + "-heading")
}

// recordAgain shows the record page again with a form's error and what was typed.
func (u *UI) recordAgain(w http.ResponseWriter, r *http.Request, by principal.Subject, id, plural string, err error) error {
	msg, ferr := formError(err)
	if ferr != nil {
		return httpx.FromDomain(ferr)
	}
	p := page{Error: msg}
	if fe := fault.As(err); fe != nil && fe.Kind == fault.Invalid {
		p.ErrorField = plural + "-" + fe.Field
	}
	return u.recordPage(w, r, by, id, http.StatusUnprocessableEntity, p, recordData{Form: r.PostForm, FormKind: plural})
}

// patientRecord is the patient's own record, for their page, in one read.
func (u *UI) patientRecord(r *http.Request, by principal.Subject) (clinical.Record, recordItems, error) {
	sum, err := u.d.Records.Summary(r.Context(), by, by.PatientID, httpx.Origin(r))
	if err != nil {
		return clinical.Record{}, recordItems{}, httpx.FromDomain(err)
	}
	return clinical.Record{Patient: sum.Patient, Notes: sum.Notes}, newRecordItems(sum, true), nil
}

// addOwnVital is a patient recording their own reading (patient-reported).
func (u *UI) addOwnVital(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "observation.write", s.Subject.PatientID, "/patient")
	if err != nil {
		return err
	}
	in, ierr := itemFromForm(r, u.zoneOf(r))
	if ierr == nil {
		_, ierr = u.d.Records.AddItem(r.Context(), by, by.PatientID, clinical.KindObservation, in, httpx.Origin(r))
	}
	if ierr != nil {
		msg, ferr := formError(ierr)
		if ferr != nil {
			return httpx.FromDomain(ferr)
		}
		p := page{Error: msg}
		if fe := fault.As(ierr); fe != nil && fe.Kind == fault.Invalid {
			p.ErrorField = "observations-" + fe.Field
		}
		return u.patientPage(w, r, by, http.StatusUnprocessableEntity, p, r.PostForm)
	}
	return goTo("/patient?recorded=1#vitals-heading")
}

// itemFromForm reads a record form: the words of any kind, for a vital its code and values, and
// a date (an immunization given before), at noon in the reader's zone.
func itemFromForm(r *http.Request, loc *time.Location) (clinical.ItemInput, error) {
	in := clinical.ItemInput{Text: r.PostFormValue("text"), Note: r.PostFormValue("note"), Reaction: r.PostFormValue("reaction"),
		Severity: r.PostFormValue("severity"), Category: r.PostFormValue("category"), Dosage: r.PostFormValue("dosage"), Lot: r.PostFormValue("lot")}
	if c := strings.TrimSpace(r.PostFormValue("code")); c != "" {
		in.Code = &clinical.Code{Code: c, System: strings.TrimSpace(r.PostFormValue("system"))}
	}
	if v := r.PostFormValue("vital"); v != "" {
		in.Code = &clinical.Code{Code: v}
	}
	for _, f := range []struct {
		name string
		into **float64
	}{{"value", &in.Value}, {"systolic", &in.Systolic}, {"diastolic", &in.Diastolic}} {
		s := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue(f.name), ",", "."))
		if s == "" {
			continue
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return in, fault.InvalidField(f.name, "enter a number, such as 72 or 70.5")
		}
		*f.into = &n
	}
	if d := strings.TrimSpace(r.PostFormValue("date")); d != "" {
		day, err := time.ParseInLocation(time.DateOnly, d, loc)
		if err != nil {
			return in, fault.InvalidField("effectiveAt", "enter the date as YYYY-MM-DD, or choose it in the calendar")
		}
		at := day.Add(12 * time.Hour)
		in.EffectiveAt = &at
	}
	return in, nil
}

// newRecordItems puts a summary in words. mine: the reader is the patient.
func newRecordItems(s clinical.Summary, mine bool) recordItems {
	v := recordItems{}
	view := func(it clinical.Item, plural string) itemView {
		iv := itemView{ID: it.ID, PatientID: it.PatientID, Kind: plural, Text: it.Text, Status: itemStatusWords(it.Status), When: it.EffectiveAt, Reported: it.PatientReported}
		switch {
		case it.PatientReported && mine:
			iv.By = "you"
		case it.PatientReported:
			iv.By = "the patient"
		case it.RecordedByName != "":
			iv.By = it.RecordedByName
		default:
			iv.By = "the care team"
		}
		var parts []string
		switch it.Kind {
		case clinical.KindAllergy:
			parts = []string{it.Reaction, it.Severity, it.Category}
			iv.Severe = it.Severity == "severe"
		case clinical.KindMedication:
			parts = []string{it.Dosage}
		case clinical.KindImmunization:
			if it.Lot != "" {
				parts = []string{"lot " + it.Lot}
			}
		case clinical.KindObservation:
			parts = []string{vitalValue(it)}
		}
		parts = append(parts, it.Note)
		iv.Detail = recJoin(parts, " · ")
		for _, st := range clinical.Statuses(it.Kind) {
			if st != it.Status {
				iv.Options = append(iv.Options, itemOption{st, itemStatusAction(st)})
			}
		}
		return iv
	}
	for _, it := range s.Problems {
		v.Problems = append(v.Problems, view(it, "conditions"))
	}
	for _, it := range s.Allergies {
		v.Allergies = append(v.Allergies, view(it, "allergies"))
	}
	for _, it := range s.Medications {
		v.Medications = append(v.Medications, view(it, "medications"))
	}
	for _, it := range s.Immunizations {
		v.Immunizations = append(v.Immunizations, view(it, "immunizations"))
	}
	for _, it := range s.LatestVitals {
		v.Latest = append(v.Latest, view(it, "observations"))
	}
	for _, vt := range clinical.Vitals() {
		v.Vitals = append(v.Vitals, vitalChoice{Code: vt.Code, Label: recUpperFirst(vt.Name) + " (" + clinical.UnitWords(vt.Unit) + ")",
			Pressure: len(vt.Components) > 0, PatientMay: vt.PatientMay})
		var readings []clinical.Item
		for _, it := range s.Vitals {
			if it.Code != nil && it.Code.Code == vt.Code {
				readings = append(readings, it)
			}
		}
		if len(readings) > 0 {
			v.Charts = append(v.Charts, newVitalChart(vt, readings, mine))
		}
	}
	return v
}

func vitalValue(it clinical.Item) string {
	unit := clinical.UnitWords(it.Unit)
	if len(it.Components) == 2 {
		return recNum(it.Components[0].Value) + "/" + recNum(it.Components[1].Value) + " " + unit
	}
	if it.Value == nil {
		return ""
	}
	return recNum(*it.Value) + " " + unit
}

func recNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func itemStatusWords(s string) string {
	switch s {
	case clinical.StatusActive:
		return "current"
	case clinical.StatusEnteredInError:
		return "entered in error"
	case clinical.StatusInactive:
		return "no longer current"
	case clinical.StatusCompleted:
		return "recorded"
	}
	return s
}

// itemStatusAction is a status as the change form offers it.
func itemStatusAction(s string) string {
	switch s {
	case clinical.StatusActive:
		return "Mark as current again"
	case clinical.StatusResolved:
		return "Mark as resolved"
	case clinical.StatusInactive:
		return "Mark as no longer current"
	case clinical.StatusStopped:
		return "Mark as stopped"
	case clinical.StatusEnteredInError:
		return "Entered in error: remove from the summary"
	case clinical.StatusCompleted:
		return "Mark as valid again"
	}
	return s
}

func recJoin(parts []string, sep string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func recUpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// vitalChart is one vital's trend: an inline SVG with its title, and the same readings as a table.
type vitalChart struct {
	ID, Title, Unit string
	Desc            string // the title's words: how many readings, the latest
	Lines           []chartLine
	Ticks           []chartTick
	First, Last     time.Time
	Rows            []chartRow
}

type chartLine struct {
	Name, Class, Points string
	Dots                []chartDot
}

type chartDot struct{ X, Y string }

type chartTick struct{ Y, Label string }

type chartRow struct {
	When     time.Time
	Value    string
	Reported bool
}

// The chart's drawing area, in the SVG's own units (it scales to the width it is given).
const (
	chartW, chartH             = 320.0, 150.0
	plotLeft, plotRight        = 44.0, 310.0
	plotTop, plotBottom        = 12.0, 122.0
	chartTicks                 = 3
	pressureLine, diastolicCls = "line", "line second"
)

// newVitalChart draws one vital's readings (oldest first) against time. Its coordinates are
// numbers this function formats: nothing a person typed reaches the SVG but the table's text.
func newVitalChart(v clinical.Vital, readings []clinical.Item, mine bool) vitalChart {
	c := vitalChart{ID: "chart-" + strings.ReplaceAll(v.Code, "-", ""), Title: recUpperFirst(v.Name), Unit: clinical.UnitWords(v.Unit),
		First: readings[0].EffectiveAt, Last: readings[len(readings)-1].EffectiveAt}
	series := [][]float64{{}}
	names := []string{v.Name}
	if len(v.Components) > 0 {
		series = [][]float64{{}, {}}
		names = []string{"systolic", "diastolic"}
	}
	for _, it := range readings {
		if len(v.Components) > 0 && len(it.Components) == 2 {
			series[0] = append(series[0], it.Components[0].Value)
			series[1] = append(series[1], it.Components[1].Value)
		} else if it.Value != nil {
			series[0] = append(series[0], *it.Value)
		} else {
			continue
		}
		c.Rows = append(c.Rows, chartRow{When: it.EffectiveAt, Value: vitalValue(it), Reported: it.PatientReported})
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, x := range s {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	if len(c.Rows) == 0 {
		return c
	}
	if pad := (hi - lo) * 0.15; pad > 0 {
		lo, hi = lo-pad, hi+pad
	} else {
		lo, hi = lo-1, hi+1
	}
	span := c.Last.Sub(c.First)
	x := func(i int) float64 {
		if span <= 0 {
			if len(c.Rows) == 1 {
				return (plotLeft + plotRight) / 2
			}
			return plotLeft + (plotRight-plotLeft)*float64(i)/float64(len(c.Rows)-1)
		}
		return plotLeft + (plotRight-plotLeft)*float64(c.Rows[i].When.Sub(c.First))/float64(span)
	}
	y := func(val float64) float64 { return plotBottom - (plotBottom-plotTop)*(val-lo)/(hi-lo) }
	for si, s := range series {
		l := chartLine{Name: names[si], Class: pressureLine}
		if si == 1 {
			l.Class = diastolicCls
		}
		var pts []string
		for i, val := range s {
			px, py := chartCoord(x(i)), chartCoord(y(val))
			pts = append(pts, px+","+py)
			l.Dots = append(l.Dots, chartDot{X: px, Y: py})
		}
		l.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, l)
	}
	for i := range chartTicks {
		val := lo + (hi-lo)*float64(i)/float64(chartTicks-1)
		label := math.Round(val*10) / 10
		if hi-lo >= 10 {
			label = math.Round(val)
		}
		c.Ticks = append(c.Ticks, chartTick{Y: chartCoord(y(val)), Label: recNum(label)})
	}
	who := ""
	if mine {
		who = "your "
	}
	c.Desc = fmt.Sprintf("%s%s, %d reading%s; the latest %s", who, v.Name, len(c.Rows), recPlural(len(c.Rows)), c.Rows[len(c.Rows)-1].Value)
	return c
}

func chartCoord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func recPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
