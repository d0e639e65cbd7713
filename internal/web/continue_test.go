package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestContinueTo: the recovery codes page goes on with a GET form, which replaces its action's
// query, so a next page's query travels as hidden fields; anything that is not a path on this
// site goes home, as safeNext decides.
func TestContinueTo(t *testing.T) {
	for _, tc := range []struct {
		next string
		want nextPage
	}{
		{"/", nextPage{Path: "/"}},
		{"/account?done=totp", nextPage{Path: "/account", Query: []formField{{"done", "totp"}}}},
		{"/x?b=2&a=1&a=0", nextPage{Path: "/x", Query: []formField{{"a", "1"}, {"a", "0"}, {"b", "2"}}}},
		{"//evil.example/?a=1", nextPage{Path: "/"}},
		{"https://evil.example/account", nextPage{Path: "/"}},
	} {
		if diff := cmp.Diff(tc.want, continueTo(tc.next)); diff != "" {
			t.Errorf("continueTo(%q) (-want +got):\n%s", tc.next, diff)
		}
	}
}
