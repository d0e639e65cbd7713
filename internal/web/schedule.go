package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
	"haven/internal/visits"
)

// Scheduling pages: a patient's appointments and the booking flow (a clinician, a day, a free
// time, then a confirmation), the same flow for the front desk booking for a patient, and the
// telehealth consent. Times are shown in the reader's zone (zone.go); the links between the
// steps carry identifiers and times only, never a name.

func (u *UI) scheduleRoutes() []route {
	return []route{
		{"GET " + visits.AppointmentsPath, u.appointmentsHome}, // where reminders link
		{"GET /patient/appointments", u.patientAppointments},
		{"GET /patient/book", u.patientBook},
		{"GET /patient/book/confirm", u.patientBookConfirm},
		{"POST /patient/appointments", u.patientBookPost},
		{"POST /patient/appointments/{id}/reschedule", u.patientReschedulePost},
		{"GET /patient/appointments/{id}/cancel", u.patientCancelForm},
		{"POST /patient/appointments/{id}/cancel", u.patientCancel},
		{"GET /patient/consent", u.consentPage},
		{"POST /patient/consent", u.acceptConsent},
		{"GET /patient/queue", u.patientQueue},
		{"POST /patient/queue/join", u.joinQueue},
		{"POST /patient/queue/leave", u.leaveQueue},
		{"GET /clinician/schedule", u.clinicianSchedule},
		{"GET /clinician/availability", u.ownAvailability},
		{"POST /clinician/availability", u.setOwnAvailability},
		{"GET /clinician/queue", u.clinicianQueue},
		{"POST /clinician/queue/take", u.takeNext},
		{"POST /account/calendar-feed", u.newCalendarFeed},
		{"POST /account/calendar-feed/revoke", u.revokeCalendarFeed},
	}
}

// Windows the pages ask for.
const (
	bookDays      = 14                   // the booking flow shows a fortnight of days at a time
	pastWindow    = 180 * 24 * time.Hour // a patient's past appointments reach this far back
	upcomingLimit = 366 * 24 * time.Hour // and their upcoming ones this far ahead, at most
	maxWindow     = 31 * 24 * time.Hour  // the longest window one slots call may ask
	listWindow    = 366 * 24 * time.Hour // and one list of appointments
)

// visitFuncs are the templates' words for the scheduling and visit pages.
func visitFuncs() template.FuncMap {
	return template.FuncMap{
		"stateWords":     stateWords,
		"statusWords":    clinicianStatusWords,
		"duration":       durationWords,
		"consentBlocks":  consentBlocks,
		"inc":            func(i int) int { return i + 1 },
		"minutesBetween": func(a, b time.Time) int { return int(b.Sub(a) / time.Minute) },
		// rfc3339 is an instant as a form sends it back (UTC, never shown).
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// invalid marks the input the form's error is about: announced as invalid, pointing
		// at the message.
		"invalid": func(errField, name string) template.HTMLAttr {
			if errField != "" && errField == name {
				return ` aria-invalid="true" aria-describedby="form-error"`
			}
			return ""
		},
	}
}

// stateWords is an appointment's state as people say it.
func stateWords(state string) string {
	switch state {
	case visits.StateBooked:
		return "Booked"
	case visits.StateWaiting:
		return "Checked in, waiting"
	case visits.StateInProgress:
		return "Visit in progress"
	case visits.StateEnded:
		return "Visit ended"
	case visits.StateCancelled:
		return "Cancelled"
	case visits.StateNoShow:
		return "Marked as missed"
	}
	return "Booked"
}

// clinicianStatusWords says, to a waiting patient, where their clinician is.
func clinicianStatusWords(status string) string {
	switch status {
	case "with-another-patient":
		return "Your clinician is with another patient and will let you in next when it is your turn."
	case "online":
		return "Your clinician is online and will let you in shortly."
	case "in-this-visit":
		return "Your clinician has joined."
	}
	return "Your clinician has not opened their waiting room yet."
}

// durationWords says a policy's duration: "2 hours", "15 minutes", "1 day".
func durationWords(d time.Duration) string {
	plural := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/time.Minute), "minute")
	}
}

// now is the scheduling service's clock, so that pages and the domain agree on what is past.
func (u *UI) now() time.Time { return u.d.Visits.Now() }

