package visits

import (
	"context"
	"fmt"
	"slices"
	"time"

	"haven/internal/access"
	"haven/internal/store"
)

// AppointmentCare answers the policy's care question from appointments (access.Relationships):
// a clinician booked with a patient cares for them from the booking until CareDays after the
// appointment's end, unless it was cancelled. The reason is access.ReasonAppointment. It is read
// from the database on every decision, never cached, so a cancellation or the end of the
// window takes effect on the next request.
type AppointmentCare struct {
	DB       *store.DB
	CareDays int
	Now      func() time.Time
}

const (
	appointmentCare = `SELECT COUNT(*) FROM appointments
		WHERE clinician_id = $1 AND patient_id = $2 AND state <> 'cancelled' AND booked_at <= $3 AND end_at >= $4`
	appointmentCareIn = `SELECT DISTINCT patient_id FROM appointments
		WHERE clinician_id = $1 AND state <> 'cancelled' AND booked_at <= $2 AND end_at >= $3 AND patient_id IN `
)

// window returns now and the earliest appointment end still inside the window.
func (c AppointmentCare) window() (now, since int64) {
	t := c.Now()
	return t.UnixNano(), t.Add(-time.Duration(c.CareDays) * 24 * time.Hour).UnixNano()
}

// CareRelation reports access.ReasonAppointment if the clinician has a live appointment
// relationship with the patient.
func (c AppointmentCare) CareRelation(ctx context.Context, clinicianID, patientID string) (string, error) {
	now, since := c.window()
	var n int
	if err := c.DB.QueryRowPrepared(ctx, appointmentCare, clinicianID, patientID, now, since).Scan(&n); err != nil {
		return "", fmt.Errorf("visits: appointment care: %w", err)
	}
	if n > 0 {
		return access.ReasonAppointment, nil
	}
	return "", nil
}

// CareRelationMany is CareRelation for many patients, in one query per store.MaxInList.
func (c AppointmentCare) CareRelationMany(ctx context.Context, clinicianID string, patientIDs []string) (map[string]string, error) {
	uniq := slices.Compact(slices.Sorted(slices.Values(patientIDs)))
	now, since := c.window()
	out := make(map[string]string, len(uniq))
	for chunk := range slices.Chunk(uniq, store.MaxInList) {
		list, args := store.InList(4, chunk)
		rows, err := c.DB.QueryPrepared(ctx, appointmentCareIn+list, append([]any{clinicianID, now, since}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("visits: appointment care: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("visits: appointment care: %w", err)
			}
			out[id] = access.ReasonAppointment
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("visits: appointment care: %w", err)
		}
	}
	return out, nil
}

// GuestOf reports whether a guest account was invited to the visit and the invitation has
// not expired (access.Guests).
func (c AppointmentCare) GuestOf(ctx context.Context, guestAccountID, visitID string) (bool, error) {
	var n int
	err := c.DB.QueryRowPrepared(ctx, `SELECT COUNT(*) FROM visit_guests WHERE account_id = $1 AND appointment_id = $2 AND expires_at > $3`,
		guestAccountID, visitID, c.Now().UnixNano()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("visits: guest: %w", err)
	}
	return n > 0, nil
}
