package clinical_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// people registers each patient by the clinician named, and returns their identifiers by name.
func people(t *testing.T, h *harness, by access.Subject, ps ...clinical.NewPatient) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, p := range ps {
		reg, err := h.records.Register(context.Background(), by, p, origin)
		if err != nil {
			t.Fatalf("register %s: %v", p.Name, err)
		}
		ids[p.Name] = reg.PatientID
	}
	return ids
}

const mjlg = "María José López-García"

// TestSearchFindsPeople: a clinician finds a patient in their care by any name part in any
// order, by the start of one (3+ characters), by phone with or without country code and
// formatting, by birth date, by e-mail, and by any of these together, every term matching;
// case, accents and hyphens do not matter. A patient outside their care is never found.
func TestSearchFindsPeople(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		mine := people(t, h, h.clin,
			clinical.NewPatient{Name: mjlg, BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "maria@example.test"},
			clinical.NewPatient{Name: "Mario Lopez", BirthDate: "1975-05-05", Phone: "+34 600 111 222", Email: "mario@example.test"},
			clinical.NewPatient{Name: "José Luis García Fernández", BirthDate: "1980-02-29", Phone: "+1 555 0100", Email: "jl@example.test"},
			clinical.NewPatient{Name: "Li Wu", BirthDate: "1990-01-01", Phone: "+86 138 0013 8000", Email: "li@example.test"},
			clinical.NewPatient{Name: "Siobhán O'Brien", BirthDate: "1966-06-06", Phone: "+353 85 123 4567", Email: "sio@example.test"},
		)
		// Another clinician's patient, who matches most of the searches below.
		theirs := people(t, h, h.other, clinical.NewPatient{Name: "María López Outside", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "maria.out@example.test"})

		tests := []struct {
			q    string
			want []string
		}{
			{"maria lopez", []string{mjlg}},
			{"lopez maria", []string{mjlg}},
			{"lopez garcia", []string{mjlg}},
			{"López-García", []string{mjlg}},
			{"LÓPEZ", []string{mjlg, "Mario Lopez"}},
			{"jos", []string{mjlg, "José Luis García Fernández"}},
			{"lop 1980-02-29", []string{mjlg}},
			{"1980-02-29", []string{mjlg, "José Luis García Fernández"}},
			{"1980-2-29", []string{mjlg, "José Luis García Fernández"}},
			{"612345678", []string{mjlg}},
			{"+34612345678", []string{mjlg}},
			{"612 345 678", []string{mjlg}},
			{"+34 612 345 678", []string{mjlg}},
			{"0034 612-345-678", []string{mjlg}},
			{"(612) 345.678 maria", []string{mjlg}},
			{"maria@EXAMPLE.test", []string{mjlg}},
			{"maria@example.test lopez", []string{mjlg}},
			{"garcia fernandez", []string{"José Luis García Fernández"}},
			{"fernande", []string{"José Luis García Fernández"}},
			{"fernandez", []string{"José Luis García Fernández"}},
			{"li", []string{"Li Wu"}},
			{"o'brien", []string{"Siobhán O'Brien"}},
			{"obrien", []string{"Siobhán O'Brien"}},
			{"brien siobhan", []string{"Siobhán O'Brien"}},
			// Every term must match.
			{"maria 1975-05-05", nil},
			{"maria mario", nil},
			{"maria@example.test mario", nil},
			{"lopez 600111222", []string{"Mario Lopez"}},
			{"lopez 612345679", nil},
			// A term is a whole part or the start of one, three characters at least.
			{"lo", nil},
			{"opez", nil},
			{"fernandezz", nil},
			{"lim", nil},
		}
		for _, tc := range tests {
			t.Run(tc.q, func(t *testing.T) {
				got, err := h.records.Search(ctx, h.clin, "", tc.q, origin)
				if err != nil {
					t.Fatalf("Search(%q): %v", tc.q, err)
				}
				var names []string
				for _, p := range got {
					if p.ID == theirs["María López Outside"] {
						t.Fatalf("Search(%q) found a patient outside the care team", tc.q)
					}
					if p.PatientID != p.ID || mine[p.Name] != p.ID {
						t.Fatalf("Search(%q) answered %+v", tc.q, p)
					}
					names = append(names, p.Name)
				}
				slices.Sort(names)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if diff := cmp.Diff(want, names); diff != "" {
					t.Errorf("Search(%q) (-want +got):\n%s", tc.q, diff)
				}
			})
		}

		// The other clinician finds their own patient by the same words, and none of ours.
		got, err := h.records.Search(ctx, h.other, "", "maria lopez 612345678", origin)
		if err != nil || len(got) != 1 || got[0].ID != theirs["María López Outside"] {
			t.Fatalf("the other clinician's search = %+v, %v", got, err)
		}
		if got, err := h.records.Search(ctx, h.other, "", "jos", origin); err != nil || len(got) != 0 {
			t.Fatalf("outside the care team: %+v, %v", got, err)
		}

		// Each patient shown is an entry in their own log.
		es, err := audit.Search(ctx, db, audit.Filter{PatientID: mine[mjlg], Action: string(access.SearchPatients)})
		if err != nil || len(es) == 0 {
			t.Fatalf("search entries for the patient found: %d, %v", len(es), err)
		}
		es, err = audit.Search(ctx, db, audit.Filter{PatientID: theirs["María López Outside"], Action: string(access.SearchPatients), ActorID: h.clin.AccountID})
		if err != nil || len(es) != 0 {
			t.Fatalf("a patient never shown has search entries: %d, %v", len(es), err)
		}

		// Searching by one field, whole, still works.
		for by, q := range map[clinical.SearchKind]string{clinical.ByName: "maria jose LOPEZ-garcia", clinical.ByPhone: "34612345678",
			clinical.ByBirthDate: "1975-05-05", clinical.ByEmail: "MARIO@example.test"} {
			got, err := h.records.Search(ctx, h.clin, by, q, origin)
			if err != nil || len(got) != 1 {
				t.Fatalf("Search by %s %q = %+v, %v", by, q, got, err)
			}
		}
	})
}