// atoiField reads a whole number of minutes from a form field.
func atoiField(v, field string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, invalidField(field, "enter a number of minutes, for example 20")
	}
	return n, nil
}

// invalidField is a form's own complaint about a field, shown like the domain's.
func invalidField(field, msg string) error { return fault.InvalidField(field, msg) }

// dayStart is midnight at the start of t's day in loc.
func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// parseDay reads a YYYY-MM-DD day in loc; ok is false for anything else.
func parseDay(s string, loc *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	return t, err == nil
}

// nextDay is midnight a calendar day after day (DST-safe: not always 24 hours).
func nextDay(day time.Time, n int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+n, 0, 0, 0, 0, day.Location())
}

// appointments lists by's appointments in [from, to), in windows the service accepts.
func (u *UI) appointments(r *http.Request, by principal.Subject, from, to time.Time) ([]visits.Appointment, error) {
	var out []visits.Appointment
	for start := from; start.Before(to); {
		end := minTime(start.Add(listWindow), to)
		as, err := u.d.Visits.Appointments(r.Context(), by, start, end, httpx.Origin(r))
		if err != nil {
			return nil, httpx.FromDomain(err)
		}
		out = append(out, as...)
		start = end
	}
	slices.SortStableFunc(out, func(a, b visits.Appointment) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// ---- the patient's appointments ----

// apptView is an appointment on a list, with what its reader may do with it.
type apptView struct {
	visits.Appointment
	// CanChange: the patient may still cancel or move it (before the cut-off).
	CanChange bool
}

// Live: the visit is on now (the patient is waiting or in it).
func (a apptView) Live() bool {
	return a.State == visits.StateWaiting || a.State == visits.StateInProgress
}

type appointmentsData struct {
	Upcoming []apptView
	Past     []apptView
	Consent  visits.ConsentStatus
	Cutoff   time.Duration
	Opens    time.Duration
	Done     string // what the last act did, in words
}

// appointmentNotices are what ?done= may say on the appointments page.
var appointmentNotices = map[string]string{
	"booked":    "Your appointment is booked. It is in the list below.",
	"moved":     "Your appointment has moved to the new time below.",
	"cancelled": "Your appointment is cancelled. You can book another time whenever you like.",
}

func (u *UI) patientAppointmentsData(r *http.Request, by principal.Subject) (appointmentsData, error) {
	pol := u.d.Visits.Policy()
	now := u.now()
	as, err := u.appointments(r, by, now.Add(-pastWindow), now.Add(min(pol.Horizon+24*time.Hour, upcomingLimit)))
	if err != nil {
		return appointmentsData{}, err
	}
	d := appointmentsData{Cutoff: pol.CancelCutoff, Opens: pol.OpensBefore}
	for _, a := range as {
		v := apptView{Appointment: a}
		switch {
		case a.State == visits.StateBooked && a.End.After(now), v.Live():
			v.CanChange = a.State == visits.StateBooked && a.Start.Sub(now) >= pol.CancelCutoff
			d.Upcoming = append(d.Upcoming, v)
		default:
			d.Past = append(d.Past, v)
		}
	}
	slices.Reverse(d.Past) // the most recent first
	st, err := u.d.Visits.Consent(r.Context(), by, by.PatientID, httpx.Origin(r))
	if err != nil {
		return appointmentsData{}, httpx.FromDomain(err)
	}
	d.Consent = st
	return d, nil
}

// appointmentsHome is where a reminder's link leads: each person's own appointments (a patient's
// list, a clinician's schedule, the clinic's day), after signing in.
func (u *UI) appointmentsHome(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	switch s.Subject.Role {
	case principal.Patient:
		return goTo("/patient/appointments")
	case principal.Clinician:
		return goTo("/clinician/schedule")
	case principal.FrontDesk:
		return goTo("/frontdesk")
	}
	return goTo(stagePath(s))
}

func (u *UI) patientAppointments(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	d, err := u.patientAppointmentsData(r, s.Subject)
	if err != nil {
		return err
	}
	d.Done = appointmentNotices[r.URL.Query().Get("done")]
	return u.render(w, r, http.StatusOK, "appointments", page{Title: "Appointments", Data: d})
}

// ---- the booking flow, for a patient and for the front desk ----

// bookFlow is one booking flow's paths and the values its steps carry along.
type bookFlow struct {
	Base    string // the flow's first step: /patient/book or /frontdesk/book
	Confirm string // its confirmation step
	Cancel  string // where "Back" leads out of the flow
	// Carry are the identifiers every step passes on (the front desk's patient, the
	// appointment being moved), as hidden fields and in links.
	Carry []formField
}

// Query is Carry as a query string, without its "?"; more name-value pairs are appended. Its
// values are encoded here, so the template takes it as it is (html/template would otherwise
// escape its "=" and "&" as the inside of one value).
func (f bookFlow) Query(more ...string) template.URL {
	q := url.Values{}
	for _, c := range f.Carry {
		q.Set(c.Name, c.Value)
	}
	for i := 0; i+1 < len(more); i += 2 {
		q.Set(more[i], more[i+1])
	}
	return template.URL(q.Encode())
}

// dayChoice is a day with free times, named in the reader's zone.
type dayChoice struct {
	Key   string    // YYYY-MM-DD, for links
	At    time.Time // the day's first free time, for its name
	Slots []visits.Slot
}

type bookData struct {
	Flow bookFlow
	// For names the patient the front desk books for (empty for a patient booking), with their
	// birth date, to tell apart two people of one name.
	For, ForBorn string
	Move         *visits.Appointment // the appointment being moved, if any
	Clinicians   []visits.Clinician
	Clinician    *visits.Clinician
	Days         []dayChoice
	Day          *dayChoice
	From         time.Time // the first day shown
	Earlier      string    // the previous fortnight's first day, or ""
	Later        string    // the next fortnight's first day, or ""
	Cutoff       time.Duration
	// The confirmation step: the chosen time and where the form posts.
	Start, End time.Time
	Action     string
}

// bookStep is the booking flow's step for by: a clinician to choose, then a day and its free
// times. q is the request's query.
func (u *UI) bookStep(r *http.Request, by principal.Subject, d bookData) (bookData, error) {
	q := r.URL.Query()
	loc := u.zoneOf(r)
	pol := u.d.Visits.Policy()
	d.Cutoff = pol.CancelCutoff
	cs, err := u.d.Visits.Clinicians(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return d, httpx.FromDomain(err)
	}
	d.Clinicians = cs
	id := q.Get("clinician")
	if d.Move != nil {
		id = d.Move.ClinicianID
	}
	if id == "" {
		return d, nil
	}
	for i := range cs {
		if cs[i].ID == id {
			d.Clinician = &cs[i]
		}
	}
	if d.Clinician == nil {
		return d, httpx.ErrNotFound
	}
	now := u.now()
	today := dayStart(now, loc)
	from := today
	if f, ok := parseDay(q.Get("from"), loc); ok && f.After(today) {
		from = f
	}
	last := now.Add(pol.Horizon)
	to := nextDay(from, bookDays)
	if from.After(last) {
		return d, httpx.ErrNotFound
	}
	d.From = from
	if from.After(today) {
		d.Earlier = nextDay(from, -bookDays).Format(time.DateOnly)
		if nextDay(from, -bookDays).Before(today) {
			d.Earlier = today.Format(time.DateOnly)
		}
	}
	if to.Before(last) {
		d.Later = to.Format(time.DateOnly)
	}
	slots, err := u.d.Visits.Slots(r.Context(), by, id, maxTime(from, now), minTime(to, last), httpx.Origin(r))
	if err != nil {
		return d, httpx.FromDomain(err)
	}
	for _, s := range slots {
		key := s.Start.In(loc).Format(time.DateOnly)
		if n := len(d.Days); n > 0 && d.Days[n-1].Key == key {
			d.Days[n-1].Slots = append(d.Days[n-1].Slots, s)
			continue
		}
		d.Days = append(d.Days, dayChoice{Key: key, At: s.Start, Slots: []visits.Slot{s}})
	}
	if day := q.Get("day"); day != "" {
		for i := range d.Days {
			if d.Days[i].Key == day {
				d.Day = &d.Days[i]
			}
		}
		if d.Day == nil {
			// The day filled up, or lies outside the fortnight shown: an empty day says so.
			if t, ok := parseDay(day, loc); ok {
				d.Day = &dayChoice{Key: day, At: t.Add(12 * time.Hour)}
			}
		}
	}
	return d, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// patientFlow is the patient's booking flow, moving the appointment ?move= names if any.
func (u *UI) patientFlow(r *http.Request, by principal.Subject) (bookData, error) {
	d := bookData{Flow: bookFlow{Base: "/patient/book", Confirm: "/patient/book/confirm", Cancel: "/patient/appointments"}}
	if id := r.URL.Query().Get("move"); id != "" {
		a, err := u.findAppointment(r, by, id)
		if err != nil {
			return d, err
		}
		d.Move = &a
		d.Flow.Carry = []formField{{"move", id}}
	}
	return d, nil
}

// findAppointment finds one of the reader's upcoming appointments.
func (u *UI) findAppointment(r *http.Request, by principal.Subject, id string) (visits.Appointment, error) {
	now := u.now()
	as, err := u.appointments(r, by, now.Add(-24*time.Hour), now.Add(min(u.d.Visits.Policy().Horizon+24*time.Hour, upcomingLimit)))
	if err != nil {
		return visits.Appointment{}, err
	}
	for _, a := range as {
		if a.ID == id {
			return a, nil
		}
	}
	return visits.Appointment{}, httpx.ErrNotFound
}

func (u *UI) patientBook(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	d, err := u.patientFlow(r, s.Subject)
	if err != nil {
		return err
	}
	if d, err = u.bookStep(r, s.Subject, d); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "book", page{Title: bookTitle(d), Error: takenMeanwhile(r), Data: d})
}

// takenMeanwhile is what the booking page says when the confirmation step sent it back: the time
// chosen was booked by someone else in between.
func takenMeanwhile(r *http.Request) string {
	if r.URL.Query().Get("taken") == "1" {
		return sentence(visits.ErrSlotTaken.Message)
	}
	return ""
}

// bookTitle is the booking page's heading.
func bookTitle(d bookData) string {
	if d.Move != nil {
		return "Move your appointment"
	}
	if d.For != "" {
		return "Book an appointment for a patient"
	}
	return "Book an appointment"
}

// confirmStep fills in the confirmation of the time ?start= with the chosen clinician.
func (u *UI) confirmStep(r *http.Request, by principal.Subject, d bookData, action string) (bookData, error) {
	d, err := u.bookStep(r, by, d)
	if err != nil {
		return d, err
	}
	start, err := time.Parse(time.RFC3339, r.URL.Query().Get("start"))
	if d.Clinician == nil || err != nil {
		return d, goTo(d.Flow.Base + "?" + string(d.Flow.Query()))
	}
	d.Start, d.Action = start, action
	for _, day := range d.Days {
		for _, s := range day.Slots {
			if s.Start.Equal(start) {
				d.End = s.End
			}
		}
	}
	if d.End.IsZero() {
		// Taken since the list was shown: back to that day, saying so.
		return d, goTo(d.Flow.Base + "?" + string(d.Flow.Query("clinician", d.Clinician.ID, "day", start.In(u.zoneOf(r)).Format(time.DateOnly), "taken", "1")))
	}
	return d, nil
}

func (u *UI) patientBookConfirm(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	d, err := u.patientFlow(r, s.Subject)
	if err != nil {
		return err
	}
	action := "/patient/appointments"
	if d.Move != nil {
		action = "/patient/appointments/" + url.PathEscape(d.Move.ID) + "/reschedule"
	}
	if d, err = u.confirmStep(r, s.Subject, d, action); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "bookconfirm", page{Title: "Check and confirm", Data: d})
}

// bookingFailed answers a booking the service refused: a time taken meanwhile goes back to
// that day's free times with the reason; anything else is an error page.
func (u *UI) bookingFailed(w http.ResponseWriter, r *http.Request, by principal.Subject, d bookData, start time.Time, err error) error {
	msg, ferr := formError(err)
	if ferr != nil {
		return ferr
	}
	// Show the day again as the flow shows it, with what to do next.
	q := r.URL.Query()
	q.Set("clinician", r.PostFormValue("clinician"))
	q.Set("day", start.In(u.zoneOf(r)).Format(time.DateOnly))
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	d, derr := u.bookStep(r2, by, d)
	if derr != nil {
		return derr
	}
	status := http.StatusUnprocessableEntity
	if errors.Is(err, visits.ErrSlotTaken) {
		status = http.StatusConflict
	}
	return u.render(w, r, status, "book", page{Title: bookTitle(d), Error: msg, Data: d})
}

func (u *UI) patientBookPost(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "appointment.book", s.Subject.PatientID, "/patient/book")
	if err != nil {
		return err
	}
	start, perr := time.Parse(time.RFC3339, r.PostFormValue("start"))
	if perr != nil {
		return goTo("/patient/book")
	}
	_, err = u.d.Visits.Book(r.Context(), by, visits.Booking{ClinicianID: r.PostFormValue("clinician"), Start: start}, httpx.Origin(r))
	if err != nil {
		d := bookData{Flow: bookFlow{Base: "/patient/book", Confirm: "/patient/book/confirm", Cancel: "/patient/appointments"}}
		return u.bookingFailed(w, r, by, d, start, err)
	}
	return goTo("/patient/appointments?done=booked")
}

