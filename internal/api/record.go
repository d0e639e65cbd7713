package api

import (
	"net/http"
	"strings"

	"haven/internal/clinical"
	"haven/internal/httpx"
)

// The structured record: one list, add and change operation per kind of item under
// /patients/{id}/<kind>, and the record at a glance. Adding and changing are decided by the
// door before the body is read (Act), under the kind's own action.

// recordKind is one kind of item as the API names it.
type recordKind struct {
	plural, one, title string // "allergies", "allergy", "Allergy"
	kind               clinical.ItemKind
	act                string
	summary            string // what the kind is, in the operation summaries
}

func recordKinds() []recordKind {
	return []recordKind{
		{"conditions", "condition", "Condition", clinical.KindCondition, "condition.write", "problems (conditions); a nurse cannot record one"},
		{"allergies", "allergy", "Allergy", clinical.KindAllergy, "allergy.write", "allergies and intolerances (reaction, severity: mild, moderate, severe; category: medication, food, environment, biologic)"},
		{"medications", "medication", "Medication", clinical.KindMedication, "medication.write", "medications the patient takes (dosage as written)"},
		{"observations", "observation", "Observation", clinical.KindObservation, "observation.write", "vital signs by LOINC code (blood pressure 85354-9 with systolic and diastolic in mm[Hg], heart rate 8867-4 /min, weight 29463-7 kg, temperature 8310-5 Cel, glucose 2339-0 mg/dL); a patient's own are patient-reported"},
		{"immunizations", "immunization", "Immunization", clinical.KindImmunization, "immunization.write", "immunizations (lot number if known)"},
	}
}

func (a *API) recordRoutes() []Route {
	patient := []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}
	item := append(append([]Param{}, patient...), Param{Name: "itemId", In: "path", Required: true, Description: "item identifier"})
	rs := []Route{
		{Method: "GET", Path: "/patients/{id}/summary", OperationID: "getRecordSummary", Summary: "A patient's record at a glance in one read: demographics, current problems, allergies and medications, the latest reading of each vital with recent readings for trends, immunizations", Tag: "record",
			Query: patient, Response: clinical.Summary{}, Handler: a.recordSummary},
	}
	for _, k := range recordKinds() {
		list := patient
		plural := strings.ToUpper(k.plural[:1]) + k.plural[1:]
		if k.kind == clinical.KindObservation {
			list = append(append([]Param{}, patient...), Param{Name: "code", In: "query", Description: "only observations with this LOINC code"})
		}
		rs = append(rs,
			Route{Method: "GET", Path: "/patients/{id}/" + k.plural, OperationID: "list" + plural, Summary: "A patient's " + k.summary + ", newest first; those entered in error are kept, marked", Tag: "record",
				Query: list, Response: []clinical.Item{}, Handler: a.listItems(k.kind)},
			Route{Method: "POST", Path: "/patients/{id}/" + k.plural, OperationID: "add" + k.title, Summary: "Record one of a patient's " + k.summary, Tag: "record",
				Query: patient, Request: clinical.ItemInput{}, Response: clinical.Item{}, Status: http.StatusCreated, Act: k.act, PatientParam: "id", Handler: a.addItem(k.kind)},
			Route{Method: "PATCH", Path: "/patients/{id}/" + k.plural + "/{itemId}", OperationID: "update" + k.title, Summary: "Change a patient's " + k.one + ": its status (" + strings.Join(clinical.Statuses(k.kind), ", ") + ") or its words; a patient changes nothing once recorded", Tag: "record",
				Query: item, Request: clinical.ItemChange{}, Response: clinical.Item{}, Act: k.act, PatientParam: "id", Handler: a.updateItem(k.kind)},
		)
	}
	return rs
}

func (a *API) recordSummary(w http.ResponseWriter, r *http.Request) error {
	s, err := a.d.Records.Summary(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, s)
}

func (a *API) listItems(kind clinical.ItemKind) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		items, err := a.d.Records.Items(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), kind, r.URL.Query().Get("code"), httpx.Origin(r))
		if err != nil {
			return httpx.FromDomain(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, items)
	}
}

func (a *API) addItem(kind clinical.ItemKind) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in clinical.ItemInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return err
		}
		it, err := a.d.Records.AddItem(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), kind, in, httpx.Origin(r))
		if err != nil {
			return httpx.FromDomain(err)
		}
		return httpx.WriteJSON(w, http.StatusCreated, it)
	}
}

func (a *API) updateItem(kind clinical.ItemKind) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var ch clinical.ItemChange
		if err := httpx.DecodeJSON(r, &ch); err != nil {
			return err
		}
		it, err := a.d.Records.UpdateItem(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), kind, r.PathValue("itemId"), ch, httpx.Origin(r))
		if err != nil {
			return httpx.FromDomain(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, it)
	}
}