// TestSearchSaysWhatToEnter: a search that cannot run says what to type, in a person's words.
func TestSearchSaysWhatToEnter(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		for _, tc := range []struct {
			q, want string
		}{
			{"", "enter a name, phone or date of birth to search"},
			{"  - ", "enter a name, phone or date of birth to search"},
			{"29/02/1980", "YYYY-MM-DD"},
			{"1980.02.29", "YYYY-MM-DD"},
			{"maria 12", "whole phone number"},
			{"a b c d e f g h i", "at most 8"},
			{strings.Repeat("x", 201), "at most 200 characters"},
			{"a@b.example c@d.example", "one e-mail address"},
		} {
			_, err := h.records.Search(context.Background(), h.clin, "", tc.q, origin)
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Invalid || fe.Field != "q" || !strings.Contains(fe.Message, tc.want) {
				t.Errorf("Search(%q) = %v, want invalid q saying %q", tc.q, err, tc.want)
			}
		}
		if _, err := h.records.Search(context.Background(), h.clin, "shoe-size", "42", origin); fault.As(err) == nil || fault.As(err).Field != "by" {
			t.Errorf("an unknown field = %v, want invalid by", err)
		}
		if _, err := h.records.Search(context.Background(), h.admin, "", "maria", origin); !errors.Is(err, clinical.ErrForbidden) {
			t.Errorf("an administrator's search = %v, want forbidden", err)
		}
	})
}

// TestSearchTokensHoldNoPlaintext: a patient's tokens are keyed MACs, a bounded number of them,
// none holding any part of the record in clear or in hex.
func TestSearchTokensHoldNoPlaintext(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		long := "Zephyrine Quillfeather Abernathy-Worthington Ximena Beatriz Carolina Dolores Esperanza Florencia Gertrudis"
		ids := people(t, h, h.clin, clinical.NewPatient{Name: long, BirthDate: "1961-07-04", Phone: "+1 555 0199 4242", Email: "zq@canary.example"})
		rows, err := db.QueryContext(ctx, `SELECT patient_id, token_mac FROM patient_search_tokens`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var pid string
			var mac []byte
			if err := rows.Scan(&pid, &mac); err != nil {
				t.Fatal(err)
			}
			n++
			if pid != ids[long] {
				t.Fatalf("a token for %q", pid)
			}
			lower := bytes.ToLower(mac)
			for _, c := range []string{"zep", "quill", "1961", "0199", "4242", "5550199"} {
				if bytes.Contains(lower, []byte(c)) || bytes.Contains(lower, []byte(strings.ToUpper(c))) {
					t.Errorf("a token holds %q", c)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 || n > 64 {
			t.Fatalf("%d tokens for one patient, want 1 to 64", n)
		}
	})
}

// TestDuplicateRegistrationWarns: registering a name and birth date already on a record is a
// conflict until confirmed. A clinician is told which of their own patients it is; outside
// their care they learn only that such a record exists, and that record's log says who learnt
// it. A different birth date, or a confirmation, registers.
func TestDuplicateRegistrationWarns(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		first := people(t, h, h.clin, clinical.NewPatient{Name: mjlg, BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "maria@example.test"})[mjlg]
		again := clinical.NewPatient{Name: "maria jose  LOPEZ GARCIA", BirthDate: "1980-02-29", Phone: "+34 699 000 111", Email: "maria2@example.test"}
		entries := func(actor string) []audit.Entry {
			t.Helper()
			es, err := audit.Search(ctx, db, audit.Filter{PatientID: first, ActorID: actor, Action: string(access.SearchPatients)})
			if err != nil {
				t.Fatal(err)
			}
			return es
		}

		_, err := h.records.Register(ctx, h.clin, again, origin)
		var dup *clinical.Duplicate
		if !errors.Is(err, clinical.ErrDuplicate) || !errors.As(err, &dup) || fault.KindOf(err) != fault.Conflict {
			t.Fatalf("registering again = %v, want ErrDuplicate", err)
		}
		if diff := cmp.Diff(&clinical.Duplicate{InCare: []string{first}}, dup); diff != "" {
			t.Fatalf("in care (-want +got):\n%s", diff)
		}
		if es := entries(h.clin.AccountID); len(es) != 1 || es[0].Reason != access.ReasonAssigned+" duplicate-check" {
			t.Fatalf("the check's entry in the patient's log: %+v", es)
		}

		_, err = h.records.Register(ctx, h.other, again, origin)
		dup = nil
		if !errors.As(err, &dup) {
			t.Fatalf("registering again outside the care team = %v, want ErrDuplicate", err)
		}
		if diff := cmp.Diff(&clinical.Duplicate{Elsewhere: true}, dup); diff != "" {
			t.Fatalf("outside the care team, only that it exists (-want +got):\n%s", diff)
		}
		if strings.Contains(err.Error(), first) || strings.Contains(fault.As(err).Message, first) {
			t.Fatalf("the answer names the record: %v", err)
		}
		if es := entries(h.other.AccountID); len(es) != 1 || es[0].Reason != clinical.ReasonRegistrationCheck || es[0].Outcome != audit.Allow {
			t.Fatalf("the record outside the care team says who learnt it exists: %+v", es)
		}

		other := again
		other.BirthDate, other.Email = "1980-03-01", "maria3@example.test"
		if _, err := h.records.Register(ctx, h.clin, other, origin); err != nil {
			t.Fatalf("another birth date: %v", err)
		}
		again.ConfirmDuplicate = true
		reg, err := h.records.Register(ctx, h.clin, again, origin)
		if err != nil || reg.PatientID == first {
			t.Fatalf("confirmed: %+v, %v", reg, err)
		}
		if got, err := h.records.Search(ctx, h.clin, "", "maria lopez 1980-02-29", origin); err != nil || len(got) != 2 {
			t.Fatalf("both records are found: %+v, %v", got, err)
		}
	})
}

