package web

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"haven/internal/fault"
	"haven/internal/httpx"
)

// What a person reads when something goes wrong. The domain's messages are written for people
// but name a field as the API does ("birthDate") and end in markers for API clients
// ("(step-up)"); the page says the field's label instead, as a sentence.

// fieldLabels names the fields of Haven's forms as their labels do. A field not listed is not
// named at all: its message says what to enter (the search box's, q, says so on its own).
var fieldLabels = map[string]string{
	"name":        "Name",
	"birthDate":   "Date of birth",
	"phone":       "Phone",
	"email":       "E-mail address",
	"by":          "Search",
	"body":        "Note",
	"from":        "From",
	"to":          "To",
	"patientId":   "Patient",
	"clinicianId": "Clinician",
	// Scheduling and visits.
	"timeZone":      "Time zone",
	"slotMinutes":   "Appointment length",
	"bufferMinutes": "Break between appointments",
	"weekly":        "Weekly hours",
	"exceptions":    "Time off and extra hours",
	"start":         "Time",
	"reason":        "Reason for the visit",
	"symptoms":      "Symptoms",
	"medications":   "Current medicines",
	"questions":     "Questions",
	"summary":       "Summary",
	"relation":      "Who they are",
	"followUp":      "Follow-up",
	"version":       "Consent",
	// Billing.
	"procedureCodes": "Procedure codes",
	"diagnosisCodes": "Diagnosis codes",
}

// inWords is the message a person reads for err, which he (err mapped by httpx.FromDomain)
// answers: the domain's own message, with the field's label in front of it for a field that
// failed validation, written as a sentence.
func inWords(err error, he *httpx.Error) string {
	msg := he.Message
	if fe := fault.As(err); fe != nil {
		msg = fe.Message
		if label := fieldLabels[fe.Field]; fe.Kind == fault.Invalid && label != "" {
			msg = label + ": " + msg
		}
	}
	return sentence(msg)
}

// sentence starts msg with a capital letter and ends it with a full stop.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}

// formError returns the message to show beside a form for a domain error the user can fix (bad
// input, wrong credentials, a used link), or the error to answer with otherwise.
func formError(err error) (string, error) {
	var he *httpx.Error
	if errors.As(httpx.FromDomain(err), &he) {
		switch he.Status {
		case http.StatusUnauthorized, http.StatusConflict, http.StatusGone, http.StatusUnprocessableEntity, http.StatusTooManyRequests:
			return inWords(err, he), nil
		}
		return "", he
	}
	return "", err
}

// errorData is what an error page says beyond the message: what to do next, the way back, and
// for a fault on Haven's side the reference that finds it in the server's log.
type errorData struct {
	Next      string
	Home      string // where the link back goes
	HomeLabel string
	Reference string // the request id; only for 5xx, where someone may need to trace it
}

// errorPage is the heading and the rest of the page for an error of status.
func errorPage(status int, requestID string) (string, errorData) {
	d := errorData{Home: "/", HomeLabel: "Go to your start page"}
	var title string
	switch status {
	case http.StatusUnauthorized:
		title, d.Next = "Sign in to continue", "Your session may have ended. Sign in again to carry on where you were."
		d.Home, d.HomeLabel = "/login", "Go to the sign-in page"
	case http.StatusForbidden:
		title, d.Next = "You do not have access to this", "Your account cannot open this page or do this. If you need it for your work, ask your administrator."
	case http.StatusNotFound:
		title, d.Next = "Page not found", "The address may be mistyped, or what it pointed to no longer exists. Check the address, or start again from your start page."
	case http.StatusGone:
		title, d.Next = "This link no longer works", "Links like this work once and for a limited time. Ask whoever gave it to you for a new one."
	case http.StatusConflict:
		title, d.Next = "This cannot be done now", "Something changed since the page was opened. Go back, reload the page and try again."
	case http.StatusTooManyRequests:
		title, d.Next = "Too many attempts", "Wait a little, then try again."
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		title, d.Next = "Something needs correcting", "Go back, correct what the message says and try again."
	default:
		title, d.Next = "Something went wrong", "Try again in a moment. If it keeps happening, give your administrator the reference below."
		if status == http.StatusServiceUnavailable {
			title = "Haven cannot do this right now"
		}
		d.Reference = requestID
	}
	return title, d
}
