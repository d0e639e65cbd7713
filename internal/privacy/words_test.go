package privacy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/privacy"
)

// recordedActions lists every audit action Haven records: the policy's, and the sign-in and
// account events identity records by name (found in its source, so a new one cannot be missed).
func recordedActions(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range access.Rules() {
		seen[string(r.Action)] = true
	}
	seen[clinical.ActionSearchIndex] = true
	event := regexp.MustCompile(`"((?:auth|account|session|setup)\.[a-z-]+)"`)
	err := filepath.WalkDir(filepath.Join("..", "identity"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range event.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	if len(out) < len(access.Rules())+10 {
		t.Fatalf("found only %d actions: has identity moved?", len(out))
	}
	return out
}

// TestEveryActionHasWords: each action Haven records reads in words to the patient and to the
// privacy officer, and neither reading contains a code. A new action without words fails here.
func TestEveryActionHasWords(t *testing.T) {
	vocabulary := map[string]bool{}
	for _, a := range privacy.Vocabulary() {
		vocabulary[a] = true
	}
	actions := recordedActions(t)
	for _, a := range actions {
		if !vocabulary[a] {
			t.Errorf("%s has no words: add it to forPatient and forOfficer in words.go", a)
		}
	}
	for _, a := range actions {
		for _, role := range []string{"patient", "clinician", "auditor", "admin", "system", ""} {
			for _, outcome := range []string{audit.Allow, audit.Deny, audit.Success, audit.Failure} {
				e := privacy.Entry{Seq: 1, ActorID: "acct-1", ActorRole: role, Action: a, PatientID: "p", Outcome: outcome,
					Reason: "care-team", ResourceType: "Patient"}
				ev := privacy.PatientEvent(e)
				tr := privacy.OfficerEntry(e)
				for _, text := range []string{ev.What, ev.Why, ev.Who, ev.RoleWords(), tr.Who, tr.Role, tr.What, tr.Outcome, tr.Why} {
					for _, code := range actions {
						if strings.Contains(text, code) {
							t.Fatalf("%s by %s reads %q, with the code %s in it", a, role, text, code)
						}
					}
				}
				if ev.What == "" || tr.What == "" || tr.Outcome == "" {
					t.Fatalf("%s by %s has no words: %+v %+v", a, role, ev, tr)
				}
			}
		}
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct{ name, got, want string }{
		{"role", privacy.RoleWords("auditor"), "privacy officer"},
		{"role of Haven", privacy.RoleWords("system"), "Haven"},
		{"reason", privacy.ReasonWords("not-in-care-team"), "not in the patient's care team"},
		{"reason with a detail", privacy.ReasonWords("system security-notice"), "Haven itself: to send a security notice"},
		{"role change", privacy.ReasonWords("administrative clinician->auditor"), "from clinician to privacy officer"},
		{"unknown reason", privacy.ReasonWords("no-browser-binding"), "no browser binding"},
		{"outcome", privacy.OutcomeWords("deny"), "refused"},
		{"unknown action", privacy.ActionWords("x.unheard-of"), "did something Haven has no words for yet"},
		{"codes in text", privacy.InWords("record.read at 21:04 UTC"), "opened a patient's record at 21:04 UTC"},
		{"a code that starts another", privacy.InWords("account.email-change-request, account.email-change"),
			"asked to change their e-mail address, changed their e-mail address"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	unknown := privacy.PatientEvent(privacy.Entry{Action: "x.unheard-of", ActorRole: "clinician"})
	if unknown.What != "used your record" {
		t.Errorf("an action with no words reads %q to the patient", unknown.What)
	}
	choices := privacy.ActionChoices()
	if len(choices) != len(privacy.Vocabulary()) {
		t.Fatalf("%d choices for %d actions", len(choices), len(privacy.Vocabulary()))
	}
	for i := 1; i < len(choices); i++ {
		if choices[i-1].Words > choices[i].Words {
			t.Fatalf("choices not in the order of their words: %q before %q", choices[i-1].Words, choices[i].Words)
		}
	}
}