// TestBackfillSearchTokens: records written before search tokens existed get theirs at the
// next start, once; a record that does not open is left out and alarmed; one entry says what
// Haven did.
func TestBackfillSearchTokens(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		ids := people(t, h, h.clin,
			clinical.NewPatient{Name: mjlg, BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "maria@example.test"},
			clinical.NewPatient{Name: "Mario Lopez", BirthDate: "1975-05-05", Phone: "+34 600 111 222", Email: "mario@example.test"},
			clinical.NewPatient{Name: "Bea Broken", BirthDate: "1970-01-01", Phone: "+1 555 0100", Email: "bea@example.test"},
		)
		if _, err := db.ExecContext(ctx, `DELETE FROM patient_search_tokens`); err != nil {
			t.Fatal(err)
		}
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT name_ct FROM patients WHERE id = $1`, ids["Bea Broken"]).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		ct[len(ct)-1] ^= 1
		if _, err := db.ExecContext(ctx, `UPDATE patients SET name_ct = $1 WHERE id = $2`, ct, ids["Bea Broken"]); err != nil {
			t.Fatal(err)
		}
		if got, err := h.records.Search(ctx, h.clin, "", "lopez", origin); err != nil || len(got) != 0 {
			t.Fatalf("before the backfill: %+v, %v", got, err)
		}

		done, err := h.records.BackfillSearchTokens(ctx)
		if err != nil || done != (clinical.Backfill{Indexed: 2, Unreadable: 1}) {
			t.Fatalf("backfill = %+v, %v", done, err)
		}
		if len(h.alarms.ids) != 1 || h.alarms.ids[0] != ids["Bea Broken"] {
			t.Fatalf("alarms = %v", h.alarms.ids)
		}
		got, err := h.records.Search(ctx, h.clin, "", "lopez", origin)
		if err != nil || len(got) != 2 {
			t.Fatalf("after the backfill: %+v, %v", got, err)
		}
		es, err := audit.Search(ctx, db, audit.Filter{Action: clinical.ActionSearchIndex})
		if err != nil || len(es) != 1 || es[0].ActorRole != string(access.System) || es[0].PatientID != "" ||
			es[0].Reason != access.ReasonSystem+" indexed-2 unreadable-1" {
			t.Fatalf("backfill entries = %+v, %v", es, err)
		}

		// The next start has only the unreadable record left to try.
		if done, err := h.records.BackfillSearchTokens(ctx); err != nil || done != (clinical.Backfill{Unreadable: 1}) {
			t.Fatalf("second backfill = %+v, %v", done, err)
		}
	})
}

// TestSearchFollowsANewPhone: a patient who changes their phone number is found by the new one,
// no longer by the old, and still by name: the tokens change with the record.
func TestSearchFollowsANewPhone(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := people(t, h, h.clin, clinical.NewPatient{Name: mjlg, BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "maria@example.test"})[mjlg]
		if _, err := h.records.UpdateContact(ctx, h.patientOf(t, pid), pid, clinical.Contact{Phone: "+34 699 000 111", Email: "maria@example.test"}, origin); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]int{"699000111": 1, "612345678": 0, "lopez 1980-02-29 +34 699 000 111": 1} {
			if got, err := h.records.Search(ctx, h.clin, "", q, origin); err != nil || len(got) != want {
				t.Errorf("Search(%q) = %+v, %v, want %d", q, got, err, want)
			}
		}
	})
}
