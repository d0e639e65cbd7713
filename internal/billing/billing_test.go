package billing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/billing"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func charge(visitID string) billing.NewCharge {
	return billing.NewCharge{VisitID: visitID, ProcedureCodes: []string{"99213"}, DiagnosisCodes: []string{"J06.9"}, Amount: 12500}
}

// TestOneChargePerVisit: a visit has one live charge, however it is asked for; voiding it makes
// room for a corrected one. Only an ended visit is charged.
func TestOneChargePerVisit(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "Ada Quill")
		v := h.visit(t, p.PatientID, "ended", t0.Add(-2*time.Hour))
		c, err := h.billing.Create(ctx, h.drA, charge(v), origin)
		if err != nil || c.Status != billing.Draft || c.Currency != "USD" {
			t.Fatalf("first charge = %+v, %v", c, err)
		}
		if _, err := h.billing.Create(ctx, h.clerk, charge(v), origin); !errors.Is(err, billing.ErrAlreadyCharged) {
			t.Fatalf("second charge = %v, want ErrAlreadyCharged", err)
		}
		if _, err := h.billing.Update(ctx, h.clerk, c.ID, billing.Change{Status: billing.Void}, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.billing.Create(ctx, h.clerk, charge(v), origin); err != nil {
			t.Fatalf("charge after void = %v", err)
		}
		// However many ask at once, one charge is written.
		raced := h.visit(t, p.PatientID, "ended", t0.Add(-3*time.Hour))
		errs := make(chan error, 6)
		for range 6 {
			go func() {
				_, err := h.billing.Create(ctx, h.clerk, charge(raced), origin)
				errs <- err
			}()
		}
		won := 0
		for range 6 {
			switch err := <-errs; {
			case err == nil:
				won++
			case !errors.Is(err, billing.ErrAlreadyCharged):
				t.Errorf("racing charge = %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d racing charges written, want 1", won)
		}
		booked := h.visit(t, p.PatientID, "booked", t0.Add(2*time.Hour))
		if _, err := h.billing.Create(ctx, h.drA, charge(booked), origin); !errors.Is(err, billing.ErrVisitNotEnded) {
			t.Fatalf("charge for a booked visit = %v, want ErrVisitNotEnded", err)
		}
		if _, err := h.billing.Create(ctx, h.clerk, charge("no-such-visit"), origin); !errors.Is(err, billing.ErrNotFound) {
			t.Fatalf("charge for no visit = %v, want ErrNotFound", err)
		}
	})
}

// TestChargeWriters: the treating care team and billing write charges; a clinician outside the
// care team, a nurse and the patient are refused, and each refusal is recorded.
func TestChargeWriters(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "Ada Quill")
		for _, by := range []access.Subject{h.drB, h.nurse, p} {
			v := h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour))
			if _, err := h.billing.Create(ctx, by, charge(v), origin); !errors.Is(err, guard.ErrForbidden) {
				t.Errorf("%s writes a charge: %v, want ErrForbidden", by.Role, err)
			}
		}
		denied := 0
		for _, e := range h.entries(t) {
			if e.Action == string(access.WriteCharge) && e.Outcome == "deny" {
				denied++
			}
		}
		if denied != 3 {
			t.Errorf("%d refusals recorded, want 3", denied)
		}
	})
}

// TestChargeStatusTransitions: a charge moves draft → submitted → paid or denied; an illegal
// move is a conflict in words, and codes change only on a draft.
func TestChargeStatusTransitions(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "Ada Quill")
		c, err := h.billing.Create(ctx, h.drA, charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour))), origin)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			to   billing.Status
			kind fault.Kind // 0 (internal) means it succeeds
		}{
			{billing.Paid, fault.Conflict},
			{billing.Submitted, 0},
			{billing.Draft, fault.Conflict},
			{billing.Denied, 0},
			{billing.Draft, 0},
			{billing.Submitted, 0},
			{billing.Paid, 0},
			{billing.Void, fault.Conflict},
			{"lost", fault.Invalid},
		}
		for i, s := range steps {
			h.now = h.now.Add(time.Second)
			got, err := h.billing.Update(ctx, h.clerk, c.ID, billing.Change{Status: s.to}, origin)
			if s.kind == 0 {
				if err != nil || got.Status != s.to {
					t.Fatalf("step %d to %s: %+v, %v", i, s.to, got, err)
				}
				continue
			}
			if !fault.Is(err, s.kind) {
				t.Fatalf("step %d to %s: %v, want %v", i, s.to, err, s.kind)
			}
			if msg := fault.As(err).Message; strings.Contains(msg, "_") || msg == "" {
				t.Errorf("step %d: message %q is not in words", i, msg)
			}
		}
		if _, err := h.billing.Update(ctx, h.clerk, c.ID, billing.Change{Amount: 100}, origin); !errors.Is(err, billing.ErrNotDraft) {
			t.Fatalf("amount on a paid charge = %v, want ErrNotDraft", err)
		}
	})
}

