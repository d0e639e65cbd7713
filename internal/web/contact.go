package web

import (
	"net/http"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

// The patient's contact details: the phone number and e-mail address on their record, which
// they change themselves. The form posts, then the page reads the record again (?done= names
// what happened), so a reload never sends the change twice.

type contactData struct {
	Contact clinical.Contact
	// ByPhone: the record has no e-mail address, so the patient signs in with the number.
	ByPhone bool
	MailOn  bool // a new address waits for the link sent to it
	Done    string
}

// contactNotices are the confirmations ?done= may ask the contact page to show.
var contactNotices = map[string]string{
	string(identity.EmailUnchanged):        "Your contact details are saved.",
	string(identity.EmailChanged):          "Your contact details are saved. Sign in with your new e-mail address from now on.",
	string(identity.EmailConfirmationSent): "We sent a link to your new e-mail address. It becomes your address when you open the link, within 30 minutes; until then nothing else changes about how you sign in.",
}

const contactTitle = "Your contact details"

func (u *UI) contactForm(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	rec, err := u.d.Records.Get(r.Context(), s.Subject, s.Subject.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := u.contactData(clinical.Contact{Phone: rec.Patient.Phone, Email: rec.Patient.Email})
	d.Done = contactNotices[r.URL.Query().Get("done")]
	return u.render(w, r, http.StatusOK, "contact", page{Title: contactTitle, Data: d})
}

func (u *UI) contactData(c clinical.Contact) contactData {
	return contactData{Contact: c, ByPhone: c.Email == "", MailOn: u.d.Identity.MailOn()}
}

// updateContact saves the patient's phone number and e-mail address; a refusal is shown beside
// the form with what was typed.
func (u *UI) updateContact(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	in := clinical.Contact{Phone: r.PostFormValue("phone"), Email: r.PostFormValue("email")}
	done, err := u.d.Records.UpdateContact(r.Context(), s.Subject, s.Subject.PatientID, in, httpx.Origin(r))
	if fault.Is(err, fault.StepUpRequired) {
		return stepUpFirst("/patient/contact")
	}
	if err != nil {
		d := u.contactData(in)
		d.ByPhone = r.PostFormValue("by-phone") == "1"
		return u.formPage(w, r, "contact", contactTitle, d, err)
	}
	return goTo("/patient/contact?done=" + string(done.EmailChange))
}
