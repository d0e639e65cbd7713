package api

import "testing"

// TestOperationNotesNameRealOperations: a note for an operation that was renamed or removed
// would silently stop documenting anything.
func TestOperationNotesNameRealOperations(t *testing.T) {
	ids := map[string]bool{}
	for _, rt := range New(Deps{}).Routes() {
		ids[rt.OperationID] = true
	}
	statuses := errorResponses()
	for id, n := range operationNotes() {
		if !ids[id] {
			t.Errorf("operationNotes names %q, which is not in the route table", id)
		}
		for _, s := range n.errors {
			if _, ok := statuses[s]; !ok {
				t.Errorf("%s: status %d has no shared response in components", id, s)
			}
		}
	}
}
