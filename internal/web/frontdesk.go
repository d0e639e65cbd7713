package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/visits"
)

// The front desk's pages: the clinic's day across clinicians, who is waiting (names only), finding
// a patient and booking for them, cancelling, marking a missed appointment, and setting a
// clinician's hours. The front desk sees names, contact details and times, never notes, intake
// answers or other clinical content: the services decide that, and these pages ask for nothing
// more.

func (u *UI) frontDeskRoutes() []route {
	return []route{
		{"GET /frontdesk", u.frontDesk},
		{"POST /frontdesk/search", u.frontDeskSearch},
		{"GET /frontdesk/book", u.frontDeskBook},
		{"GET /frontdesk/book/confirm", u.frontDeskBookConfirm},
		{"POST /frontdesk/appointments", u.frontDeskBookPost},
		{"GET /frontdesk/appointments/{id}/cancel", u.frontDeskCancelForm},
		{"POST /frontdesk/appointments/{id}/cancel", u.frontDeskCancel},
		{"GET /frontdesk/appointments/{id}/no-show", u.frontDeskNoShowForm},
		{"POST /frontdesk/appointments/{id}/no-show", u.frontDeskNoShow},
		{"GET /frontdesk/clinicians", u.frontDeskClinicians},
		{"GET /frontdesk/clinicians/{id}/availability", u.frontDeskAvailability},
		{"POST /frontdesk/clinicians/{id}/availability", u.frontDeskSetAvailability},
	}
}

// clinicianDay is one clinician's appointments on the clinic's day.
type clinicianDay struct {
	ClinicianID, Name string
	Appointments      []visits.Appointment
}

type frontDeskData struct {
	Date, Prev, Next, Today string
	At                      time.Time // noon of the day shown, for its name
	Columns                 []clinicianDay
	Waiting                 []visits.Waiting
	Search                  *searchData
	Done                    string
	Now                     time.Time
}

// frontDeskNotices are what ?done= may say on the clinic's day.
var frontDeskNotices = map[string]string{
	"booked":    "The appointment is booked. The patient will get a reminder a day and an hour before.",
	"cancelled": "The appointment is cancelled. The time is free to book again.",
	"no-show":   "The appointment is marked as missed.",
}

func (u *UI) frontDeskData(r *http.Request, by principal.Subject) (frontDeskData, error) {
	loc := u.zoneOf(r)
	today := dayStart(u.now(), loc)
	day := today
	if t, ok := parseDay(r.URL.Query().Get("date"), loc); ok {
		day = t
	}
	d := frontDeskData{Date: day.Format(time.DateOnly), Today: today.Format(time.DateOnly), At: day.Add(12 * time.Hour),
		Prev: nextDay(day, -1).Format(time.DateOnly), Next: nextDay(day, 1).Format(time.DateOnly), Now: u.now()}
	cs, err := u.d.Visits.Clinicians(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return d, httpx.FromDomain(err)
	}
	as, err := u.appointments(r, by, day, nextDay(day, 1))
	if err != nil {
		return d, err
	}
	index := map[string]int{}
	for _, c := range cs {
		index[c.ID] = len(d.Columns)
		d.Columns = append(d.Columns, clinicianDay{ClinicianID: c.ID, Name: c.Name})
	}
	for _, a := range as {
		i, ok := index[a.ClinicianID]
		if !ok {
			index[a.ClinicianID] = len(d.Columns)
			i = len(d.Columns)
			d.Columns = append(d.Columns, clinicianDay{ClinicianID: a.ClinicianID, Name: a.ClinicianName})
		}
		d.Columns[i].Appointments = append(d.Columns[i].Appointments, a)
	}
	if d.Waiting, err = u.d.Visits.WaitingRoom(r.Context(), by, httpx.Origin(r)); err != nil {
		return d, httpx.FromDomain(err)
	}
	return d, nil
}

// frontDeskLive follows the waiting room and the day's changes.
func frontDeskLive() *liveView {
	return &liveView{Events: "/api/v1/waiting-room/events", Poll: 60, Src: "/frontdesk"}
}

func (u *UI) frontDesk(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "appointment.list", "", "/frontdesk")
	if err != nil {
		return err
	}
	if by.Role != principal.FrontDesk {
		return httpx.ErrForbidden
	}
	d, err := u.frontDeskData(r, by)
	if err != nil {
		return err
	}
	d.Done = frontDeskNotices[r.URL.Query().Get("done")]
	live := frontDeskLive()
	live.Src = "" // the page's own address, with its date
	return u.render(w, r, http.StatusOK, "frontdesk", page{Title: "Clinic day", Data: d, Live: live})
}

