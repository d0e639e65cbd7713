package web

import (
	"net/http"
	"time"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

// accountDevice is one of the person's devices in the key directory, as the account page shows
// it: the devices whose keys encrypted visits and secure messages are sealed to.
type accountDevice struct {
	ID      string
	Label   string
	AddedAt time.Time
}

// myDevices lists the signed-in person's current devices, oldest first as the directory adds
// them.
func (u *UI) myDevices(r *http.Request, by principal.Subject) ([]accountDevice, error) {
	ds, err := u.d.Consult.MyDevices(r.Context(), by)
	if err != nil {
		return nil, err
	}
	out := make([]accountDevice, 0, len(ds))
	for _, d := range ds {
		added, _ := time.Parse(time.RFC3339, d.AddedAt) // the service writes it; zero shows as unknown
		label := d.Label
		if label == "" {
			label = "A browser"
		}
		out = append(out, accountDevice{ID: d.DeviceID, Label: label, AddedAt: added})
	}
	return out, nil
}

// removeDeviceData is the confirmation page's: the device that would be removed.
type removeDeviceData struct{ Device accountDevice }

// removeDevice takes one of the person's own devices out of the key directory through the
// consult service, which asks the door and writes the key-transparency leaf; another person's
// device is refused there. The account page's button sends the form without the confirmation's
// answer, which shows the confirmation page first: removing changes the safety number the
// others have with this person, and cannot be undone except by using the device again. No
// step-up: the JSON API removes a device with the session alone, and the page can be no
// stricter than the API that does the same.
func (u *UI) removeDevice(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	if r.PostFormValue("confirm") != "yes" {
		ds, err := u.myDevices(r, s.Subject)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.ID == r.PathValue("id") {
				return u.render(w, r, http.StatusOK, "removedevice", page{Title: "Remove “" + d.Label + "”?", Data: removeDeviceData{Device: d}})
			}
		}
		return httpx.ErrNotFound
	}
	return u.accountAct(w, r, false, func(s *identity.Session) (string, error) {
		return "device-removed", u.d.Consult.RemoveDevice(r.Context(), s.Subject, r.PathValue("id"), httpx.Origin(r))
	})
}
