package visits

import (
	"context"
	"strings"
	"testing"
	"time"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestClaimReminder: a reminder is claimed once for a start, by whoever inserts first; a claim
// for an earlier start (the appointment moved) is taken over once; a given-back claim can be
// claimed again.
func TestClaimReminder(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ('clin-1', 'clinician', 'active', $1, 0)`,
			`INSERT INTO patients (id, name_ct, birth_date_ct, phone_ct, email_ct, name_bidx, birth_date_bidx, phone_bidx, email_bidx, created_by, created_at)
				VALUES ('pat-1', $1, $1, $1, $1, $1, $1, $1, $1, 'clin-1', 0)`,
			`INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
				VALUES ('appt-1', 'clin-1', 'pat-1', 'scheduled', 'booked', 100, 200, 'clin-1', 0)`,
		} {
			var args []any
			if strings.Contains(q, "$1") {
				args = append(args, []byte("x"))
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s := &Service{db: db}
		now := time.Unix(0, 50)
		d := dueReminder{id: "appt-1", kind: ReminderDay, start: time.Unix(0, 100)}
		moved := d
		moved.start = time.Unix(0, 150)
		for i, step := range []struct {
			name string
			d    dueReminder
			want bool
		}{
			{"first claim", d, true},
			{"the same start again", d, false},
			{"the other kind", dueReminder{id: "appt-1", kind: ReminderHour, start: d.start}, true},
			{"moved", moved, true},
			{"moved, again", moved, false},
			{"back to the first start", d, true},
		} {
			got, err := s.claimReminder(ctx, step.d, now.Add(time.Duration(i)))
			if err != nil || got != step.want {
				t.Fatalf("%s: claimReminder = %v, %v; want %v", step.name, got, err, step.want)
			}
		}
		if _, err := db.ExecContext(ctx, releaseReminder, d.id, d.kind, d.start.UnixNano(), now.Add(5).UnixNano()); err != nil {
			t.Fatal(err)
		}
		if got, err := s.claimReminder(ctx, d, now.Add(6)); err != nil || !got {
			t.Fatalf("after giving it back: claimReminder = %v, %v; want true", got, err)
		}
	})
}