// frontDeskSearch is a POST, so that what is typed (PHI) stays out of URLs and logs.
func (u *UI) frontDeskSearch(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "patient.search", "", "/frontdesk")
	if err != nil {
		return err
	}
	if by.Role != principal.FrontDesk {
		return httpx.ErrForbidden
	}
	sd := &searchData{Query: r.PostFormValue("q")}
	results, serr := u.d.Records.Search(r.Context(), by, clinical.SearchKind(""), sd.Query, httpx.Origin(r))
	d, err := u.frontDeskData(r, by)
	if err != nil {
		return err
	}
	d.Search = sd
	if serr != nil {
		if strings.TrimSpace(sd.Query) == "" {
			serr = errEmptySearch
		}
		return u.formPage(w, r, "frontdesk", "Clinic day", d, serr)
	}
	sd.Results = results
	return u.render(w, r, http.StatusOK, "frontdesk", page{Title: "Clinic day", Data: d, Live: frontDeskLive()})
}

// frontDeskFlow is the front desk's booking flow for the patient ?patient= names, whose name
// (their demographics, never clinical content) each step shows.
func (u *UI) frontDeskFlow(r *http.Request, by principal.Subject) (bookData, error) {
	patient := r.URL.Query().Get("patient")
	if r.Method == http.MethodPost {
		patient = r.PostFormValue("patient")
	}
	if patient == "" {
		return bookData{}, goTo("/frontdesk")
	}
	p, err := u.d.Records.Demographics(r.Context(), by, patient, httpx.Origin(r))
	if err != nil {
		return bookData{}, httpx.FromDomain(err)
	}
	return bookData{For: p.Name, ForBorn: p.BirthDate, Flow: bookFlow{Base: "/frontdesk/book", Confirm: "/frontdesk/book/confirm", Cancel: "/frontdesk",
		Carry: []formField{{"patient", patient}}}}, nil
}

func (u *UI) frontDeskBook(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.FrontDesk)
	if err != nil {
		return err
	}
	d, err := u.frontDeskFlow(r, by)
	if err != nil {
		return err
	}
	if d, err = u.bookStep(r, by, d); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "book", page{Title: bookTitle(d), Error: takenMeanwhile(r), Data: d})
}

func (u *UI) frontDeskBookConfirm(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.FrontDesk)
	if err != nil {
		return err
	}
	d, err := u.frontDeskFlow(r, by)
	if err != nil {
		return err
	}
	if d, err = u.confirmStep(r, by, d, "/frontdesk/appointments"); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "bookconfirm", page{Title: "Check and confirm", Data: d})
}

func (u *UI) frontDeskBookPost(w http.ResponseWriter, r *http.Request) error {
	if _, err := signedIn(r, principal.FrontDesk); err != nil {
		return err
	}
	by, err := u.admit(r, "appointment.book", "", "/frontdesk")
	if err != nil {
		return err
	}
	d, err := u.frontDeskFlow(r, by)
	if err != nil {
		return err
	}
	start, perr := time.Parse(time.RFC3339, r.PostFormValue("start"))
	if perr != nil {
		return goTo("/frontdesk")
	}
	a, err := u.d.Visits.Book(r.Context(), by, visits.Booking{ClinicianID: r.PostFormValue("clinician"), PatientID: r.PostFormValue("patient"), Start: start}, httpx.Origin(r))
	if err != nil {
		return u.bookingFailed(w, r, by, d, start, err)
	}
	return goTo("/frontdesk?done=booked&date=" + a.Start.In(u.zoneOf(r)).Format(time.DateOnly))
}

// frontDeskAppointment finds the appointment in the path on the day ?date= names (the day the
// desk was looking at), or in the weeks around today.
func (u *UI) frontDeskAppointment(r *http.Request, by principal.Subject) (visits.Appointment, string, error) {
	loc := u.zoneOf(r)
	date := r.URL.Query().Get("date")
	if r.Method == http.MethodPost {
		date = r.PostFormValue("date")
	}
	from, to := u.now().Add(-maxWindow), u.now().Add(maxWindow)
	if t, ok := parseDay(date, loc); ok {
		from, to = nextDay(t, -1), nextDay(t, 2)
	}
	as, err := u.appointments(r, by, from, to)
	if err != nil {
		return visits.Appointment{}, "", err
	}
	for _, a := range as {
		if a.ID == r.PathValue("id") {
			return a, a.Start.In(loc).Format(time.DateOnly), nil
		}
	}
	return visits.Appointment{}, "", httpx.ErrNotFound
}

