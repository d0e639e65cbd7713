package visits_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// TestConsentHistory: every acceptance is kept, newest first, each with its own version's
// words; only the one of the text in force is current. Another patient is refused.
func TestConsentHistory(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		other := h.patient("Bo Reed", "bo@example.test")
		if sts, err := h.svc.ConsentHistory(ctx, p, p.PatientID, origin); err != nil || len(sts) != 0 {
			t.Fatalf("history before accepting = %+v, %v", sts, err)
		}
		first := h.svc.CurrentConsent()
		h.accept(p)
		h.clock.Advance(time.Hour)
		newer := h.withService(func(c *visits.Config) {
			c.ConsentTexts = map[string]string{"2027-03": "Synthetic new consent text."}
		})
		if err := newer.AcceptConsent(ctx, p, p.PatientID, "2027-03", origin); err != nil {
			t.Fatal(err)
		}
		sts, err := newer.ConsentHistory(ctx, p, p.PatientID, origin)
		if err != nil || len(sts) != 2 {
			t.Fatalf("history = %+v, %v", sts, err)
		}
		if sts[0].Version != "2027-03" || !sts[0].Current || sts[0].Text != "Synthetic new consent text." ||
			sts[1].Version != first.Version || sts[1].Current || sts[1].Text != first.Text || !sts[1].AcceptedAt.Before(sts[0].AcceptedAt) {
			t.Fatalf("history = %+v", sts)
		}
		if _, err := newer.ConsentHistory(ctx, other, p.PatientID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("another patient's history = %v, want refused", err)
		}
	})
}