func (u *UI) patientReschedulePost(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	by, err := u.admit(r, "appointment.reschedule", s.Subject.PatientID, "/patient/appointments")
	if err != nil {
		return err
	}
	start, perr := time.Parse(time.RFC3339, r.PostFormValue("start"))
	if perr != nil {
		return goTo("/patient/appointments")
	}
	if _, err := u.d.Visits.Reschedule(r.Context(), by, id, start, httpx.Origin(r)); err != nil {
		a, ferr := u.findAppointment(r, by, id)
		if ferr != nil {
			return ferr
		}
		d := bookData{Flow: bookFlow{Base: "/patient/book", Confirm: "/patient/book/confirm", Cancel: "/patient/appointments",
			Carry: []formField{{"move", id}}}, Move: &a}
		return u.bookingFailed(w, r, by, d, start, err)
	}
	return goTo("/patient/appointments?done=moved")
}

// cancelData is the confirmation before an appointment is cancelled (or marked as missed).
type cancelData struct {
	Appointment visits.Appointment
	// TooLate: the patient can no longer cancel it here (the cut-off); the page says what to
	// do instead.
	TooLate bool
	Cutoff  time.Duration
	Action  string // where the confirmation posts
	Back    string
	NoShow  bool // marking as missed rather than cancelling
}

