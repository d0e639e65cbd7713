package clinical

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"haven/internal/keys"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		q     string
		want  []string
		long  []string
		email string
	}{
		{q: "maria lopez", want: []string{"nprefix:maria", "nprefix:lopez"}},
		{q: "  MARÍA\tLópez-García ", want: []string{"nprefix:maria", "nprefix:lopez", "nprefix:garcia"}},
		{q: "jos", want: []string{"nprefix:jos"}},
		{q: "li wu", want: []string{"name:li", "name:wu"}},
		{q: "Fernández", want: []string{"nprefix:fernande"}, long: []string{"fernandez"}},
		{q: "o'brien", want: []string{"name:o", "nprefix:brien", "nprefix:obrien"}},
		{q: "lop 1980-02-29", want: []string{"nprefix:lop", "birth:1980-02-29"}},
		{q: "1980-2-9", want: []string{"birth:1980-02-09"}},
		{q: "612345678", want: []string{"phone:612345678"}},
		{q: "+34612345678", want: []string{"phone:612345678"}},
		{q: "+34 612 345 678", want: []string{"phone:612345678"}},
		{q: "612 345 678", want: []string{"phone:612345678"}},
		{q: "+1 (555) 010-0199", want: []string{"phone:550100199"}},
		{q: "612-345-678 ana", want: []string{"phone:612345678", "nprefix:ana"}},
		{q: "612345678 600111222", want: []string{"phone:612345678", "phone:600111222"}},
		{q: "+34 612 345 678 +34 600 111 222", want: []string{"phone:612345678", "phone:600111222"}},
		{q: "Ada@Example.ORG ada", want: []string{"nprefix:ada"}, email: "ada@example.org"},
		{q: "maria maria MARIA", want: []string{"nprefix:maria"}},
	}
	for _, tc := range tests {
		sq, err := parseQuery(tc.q)
		if err != nil {
			t.Errorf("parseQuery(%q): %v", tc.q, err)
			continue
		}
		if diff := cmp.Diff(tc.want, sq.tokens); diff != "" {
			t.Errorf("parseQuery(%q) tokens (-want +got):\n%s", tc.q, diff)
		}
		if diff := cmp.Diff(tc.long, sq.long); diff != "" {
			t.Errorf("parseQuery(%q) long terms (-want +got):\n%s", tc.q, diff)
		}
		if sq.email != tc.email {
			t.Errorf("parseQuery(%q) e-mail = %q, want %q", tc.q, sq.email, tc.email)
		}
	}
	for _, bad := range []string{"", " ", "-", "29/02/1980", "02-29-1980", "1980/02/29", "1980-02-30", "12", "maria 1234",
		"a b c d e f g h i", strings.Repeat("ab ", 70), "\xff"} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%q) succeeded", bad)
		}
	}
}

// TestSearchTokensOfARecord: a record's tokens are what its terms are looked up by, and at most
// maxTokens of them, however long the name.
func TestSearchTokensOfARecord(t *testing.T) {
	got := searchTokens(SearchFields{Name: "María José López-García", BirthDate: "1980-02-29", Phone: "+34 612 345 678"})
	want := []string{"fullname:garcia jose lopez maria", "birth:1980-02-29", "phone:612345678",
		"nprefix:mar", "nprefix:mari", "nprefix:maria", "nprefix:jos", "nprefix:jose",
		"nprefix:lop", "nprefix:lope", "nprefix:lopez", "nprefix:gar", "nprefix:garc", "nprefix:garci", "nprefix:garcia"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("tokens (-want +got):\n%s", diff)
	}
	long := strings.Repeat("Abcdefghijklmnop-", 40)
	if n := len(searchTokens(SearchFields{Name: long, BirthDate: "1980-02-29", Phone: "+34 612 345 678"})); n > maxTokens {
		t.Fatalf("%d tokens, want at most %d", n, maxTokens)
	}
	var many []string
	for i := range 30 {
		many = append(many, strings.Repeat(string(rune('a'+i%26)), 12)+string(rune('a'+i/26)))
	}
	toks := searchTokens(SearchFields{Name: strings.Join(many, " "), BirthDate: "1980-02-29", Phone: "+34 612 345 678"})
	if len(toks) > maxTokens || toks[0] != "fullname:"+strings.Join(sortedCopy(many), " ") {
		t.Fatalf("%d tokens (at most %d), first %q", len(toks), maxTokens, toks[0])
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// FuzzParseQuery: any text a person sends either is refused with a message for them, or
// becomes 1 to maxQueryTerms distinct tokens the key service accepts, each one a token a record
// could have.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"maria lopez", "+34 612 345 678", "lop 1980-02-29", "o'brien", "ß ǅ \u0301", "a@b", "1980-13-45",
		"(((", "+ + +", "0000000000000000000000", "29/02/1980", "Fernández-Álvarez de la Peña", "ｍａｒｉａ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sq, err := parseQuery(q)
		if err != nil {
			return
		}
		n := len(sq.tokens)
		if sq.email != "" {
			n++
		}
		if n < 1 || n > maxQueryTerms {
			t.Fatalf("parseQuery(%q): %d terms", q, n)
		}
		seen := map[string]bool{}
		for _, tok := range sq.tokens {
			if seen[tok] {
				t.Fatalf("parseQuery(%q): %q twice", q, tok)
			}
			seen[tok] = true
			if _, err := keys.Normalize(keys.IndexSearch, tok); err != nil {
				t.Fatalf("parseQuery(%q): token %q refused: %v", q, tok, err)
			}
			kind, text, _ := strings.Cut(tok, ":")
			switch kind + ":" {
			case tokName:
				if utf8.RuneCountInString(text) >= minPrefix {
					t.Fatalf("parseQuery(%q): %q is long enough to be a prefix", q, tok)
				}
			case tokPrefix:
				if c := utf8.RuneCountInString(text); c < minPrefix || c > maxPrefix {
					t.Fatalf("parseQuery(%q): prefix %q of %d characters", q, tok, c)
				}
				// A record named by the term has the token.
				if !contains(searchTokens(SearchFields{Name: text, BirthDate: "2000-01-01", Phone: "12345"}), tok) {
					t.Fatalf("parseQuery(%q): a record named %q lacks %q", q, text, tok)
				}
			case tokBirth:
				if _, err := keys.Normalize(keys.IndexBirthDate, text); err != nil {
					t.Fatalf("parseQuery(%q): birth %q", q, text)
				}
			case tokPhone:
				if len(text) < 5 || len(text) > phoneDigits || strings.Trim(text, "0123456789") != "" {
					t.Fatalf("parseQuery(%q): phone %q", q, text)
				}
			default:
				t.Fatalf("parseQuery(%q): token %q of no known kind", q, tok)
			}
		}
		for _, l := range sq.long {
			if utf8.RuneCountInString(l) <= maxPrefix {
				t.Fatalf("parseQuery(%q): long term %q", q, l)
			}
		}
		// A record named by the long terms passes the check they need.
		if !sq.nameMatches(strings.Join(sq.long, " ")) {
			t.Fatalf("parseQuery(%q): a record named by %q does not match", q, sq.long)
		}
	})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