// frontDeskConfirm asks before cancelling or marking as missed.
func (u *UI) frontDeskConfirm(w http.ResponseWriter, r *http.Request, noShow bool, status int, err error) error {
	by, serr := signedIn(r, principal.FrontDesk)
	if serr != nil {
		return serr
	}
	a, day, ferr := u.frontDeskAppointment(r, by)
	if ferr != nil {
		return ferr
	}
	act, title := "cancel", "Cancel this appointment?"
	if noShow {
		act, title = "no-show", "Mark this appointment as missed?"
	}
	d := cancelData{Appointment: a, NoShow: noShow, Back: "/frontdesk?date=" + day,
		Action: "/frontdesk/appointments/" + url.PathEscape(a.ID) + "/" + act}
	if err != nil {
		return u.formPage(w, r, "cancel", title, d, err)
	}
	return u.render(w, r, status, "cancel", page{Title: title, Data: d})
}

func (u *UI) frontDeskCancelForm(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskConfirm(w, r, false, http.StatusOK, nil)
}

func (u *UI) frontDeskNoShowForm(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskConfirm(w, r, true, http.StatusOK, nil)
}

func (u *UI) frontDeskCancel(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskAct(w, r, "appointment.cancel", false, "cancelled", u.d.Visits.Cancel)
}

func (u *UI) frontDeskNoShow(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskAct(w, r, "appointment.no-show", true, "no-show", u.d.Visits.MarkNoShow)
}

// frontDeskAct cancels or marks as missed the appointment in the path, then shows its day.
func (u *UI) frontDeskAct(w http.ResponseWriter, r *http.Request, action string, noShow bool, done string,
	do func(ctx context.Context, by principal.Subject, id string, o principal.Origin) error) error {
	if _, err := signedIn(r, principal.FrontDesk); err != nil {
		return err
	}
	by, err := u.admit(r, action, "", "/frontdesk")
	if err != nil {
		return err
	}
	if err := do(r.Context(), by, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return u.frontDeskConfirm(w, r, noShow, http.StatusUnprocessableEntity, err)
	}
	q := url.Values{"done": {done}}
	if date := r.PostFormValue("date"); date != "" {
		q.Set("date", date)
	}
	return goTo("/frontdesk?" + q.Encode())
}

// ---- clinicians' hours ----

type cliniciansData struct {
	Clinicians []visits.Clinician
}

func (u *UI) frontDeskClinicians(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.FrontDesk)
	if err != nil {
		return err
	}
	cs, err := u.d.Visits.Clinicians(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "clinicians", page{Title: "Clinicians' hours", Data: cliniciansData{Clinicians: cs}})
}

// clinicianName names the clinician in the path, for the front desk's editor.
func (u *UI) clinicianName(r *http.Request, by principal.Subject) (string, error) {
	cs, err := u.d.Visits.Clinicians(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return "", httpx.FromDomain(err)
	}
	for _, c := range cs {
		if c.ID == r.PathValue("id") {
			return c.Name, nil
		}
	}
	return "", httpx.ErrNotFound
}

func (u *UI) frontDeskAvailability(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskHours(w, r, u.availabilityPage)
}

func (u *UI) frontDeskSetAvailability(w http.ResponseWriter, r *http.Request) error {
	return u.frontDeskHours(w, r, u.saveAvailability)
}

// frontDeskHours admits the front desk to a clinician's hours, then shows or saves them (then).
func (u *UI) frontDeskHours(w http.ResponseWriter, r *http.Request, then func(http.ResponseWriter, *http.Request, principal.Subject, string, string) error) error {
	by, err := u.admit(r, "availability.set", "", "/frontdesk/clinicians")
	if err != nil {
		return err
	}
	if by.Role != principal.FrontDesk {
		return httpx.ErrForbidden
	}
	name, err := u.clinicianName(r, by)
	if err != nil {
		return err
	}
	return then(w, r, by, r.PathValue("id"), name)
}