func (u *UI) patientCancelForm(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	d, err := u.patientCancelData(r, s.Subject)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "cancel", page{Title: "Cancel this appointment?", Data: d})
}

func (u *UI) patientCancelData(r *http.Request, by principal.Subject) (cancelData, error) {
	id := r.PathValue("id")
	a, err := u.findAppointment(r, by, id)
	if err != nil {
		return cancelData{}, err
	}
	if a.State != visits.StateBooked {
		return cancelData{}, httpx.ErrNotFound
	}
	pol := u.d.Visits.Policy()
	return cancelData{Appointment: a, Cutoff: pol.CancelCutoff, TooLate: a.Start.Sub(u.now()) < pol.CancelCutoff,
		Action: "/patient/appointments/" + url.PathEscape(id) + "/cancel", Back: "/patient/appointments"}, nil
}

func (u *UI) patientCancel(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "appointment.cancel", s.Subject.PatientID, "/patient/appointments")
	if err != nil {
		return err
	}
	if err := u.d.Visits.Cancel(r.Context(), by, r.PathValue("id"), httpx.Origin(r)); err != nil {
		d, derr := u.patientCancelData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "cancel", "Cancel this appointment?", d, err)
	}
	return goTo("/patient/appointments?done=cancelled")
}

// ---- the telehealth consent ----

