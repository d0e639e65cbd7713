package web

import (
	"time"

	"haven/internal/clinical"
	"haven/internal/clinical/rx"
)

// rxFixtures is realistic data for the prescription pages: a draft with both warnings, each
// state as the clinician and the patient see it, and the pharmacy's check page.
func rxFixtures(when time.Time) map[string][]page {
	c := rx.Content{Medication: "Amoxicillin", Strength: "500 mg", Form: "capsule", Dose: "1 capsule", Route: "by mouth",
		Frequency: "three times a day", Quantity: "21 capsules", Refills: 1, Notes: "Patient prefers capsules."}
	mk := func(id, status, with string) clinical.Prescription {
		p := clinical.Prescription{ID: id, PatientID: "pat-1", PrescriberID: "acct-clinician", PrescriberName: "Carl Clinician",
			Status: status, Content: c, SignedWith: with, CreatedAt: when, UpdatedAt: when, Warnings: []clinical.Warning{}}
		if status != clinical.RxDraft {
			p.IssuedAt, p.SignedAt = &when, &when
		}
		switch status {
		case clinical.RxDispensed:
			p.DispensedAt = &when
		case clinical.RxCancelled:
			p.CancelledAt = &when
		}
		return p
	}
	draft := mk("rx-1", clinical.RxDraft, "")
	draft.Warnings = []clinical.Warning{{Kind: "allergy", Message: "Listed allergy: Penicillin (hives)", ItemID: "i1"},
		{Kind: "duplicate", Message: "Duplicate of a current medication: Amoxicillin, 250 mg twice a day", ItemID: "i2"}}
	controlled := mk("rx-5", clinical.RxDraft, "")
	controlled.Schedule = "II"
	all := []clinical.Prescription{draft, mk("rx-2", clinical.RxSigned, "passkey"), mk("rx-3", clinical.RxDispensed, "key"), mk("rx-4", clinical.RxCancelled, "key")}
	var pages []page
	for _, p := range append(all, controlled) {
		pages = append(pages, page{Title: rxTitle(p), Data: rxPageData{Prescriber: true, Rx: p, Form: p.Content}},
			page{Title: rxTitle(p), Data: rxPageData{Rx: p, Form: p.Content}})
	}
	pages = append(pages, page{Title: "Signed prescription", Data: rxPageData{Prescriber: true, Rx: all[1], Form: c, Code: "ABCDE-FGHJK"}},
		page{Title: "Draft prescription", Error: "Quantity: write the quantity.", ErrorField: "quantity", Data: rxPageData{Prescriber: true, Rx: draft, Form: rx.Content{Medication: "Amoxicillin"}}})
	return map[string][]page{
		"prescriptions": {{Title: "Prescriptions", Data: rxListData{Prescriber: true, PatientID: "pat-1", Prescriptions: all}},
			{Title: "Prescriptions", Data: rxListData{PatientID: "pat-1"}}},
		"prescription": pages,
		"patientrx":    {{Title: "Your prescriptions", Data: all[1:]}, {Title: "Your prescriptions"}},
		"rxcheck":      {{Title: "Check a prescription", Data: "rx-2"}},
	}
}