// TestChargeCodesValidated: codes are checked for shape and normalised; a bad one is a field
// error naming the field.
func TestChargeCodesValidated(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "Ada Quill")
		for _, tc := range []struct {
			name  string
			edit  func(*billing.NewCharge)
			field string
		}{
			{"bad procedure", func(c *billing.NewCharge) { c.ProcedureCodes = []string{"9921"} }, "procedureCodes"},
			{"no procedure", func(c *billing.NewCharge) { c.ProcedureCodes = nil }, "procedureCodes"},
			{"bad diagnosis", func(c *billing.NewCharge) { c.DiagnosisCodes = []string{"flu"} }, "diagnosisCodes"},
			{"zero amount", func(c *billing.NewCharge) { c.Amount = 0 }, "amount"},
			{"bad currency", func(c *billing.NewCharge) { c.Currency = "dollars" }, "currency"},
		} {
			nc := charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour)))
			tc.edit(&nc)
			_, err := h.billing.Create(ctx, h.drA, nc, origin)
			if e := fault.As(err); e == nil || e.Kind != fault.Invalid || e.Field != tc.field {
				t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
			}
		}
		nc := charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour)))
		nc.ProcedureCodes, nc.DiagnosisCodes = []string{" j1100 ", "99213"}, []string{"s52521a", "J06.9"}
		c, err := h.billing.Create(ctx, h.drA, nc, origin)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(c.ProcedureCodes, ",") != "J1100,99213" || strings.Join(c.DiagnosisCodes, ",") != "S52.521A,J06.9" {
			t.Errorf("normalised codes = %v %v", c.ProcedureCodes, c.DiagnosisCodes)
		}
	})
}

// TestPatientSeesOwnCharges: a patient lists their own billed charges, never a draft, and never
// another patient's; billing lists all of them with names.
func TestPatientSeesOwnCharges(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		ada, bo := h.patient(t, "Ada Quill"), h.patient(t, "Bo Reed")
		mk := func(p access.Subject, submit bool) billing.Charge {
			c, err := h.billing.Create(ctx, h.drA, charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour))), origin)
			if err != nil {
				t.Fatal(err)
			}
			if submit {
				if c, err = h.billing.Update(ctx, h.clerk, c.ID, billing.Change{Status: billing.Submitted}, origin); err != nil {
					t.Fatal(err)
				}
			}
			return c
		}
		mine, draft, theirs := mk(ada, true), mk(ada, false), mk(bo, true)
		got, err := h.billing.List(ctx, ada, billing.Filter{}, origin)
		if err != nil || len(got) != 1 || got[0].ID != mine.ID {
			t.Fatalf("Ada's list = %+v, %v; want her submitted charge only", got, err)
		}
		if _, err := h.billing.Get(ctx, ada, draft.ID, origin); !errors.Is(err, billing.ErrNotFound) {
			t.Errorf("Ada reads her draft: %v, want ErrNotFound", err)
		}
		if _, err := h.billing.Get(ctx, ada, theirs.ID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Errorf("Ada reads Bo's charge: %v, want ErrForbidden", err)
		}
		if got, err := h.billing.List(ctx, ada, billing.Filter{PatientID: bo.PatientID}, origin); err != nil || len(got) != 1 || got[0].ID != mine.ID {
			t.Errorf("Ada names Bo in her filter: %+v, %v; want her own charge only", got, err)
		}
		all, err := h.billing.List(ctx, h.clerk, billing.Filter{}, origin)
		if err != nil || len(all) != 3 || all[0].PatientName == "" {
			t.Fatalf("billing's list = %+v, %v", all, err)
		}
		sub, err := h.billing.List(ctx, h.clerk, billing.Filter{Status: billing.Submitted}, origin)
		if err != nil || len(sub) != 2 {
			t.Fatalf("billing's submitted = %d, %v; want 2", len(sub), err)
		}
		inCare, err := h.billing.List(ctx, h.drA, billing.Filter{}, origin)
		if err != nil || len(inCare) != 3 {
			t.Fatalf("dr A's list = %d, %v; want 3", len(inCare), err)
		}
		if out, err := h.billing.List(ctx, h.drB, billing.Filter{}, origin); err != nil || len(out) != 0 {
			t.Fatalf("dr B's list = %d, %v; want none", len(out), err)
		}
		if _, err := h.billing.List(ctx, h.nurse, billing.Filter{}, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a nurse's list = %v, want ErrForbidden", err)
		}
	})
}

// TestChargeExportNeedsStepUp: an export leaves Haven; without a fresh second factor it is
// refused, and only billing may export.
func TestChargeExportNeedsStepUp(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		stale := h.clerk
		stale.FactorAt = t0.Add(-time.Hour)
		if _, _, err := h.billing.Export(ctx, stale, billing.Filter{}, billing.FormatCSV, origin); !errors.Is(err, guard.ErrStepUpRequired) {
			t.Fatalf("stale export = %v, want ErrStepUpRequired", err)
		}
		if _, _, err := h.billing.Export(ctx, h.drA, billing.Filter{}, billing.FormatCSV, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("clinician export = %v, want ErrForbidden", err)
		}
		if _, _, err := h.billing.Export(ctx, h.clerk, billing.Filter{}, "xml", origin); !fault.Is(err, fault.Invalid) {
			t.Fatalf("xml export = %v, want invalid", err)
		}
	})
}

