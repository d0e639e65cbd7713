package password

import (
	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// MinGuesses is how many guesses the zxcvbn estimator must expect an attacker to need before a
// password is accepted: 10^8, the estimator's own line above which a password resists an
// unthrottled online attack (its score 3, "safely unguessable" with a slow hash). A common
// password with trivial changes ("Password1!", "password12345", "p@ssw0rd") is estimated at
// 10^4 to 10^7; four ordinary words, or 15 random characters, far above.
const MinGuesses = 1e8

// estimateRunes bounds the characters the estimator reads. Its cost grows faster than the
// length: on the reference machine (2 vCPUs) at most about 0.1 s for 64 characters, against
// 0.15 s for 100 and 4 s for 256. Characters past the bound can only add guesses, so a password
// whose first estimateRunes characters pass is accepted with reason, and one whose prefix is
// guessable is refused even if what follows would have saved it: choose another then.
const estimateRunes = 64

// guessable reports whether zxcvbn estimates fewer than MinGuesses guesses for normal (a
// normalised, valid password), taking the context words as known to the attacker, and why in
// words a person understands.
func guessable(normal string, contextWords []string) (string, bool) {
	if r := []rune(normal); len(r) > estimateRunes {
		normal = string(r[:estimateRunes])
	}
	res := zxcvbn.PasswordStrength(normal, contextWords)
	if res.Guesses >= MinGuesses {
		return "", false
	}
	return why(res.Sequence), true
}

// why names the weakest pattern the estimator found, in priority of what a person can act on.
func why(seq []*match.Match) string {
	has := func(ok func(m *match.Match) bool) bool {
		for _, m := range seq {
			if ok(m) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(m *match.Match) bool { return m.Pattern == "dictionary" && m.DictionaryName == "user_inputs" }):
		return "it is built on your name, your e-mail address or the name of this service"
	case has(func(m *match.Match) bool { return m.Pattern == "dictionary" && m.DictionaryName == "passwords" }):
		return "it is a commonly used password with small changes (capitals, digits or symbols added, letters swapped for look-alikes), which attackers try early"
	case has(func(m *match.Match) bool { return m.Pattern == "repeat" }):
		return "it repeats the same characters or words"
	case has(func(m *match.Match) bool { return m.Pattern == "sequence" || m.Pattern == "spatial" }):
		return "it follows a sequence or a keyboard pattern, such as abcd, 1234 or qwerty"
	case has(func(m *match.Match) bool { return m.Pattern == "dictionary" }):
		return "it is a common word or name with small changes"
	case has(func(m *match.Match) bool { return m.Pattern == "date" || m.Pattern == "regex" }):
		return "it leans on a date or a year"
	}
	return "it is short and has no unusual words"
}
