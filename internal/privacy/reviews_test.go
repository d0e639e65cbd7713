package privacy_test

import (
	"context"
	"sync"
	"testing"

	"haven/internal/access"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestReportTwelveTimesOpensOneReview: a patient who reports the same access twelve times at
// once (an impatient double click, a retrying phone) gets twelve successes and the privacy
// officer one review, not twelve.
func TestReportTwelveTimesOpensOneReview(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		seq := h.opened(patientA)
		other := h.opened(patientA)

		const reports = 12
		errs := make([]error, reports)
		var wg sync.WaitGroup
		for i := range reports {
			wg.Go(func() { errs[i] = h.svc.Report(ctx, patient(patientA), seq, origin()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("report %d of the same entry: %v, want success", i+1, err)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_reviews WHERE entry_seq = $1`, seq); n != 1 {
			t.Fatalf("%d concurrent reports stored %d reviews, want 1", reports, n)
		}
		reviews, err := h.svc.OpenReviews(ctx, staff(access.Auditor), origin())
		if err != nil {
			t.Fatal(err)
		}
		if len(reviews) != 1 || reviews[0].Entry.Seq != seq {
			t.Fatalf("open reviews = %+v, want one for entry %d", reviews, seq)
		}
		first := reviews[0].ID

		// Reported again later: still the same one review.
		if err := h.svc.Report(ctx, patient(patientA), seq, origin()); err != nil {
			t.Fatal(err)
		}
		if reviews, _ := h.svc.OpenReviews(ctx, staff(access.Auditor), origin()); len(reviews) != 1 || reviews[0].ID != first {
			t.Fatalf("after a further report, open reviews = %+v, want only %s", reviews, first)
		}

		// Another entry has a review of its own.
		if err := h.svc.Report(ctx, patient(patientA), other, origin()); err != nil {
			t.Fatal(err)
		}
		// Once the officer has closed the review, a new report of the entry opens a new one.
		if err := h.svc.Resolve(ctx, staff(access.Auditor), first, privacy.Closing{}, origin()); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.Report(ctx, patient(patientA), seq, origin()); err != nil {
			t.Fatal(err)
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_reviews WHERE entry_seq = $1 AND status = 'open'`, seq); n != 1 {
			t.Fatalf("after resolve and a new report, %d open reviews of the entry, want 1", n)
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_reviews WHERE status = 'open'`); n != 2 {
			t.Fatalf("%d open reviews in all, want 2 (one per entry)", n)
		}
	})
}

// TestOneOpenReviewPerEntryIsTheDatabasesRule: the rule holds against any writer, not only the
// service: a second open review of an entry is a unique violation; closed reviews are not
// counted.
func TestOneOpenReviewPerEntryIsTheDatabasesRule(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := `INSERT INTO audit_reviews (id, entry_seq, patient_id, reported_by, status, created_at) VALUES ($1, 7, 'p', 'a', $2, $3)`
		for i, r := range []struct{ id, status string }{{"r1", privacy.StatusResolved}, {"r2", privacy.StatusResolved}, {"r3", privacy.StatusOpen}} {
			if _, err := db.ExecContext(ctx, insert, r.id, r.status, i); err != nil {
				t.Fatalf("insert %s review: %v", r.status, err)
			}
		}
		_, err := db.ExecContext(ctx, insert, "r4", privacy.StatusOpen, 4)
		if !store.IsUniqueViolation(err) {
			t.Fatalf("a second open review of one entry: %v, want a unique violation", err)
		}
	})
}

// TestMigrationKeepsTheFirstOpenReview: a database that already holds several open reviews of
// one entry (written before the rule) migrates: the earliest stays open, the others are closed
// as duplicates.
func TestMigrationKeepsTheFirstOpenReview(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Back to the schema before the rule.
		for _, q := range []string{`DROP INDEX audit_reviews_one_open`, `DELETE FROM schema_migrations WHERE name = '0013_one_open_review'`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		insert := `INSERT INTO audit_reviews (id, entry_seq, patient_id, reported_by, status, created_at) VALUES ($1, $2, 'p', 'a', $3, $4)`
		for _, r := range []struct {
			id      string
			seq     int
			status  string
			created int
		}{
			{"b-later", 1, "open", 30}, {"a-first", 1, "open", 10}, {"c-same-time", 1, "open", 30}, {"d-closed", 1, "resolved", 5},
			{"e-alone", 2, "open", 20},
		} {
			if _, err := db.ExecContext(ctx, insert, r.id, r.seq, r.status, r.created); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate over duplicate open reviews: %v", err)
		}
		rows, err := db.QueryContext(ctx, `SELECT id, status FROM audit_reviews ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]string{}
		for rows.Next() {
			var id, status string
			if err := rows.Scan(&id, &status); err != nil {
				t.Fatal(err)
			}
			got[id] = status
		}
		want := map[string]string{"a-first": "open", "b-later": privacy.StatusDuplicate, "c-same-time": privacy.StatusDuplicate,
			"d-closed": "resolved", "e-alone": "open"}
		for id, status := range want {
			if got[id] != status {
				t.Errorf("review %s: status %q, want %q", id, got[id], status)
			}
		}
		if _, err := db.ExecContext(ctx, insert, "f-new", 1, "open", 40); !store.IsUniqueViolation(err) {
			t.Fatalf("the migrated database let a second open review in: %v", err)
		}
	})
}