type consentData struct {
	Current visits.Consent
	Status  visits.ConsentStatus
	Next    string // where accepting leads (the visit's page the patient came from), or ""
	Done    bool
}

func (u *UI) consentPage(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	st, err := u.d.Visits.Consent(r.Context(), s.Subject, s.Subject.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := consentData{Current: u.d.Visits.CurrentConsent(), Status: st, Done: r.URL.Query().Get("done") == "1"}
	if next := r.URL.Query().Get("next"); next != "" {
		d.Next = safeNext(next)
	}
	return u.render(w, r, http.StatusOK, "consent", page{Title: "Consent to video visits", Data: d})
}

func (u *UI) acceptConsent(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "consent.accept", s.Subject.PatientID, "/patient/consent")
	if err != nil {
		return err
	}
	if err := u.d.Visits.AcceptConsent(r.Context(), by, by.PatientID, r.PostFormValue("version"), httpx.Origin(r)); err != nil {
		st, serr := u.d.Visits.Consent(r.Context(), by, by.PatientID, httpx.Origin(r))
		if serr != nil {
			return httpx.FromDomain(serr)
		}
		return u.formPage(w, r, "consent", "Consent to video visits", consentData{Current: u.d.Visits.CurrentConsent(), Status: st}, err)
	}
	if next := r.PostFormValue("next"); next != "" && safeNext(next) != "/" {
		return goTo(safeNext(next))
	}
	return goTo("/patient/consent?done=1")
}

