package clinical

import "context"

// AllergiesAndMedications lets the external tests call the unguarded helper another guarded
// act of this package (a prescription's review) uses.
func AllergiesAndMedications(ctx context.Context, r *Records, patientID string) ([]Item, []Item, error) {
	return r.allergiesAndMedications(ctx, patientID)
}
