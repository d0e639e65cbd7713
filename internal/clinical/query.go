package clinical

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"haven/internal/fault"
	"haven/internal/keys"
)

// A free-text search: what a clinician types to find a patient ("maria lopez", "lop
// 1980-02-29", "+34 612 345 678"). Each word is a term and every term must match:
//
//   - a date, YYYY-MM-DD, is a birth date;
//   - digits with the punctuation of a phone number (+ - ( ) .) are a phone number: words of
//     them in a row are one number until it has nine digits ("+34 612 345 678"), and its last
//     nine digits are what must match;
//   - a word with @ is an e-mail address, matched whole (through its blind index);
//   - anything else is name parts (folded and cut as a record's name is, tokens.go): a part of
//     one or two characters must be a whole name part, a longer one the start of one.
//
// The terms become search tokens (one each) computed as a record's are; nothing typed is kept.

const (
	maxQueryRunes = 200
	maxQueryTerms = 8
)

// Errors a person reads when the search cannot run.
var (
	ErrEmptySearch = fault.InvalidField("q", "enter a name, phone or date of birth to search")
	errLongSearch  = fault.InvalidField("q", "search with at most 200 characters")
	errManyTerms   = fault.InvalidField("q", "search with at most 8 names, numbers or dates")
	errSearchDate  = fault.InvalidField("q", "enter a date of birth as YYYY-MM-DD, for example 1980-02-29")
	errShortPhone  = fault.InvalidField("q", "enter the whole phone number, with or without its country code")
	errTwoEmails   = fault.InvalidField("q", "search with one e-mail address at a time")
)

// searchQuery is a parsed free-text search.
type searchQuery struct {
	// tokens are the typed words every match must have (tokens.go), without duplicates.
	tokens []string
	// long are the name terms longer than maxPrefix: their token matches the first maxPrefix
	// characters, so a record is shown only if one of its name parts starts with the whole term.
	long []string
	// email is the normalised e-mail address to match, or "".
	email string
}

// parseQuery reads a free-text search. Its errors are for the person who typed it.
func parseQuery(q string) (searchQuery, error) {
	var sq searchQuery
	if !utf8.ValidString(q) {
		return sq, ErrEmptySearch
	}
	if utf8.RuneCountInString(q) > maxQueryRunes {
		return sq, errLongSearch
	}
	var phone strings.Builder // the phone number being read, digits only
	flush := func() error {
		if phone.Len() == 0 {
			return nil
		}
		d := phone.String()
		phone.Reset()
		if len(d) < 5 {
			return errShortPhone
		}
		sq.tokens = append(sq.tokens, tokPhone+d[max(0, len(d)-phoneDigits):])
		return nil
	}
	for _, w := range strings.Fields(q) {
		kind := termKind(w)
		if kind != termPhone && kind != termNothing {
			if err := flush(); err != nil {
				return sq, err
			}
		}
		switch kind {
		case termEmail:
			e, err := keys.Normalize(keys.IndexEmail, w)
			if err != nil {
				continue
			}
			if sq.email != "" && sq.email != e {
				return sq, errTwoEmails
			}
			sq.email = e
		case termDate:
			d, err := time.Parse("2006-1-2", w)
			if err != nil {
				return sq, errSearchDate
			}
			sq.tokens = append(sq.tokens, tokBirth+d.Format(time.DateOnly))
		case termBadDate:
			return sq, errSearchDate
		case termPhone:
			// A new number starts with a "+", or once the one being read is long enough.
			if phone.Len() >= phoneDigits || (phone.Len() > 0 && strings.HasPrefix(w, "+")) {
				if err := flush(); err != nil {
					return sq, err
				}
			}
			phone.WriteString(digitsOf(w))
		case termName:
			for _, p := range nameParts(w) {
				sq.tokens = append(sq.tokens, nameTermToken(p))
				if utf8.RuneCountInString(p) > maxPrefix {
					sq.long = append(sq.long, p)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return sq, err
	}
	sq.tokens = dedupe(sq.tokens)
	n := len(sq.tokens)
	if sq.email != "" {
		n++
	}
	if n == 0 {
		return sq, ErrEmptySearch
	}
	if n > maxQueryTerms {
		return sq, errManyTerms
	}
	return sq, nil
}

// parseNameQuery reads a search for a name alone (the privacy officer's filter): every word is
// name parts.
func parseNameQuery(q string) (searchQuery, error) {
	var sq searchQuery
	if !utf8.ValidString(q) || utf8.RuneCountInString(q) > maxQueryRunes {
		return sq, errLongSearch
	}
	for _, p := range nameParts(q) {
		sq.tokens = append(sq.tokens, nameTermToken(p))
		if utf8.RuneCountInString(p) > maxPrefix {
			sq.long = append(sq.long, p)
		}
	}
	sq.tokens = dedupe(sq.tokens)
	if len(sq.tokens) == 0 {
		return sq, ErrEmptySearch
	}
	if len(sq.tokens) > maxQueryTerms {
		return sq, errManyTerms
	}
	return sq, nil
}

// nameMatches reports whether a record's name has, for each long term, a part that starts
// with it: what the tokens, cut at maxPrefix characters, could not tell.
func (sq searchQuery) nameMatches(name string) bool {
	if len(sq.long) == 0 {
		return true
	}
	parts := nameParts(name)
	for _, t := range sq.long {
		found := false
		for _, p := range parts {
			if strings.HasPrefix(p, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type term int

const (
	termName term = iota
	termEmail
	termDate
	termBadDate // a date in another form (29/02/1980, 1980.02.29): refused rather than guessed
	termPhone
	termNothing // punctuation alone
)

// termKind says what one typed word is.
func termKind(w string) term {
	if strings.Contains(w, "@") {
		return termEmail
	}
	letters, digits, phoneish := false, false, true
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			letters = true
		case !strings.ContainsRune("+-().", r):
			phoneish = false
		}
	}
	switch {
	case letters:
		return termName
	case !digits:
		return termNothing
	}
	if g := dateGroups(w); g != nil {
		switch {
		case len(g[0]) == 4 && len(g[1]) <= 2 && len(g[2]) <= 2 && strings.Count(w, "-") == 2:
			return termDate
		case len(g[0]) == 4 && len(g[1]) <= 2 && len(g[2]) <= 2, len(g[2]) == 4 && len(g[0]) <= 2 && len(g[1]) <= 2:
			return termBadDate
		}
	}
	switch {
	case phoneish:
		return termPhone
	case strings.ContainsRune(w, '/'):
		return termBadDate
	}
	return termName
}

// dateGroups cuts w into three groups of digits at "-", "/" or ".", or returns nil.
func dateGroups(w string) []string {
	g := strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(g) != 3 || len(w) != len(g[0])+len(g[1])+len(g[2])+2 {
		return nil
	}
	for _, s := range g {
		if s == "" || strings.Trim(s, "0123456789") != "" {
			return nil
		}
	}
	return g
}