// ---- the on-demand queue, for a patient ----

type patientQueueData struct {
	Place  visits.QueuePlace
	In     bool // waiting in the queue now
	Notice string
}

func (u *UI) patientQueue(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	p, err := u.d.Visits.MyQueuePlace(r.Context(), s.Subject, httpx.Origin(r))
	if err != nil && !isNotFound(err) {
		return httpx.FromDomain(err)
	}
	d := patientQueueData{Place: p, In: err == nil && p.QueueID != "" && p.AppointmentID == ""}
	if r.URL.Query().Get("done") == "left" {
		d.Notice = "You have left the queue."
	}
	state := "out"
	switch {
	case d.In:
		state = "waiting"
	case p.AppointmentID != "":
		state = "taken"
	}
	return u.render(w, r, http.StatusOK, "queue", page{Title: "See the next available clinician", Data: d,
		Live: &liveView{State: state, Poll: 10}})
}

// isNotFound: the service found nothing (no place in the queue).
func isNotFound(err error) bool {
	var he *httpx.Error
	return errors.As(httpx.FromDomain(err), &he) && he.Status == http.StatusNotFound
}

func (u *UI) joinQueue(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "queue.join", s.Subject.PatientID, "/patient/queue")
	if err != nil {
		return err
	}
	if _, err := u.d.Visits.JoinQueue(r.Context(), by, httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "queue", "See the next available clinician", patientQueueData{}, err)
	}
	return goTo("/patient/queue")
}

func (u *UI) leaveQueue(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "queue.leave", s.Subject.PatientID, "/patient/queue")
	if err != nil {
		return err
	}
	if err := u.d.Visits.LeaveQueue(r.Context(), by, httpx.Origin(r)); err != nil && !isNotFound(err) {
		return httpx.FromDomain(err)
	}
	return goTo("/patient/queue?done=left")
}

// ---- the clinician's calendar, hours and queue ----

// calendarDay is one day of a clinician's calendar.
type calendarDay struct {
	Key          string
	At           time.Time // noon, for the day's name
	Today        bool
	Appointments []visits.Appointment
}

type scheduleData struct {
	Week     bool
	Days     []calendarDay
	Prev     string // the previous day or week
	Next     string
	Today    string
	Date     string // the day shown (or the week's first day)
	Waiting  []visits.Waiting
	Queue    int // patients waiting for any clinician
	NowShown time.Time
}

// WaitingNow counts the patients checked in and not yet seen.
func (d scheduleData) WaitingNow() int {
	n := 0
	for _, w := range d.Waiting {
		if w.State == visits.StateWaiting {
			n++
		}
	}
	return n
}

// calendar reads by's appointments for the day (or the week from Monday) of ?date= in the
// reader's zone.
func (u *UI) calendar(r *http.Request, by principal.Subject, week bool) (scheduleData, error) {
	loc := u.zoneOf(r)
	today := dayStart(u.now(), loc)
	day := today
	if t, ok := parseDay(r.URL.Query().Get("date"), loc); ok {
		day = t
	}
	n := 1
	if week {
		n = 7
		day = nextDay(day, -((int(day.Weekday()) + 6) % 7)) // back to Monday
	}
	d := scheduleData{Week: week, Date: day.Format(time.DateOnly), Today: today.Format(time.DateOnly),
		Prev: nextDay(day, -n).Format(time.DateOnly), Next: nextDay(day, n).Format(time.DateOnly), NowShown: u.now()}
	as, err := u.appointments(r, by, day, nextDay(day, n))
	if err != nil {
		return d, err
	}
	for i := range n {
		start := nextDay(day, i)
		cd := calendarDay{Key: start.Format(time.DateOnly), At: start.Add(12 * time.Hour), Today: start.Equal(today)}
		end := nextDay(day, i+1)
		for _, a := range as {
			if !a.Start.Before(start) && a.Start.Before(end) {
				cd.Appointments = append(cd.Appointments, a)
			}
		}
		d.Days = append(d.Days, cd)
	}
	return d, nil
}