// TestChargeExportCSV: one row per live charge with the claim's demographics; a name that
// would be a spreadsheet formula is neutralised.
func TestChargeExportCSV(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "=HYPERLINK(\"http://evil.example\",\"x\")")
		c, err := h.billing.Create(ctx, h.drA, charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour))), origin)
		if err != nil {
			t.Fatal(err)
		}
		out, media, err := h.billing.Export(ctx, h.clerk, billing.Filter{}, billing.FormatCSV, origin)
		if err != nil || !strings.HasPrefix(media, "text/csv") {
			t.Fatal(media, err)
		}
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("csv = %q, %v", out, err)
		}
		want := []string{c.ID, "2026-11-24", p.PatientID, "'=HYPERLINK(\"http://evil.example\",\"x\")", "1980-02-29", "99213", "J06.9", "125.00", "USD", "draft"}
		if strings.Join(recs[1], "|") != strings.Join(want, "|") {
			t.Errorf("row = %q\nwant  %q", recs[1], want)
		}
		exported, read := 0, 0
		for _, e := range h.entries(t) {
			if e.PatientID == p.PatientID && e.Outcome == "allow" {
				switch e.Action {
				case string(access.ExportCharge):
					exported++
				case string(access.ReadDemographics):
					read++
				}
			}
		}
		if exported != 1 || read != 1 {
			t.Errorf("entries: %d exports and %d demographics reads of the patient, want 1 and 1", exported, read)
		}
	})
}

// TestChargeExportFHIRClaim: the export is a FHIR R4 Bundle of Claims with every element R4
// requires of a Claim, the ICD-10-CM and CPT systems, and money that adds up.
func TestChargeExportFHIRClaim(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		p := h.patient(t, "Ada Quill")
		nc := charge(h.visit(t, p.PatientID, "ended", t0.Add(-time.Hour)))
		nc.ProcedureCodes = []string{"99213", "J1100"}
		nc.DiagnosisCodes = []string{"J06.9", "R05.9"}
		c, err := h.billing.Create(ctx, h.drA, nc, origin)
		if err != nil {
			t.Fatal(err)
		}
		out, media, err := h.billing.Export(ctx, h.clerk, billing.Filter{}, billing.FormatFHIR, origin)
		if err != nil || media != "application/fhir+json" {
			t.Fatal(media, err)
		}
		checkClaimBundle(t, out, c)
	})
}

// checkClaimBundle checks the shape R4 asks of a Bundle of Claims (the required elements and
// their cardinality), and that the claim says what the charge says.
func checkClaimBundle(t *testing.T, out []byte, c billing.Charge) {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	if b["resourceType"] != "Bundle" || b["type"] != "collection" {
		t.Fatalf("bundle = %v", b)
	}
	entries, _ := b["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	cl := entries[0].(map[string]any)["resource"].(map[string]any)
	for _, f := range []string{"resourceType", "status", "type", "use", "patient", "created", "provider", "priority", "insurance", "diagnosis", "item", "total"} {
		if cl[f] == nil {
			t.Errorf("claim lacks %s", f)
		}
	}
	str := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"resourceType"}, "Claim"},
		{[]any{"status"}, "draft"},
		{[]any{"use"}, "claim"},
		{[]any{"type", "coding", 0, "code"}, "professional"},
		{[]any{"priority", "coding", 0, "code"}, "normal"},
		{[]any{"patient", "reference"}, "Patient/" + c.PatientID},
		{[]any{"provider", "reference"}, "Practitioner/dr-a"},
		{[]any{"insurance", 0, "sequence"}, 1.0},
		{[]any{"insurance", 0, "focal"}, true},
		{[]any{"insurance", 0, "coverage", "display"}, billing.SelfPay},
		{[]any{"diagnosis", 1, "sequence"}, 2.0},
		{[]any{"diagnosis", 0, "diagnosisCodeableConcept", "coding", 0, "system"}, billing.SystemICD10CM},
		{[]any{"diagnosis", 1, "diagnosisCodeableConcept", "coding", 0, "code"}, "R05.9"},
		{[]any{"item", 0, "productOrService", "coding", 0, "system"}, billing.SystemCPT},
		{[]any{"item", 1, "productOrService", "coding", 0, "code"}, "J1100"},
		{[]any{"item", 0, "net", "value"}, 125.0},
		{[]any{"item", 1, "net", "value"}, 0.0},
		{[]any{"total", "value"}, 125.0},
		{[]any{"total", "currency"}, "USD"},
	}
	for _, ck := range checks {
		if got := str(cl, ck.path...); got != ck.want {
			t.Errorf("claim %v = %v, want %v", ck.path, got, ck.want)
		}
	}
	if created, _ := cl["created"].(string); !strings.HasPrefix(created, "2026-11-24T") {
		t.Errorf("created = %q", created)
	}
}