func (u *UI) clinicianSchedule(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "appointment.list", "", "/clinician/schedule")
	if err != nil {
		return err
	}
	if by.Role != principal.Clinician {
		return httpx.ErrForbidden
	}
	d, err := u.calendar(r, by, r.URL.Query().Get("view") == "week")
	if err != nil {
		return err
	}
	if d.Waiting, err = u.d.Visits.WaitingRoom(r.Context(), by, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	if q, err := u.d.Visits.Queue(r.Context(), by, httpx.Origin(r)); err == nil {
		d.Queue = len(q)
	} else {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "schedule", page{Title: "Schedule", Data: d,
		Live: &liveView{Events: "/api/v1/waiting-room/events", Poll: 60}})
}

// ---- availability ----

// weekdays are the API's day names in the order a week is shown.
var weekdays = []struct{ Key, Name string }{
	{"mon", "Monday"}, {"tue", "Tuesday"}, {"wed", "Wednesday"}, {"thu", "Thursday"}, {"fri", "Friday"}, {"sat", "Saturday"}, {"sun", "Sunday"},
}

// dayHours is one weekday's ranges on the editor, with one empty range to add another.
type dayHours struct {
	Key, Name string
	Ranges    []visits.Hours
}

type availabilityData struct {
	ClinicianID   string
	ClinicianName string // the front desk edits someone else's
	Own           bool
	Action        string
	A             visits.Availability
	Days          []dayHours
	Exceptions    []visits.Exception // with one empty row to add one
	Saved         bool
	Back          string
}

// availabilityForm lays out a for the editor.
func availabilityForm(a visits.Availability, zone string) availabilityData {
	if a.TimeZone == "" {
		a.TimeZone = zone
	}
	if a.SlotMinutes == 0 {
		a.SlotMinutes = 20
	}
	d := availabilityData{A: a}
	for _, wd := range weekdays {
		dh := dayHours{Key: wd.Key, Name: wd.Name}
		for _, h := range a.Weekly {
			if h.Day == wd.Key {
				dh.Ranges = append(dh.Ranges, h)
			}
		}
		dh.Ranges = append(dh.Ranges, visits.Hours{Day: wd.Key})
		d.Days = append(d.Days, dh)
	}
	d.Exceptions = append(slices.Clone(a.Exceptions), visits.Exception{Kind: visits.ExceptionOff})
	return d
}

// readAvailability reads the editor's form.
func readAvailability(r *http.Request) (visits.Availability, error) {
	if err := r.ParseForm(); err != nil {
		return visits.Availability{}, httpx.Errorf(http.StatusBadRequest, "the form could not be read; try again")
	}
	f := r.PostForm
	a := visits.Availability{TimeZone: strings.TrimSpace(f.Get("timeZone")), AcceptsNewPatients: f.Get("acceptsNewPatients") == "yes"}
	var err error
	if a.SlotMinutes, err = atoiField(f.Get("slotMinutes"), "slotMinutes"); err != nil {
		return a, err
	}
	if b := strings.TrimSpace(f.Get("bufferMinutes")); b != "" {
		if a.BufferMinutes, err = atoiField(b, "bufferMinutes"); err != nil {
			return a, err
		}
	}
	for _, wd := range weekdays {
		starts, ends := f[wd.Key+"-start"], f[wd.Key+"-end"]
		for i := range max(len(starts), len(ends)) {
			s, e := at(starts, i), at(ends, i)
			if s == "" && e == "" {
				continue
			}
			if s == "" || e == "" {
				return a, invalidField("weekly", wd.Name+": give both the start and the end of each range of hours, or leave both empty")
			}
			a.Weekly = append(a.Weekly, visits.Hours{Day: wd.Key, Start: s, End: e})
		}
	}
	remove := map[string]bool{}
	for _, i := range f["exc-remove"] {
		remove[i] = true
	}
	kinds := f["exc-kind"]
	for i := range kinds {
		if remove[fmt.Sprint(i)] {
			continue
		}
		ex := visits.Exception{Kind: kinds[i], Date: at(f["exc-date"], i), Until: at(f["exc-until"], i), Start: at(f["exc-start"], i), End: at(f["exc-end"], i)}
		if ex.Date == "" {
			continue // the empty row for a new exception
		}
		a.Exceptions = append(a.Exceptions, ex)
	}
	return a, nil
}

func at(vs []string, i int) string {
	if i < len(vs) {
		return strings.TrimSpace(vs[i])
	}
	return ""
}

func (u *UI) ownAvailability(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Clinician)
	if err != nil {
		return err
	}
	return u.availabilityPage(w, r, s.Subject, s.Subject.AccountID, "")
}

func (u *UI) setOwnAvailability(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Clinician)
	if err != nil {
		return err
	}
	return u.saveAvailability(w, r, s.Subject, s.Subject.AccountID, "")
}

// availabilityPage shows the editor for clinicianID (named name when it is not the reader).
func (u *UI) availabilityPage(w http.ResponseWriter, r *http.Request, by principal.Subject, clinicianID, name string) error {
	a, err := u.d.Visits.Availability(r.Context(), by, clinicianID, httpx.Origin(r))
	if err != nil && !isNotFound(err) {
		return httpx.FromDomain(err)
	}
	d := u.availabilityData(r, by, a, clinicianID, name)
	d.Saved = r.URL.Query().Get("done") == "saved"
	return u.render(w, r, http.StatusOK, "availability", page{Title: availabilityTitle(name), Data: d})
}

func availabilityTitle(name string) string {
	if name != "" {
		return "Hours of " + name
	}
	return "My hours"
}

func (u *UI) availabilityData(r *http.Request, by principal.Subject, a visits.Availability, clinicianID, name string) availabilityData {
	d := availabilityForm(a, u.zoneOf(r).String())
	d.ClinicianID, d.ClinicianName, d.Own = clinicianID, name, clinicianID == by.AccountID
	d.Action, d.Back = "/clinician/availability", "/clinician/schedule"
	if !d.Own {
		d.Action, d.Back = "/frontdesk/clinicians/"+url.PathEscape(clinicianID)+"/availability", "/frontdesk/clinicians"
	}
	return d
}

func (u *UI) saveAvailability(w http.ResponseWriter, r *http.Request, by principal.Subject, clinicianID, name string) error {
	a, err := readAvailability(r)
	if err == nil {
		err = u.d.Visits.SetAvailability(r.Context(), by, clinicianID, a, httpx.Origin(r))
	}
	if err != nil {
		d := u.availabilityData(r, by, a, clinicianID, name)
		return u.formPage(w, r, "availability", availabilityTitle(name), d, err)
	}
	d := u.availabilityData(r, by, a, clinicianID, name)
	return goTo(d.Action + "?done=saved")
}

// ---- the on-demand queue, for a clinician ----

type clinicianQueueData struct {
	Queue []visits.Waiting
}

func (u *UI) clinicianQueue(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "queue.read", "", "/clinician/queue")
	if err != nil {
		return err
	}
	if by.Role != principal.Clinician {
		return httpx.ErrForbidden
	}
	q, err := u.d.Visits.Queue(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "clinicianqueue", page{Title: "On-demand queue", Data: clinicianQueueData{Queue: q},
		Live: &liveView{Events: "/api/v1/waiting-room/events", Poll: 15}})
}

func (u *UI) takeNext(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "queue.take", "", "/clinician/queue")
	if err != nil {
		return err
	}
	v, err := u.d.Visits.TakeNext(r.Context(), by, httpx.Origin(r))
	if err != nil {
		q, qerr := u.d.Visits.Queue(r.Context(), by, httpx.Origin(r))
		if qerr != nil {
			return httpx.FromDomain(qerr)
		}
		return u.formPage(w, r, "clinicianqueue", "On-demand queue", clinicianQueueData{Queue: q}, err)
	}
	return goTo("/visits/" + url.PathEscape(v.ID))
}

// ---- the private calendar feed, on the account page ----

func (u *UI) newCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Clinician)
	if err != nil {
		return err
	}
	feed, err := u.d.Visits.NewCalendarFeed(r.Context(), s.Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d, err := u.accountData(r, s)
	if err != nil {
		return err
	}
	d.FeedURL = feed
	return u.render(w, r, http.StatusOK, "account", page{Title: accountTitle, Data: d})
}

func (u *UI) revokeCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Clinician)
	if err != nil {
		return err
	}
	if err := u.d.Visits.RevokeCalendarFeed(r.Context(), s.Subject, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return goTo("/account?done=feed-revoked")
}
