package fhir

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Query is a search's parameters.
type Query struct{ v url.Values }

// NewQuery wraps parsed parameters (tests and $everything build their own).
func NewQuery(v url.Values) Query { return Query{v: v} }

// Has reports whether the search names parameter name.
func (q Query) Has(name string) bool { _, ok := q.v[name]; return ok }

// Get is the parameter's first value ("" if absent).
func (q Query) Get(name string) string { return q.v.Get(name) }

// Values are every value of a parameter, each split on commas (a comma is an OR in FHIR
// search; repeating a parameter is an AND).
func (q Query) Values(name string) [][]string {
	var out [][]string
	for _, v := range q.v[name] {
		out = append(out, splitOr(v))
	}
	return out
}

func splitOr(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Reference is the id a reference parameter names, of type typ: "Patient/abc", "abc", or a
// full URL ending in "Patient/abc". ok is false if the parameter is absent; a reference to
// another type is an error.
func (q Query) Reference(name, typ string) (id string, ok bool, err error) {
	v := q.Get(name)
	if v == "" {
		return "", false, nil
	}
	if i := strings.LastIndex(v, "/"); i >= 0 {
		head := strings.TrimSuffix(v[:i], "/")
		if !strings.HasSuffix(head, typ) || (len(head) > len(typ) && head[len(head)-len(typ)-1] != '/') {
			return "", true, ErrInvalid(fmt.Sprintf("%s must refer to a %s, such as %s/<id>", name, typ, typ))
		}
		v = v[i+1:]
	}
	if v == "" {
		return "", true, ErrInvalid(fmt.Sprintf("%s must name a %s id", name, typ))
	}
	return v, true, nil
}

// Token is one token search value: system|code, |code (no system), code (any system).
type Token struct {
	System    string
	Code      string
	AnySystem bool
}

// Match reports whether a coding matches the token.
func (t Token) Match(system, code string) bool {
	if t.Code != "" && t.Code != code {
		return false
	}
	return t.AnySystem || t.System == system
}

// Tokens are the token values of parameter name: each inner list is one AND term, its
// tokens ORed.
func (q Query) Tokens(name string) [][]Token {
	var out [][]Token
	for _, or := range q.Values(name) {
		var ts []Token
		for _, v := range or {
			sys, code, hasBar := strings.Cut(v, "|")
			if !hasBar {
				ts = append(ts, Token{Code: v, AnySystem: true})
			} else {
				ts = append(ts, Token{System: sys, Code: code})
			}
		}
		out = append(out, ts)
	}
	return out
}

// MatchTokens reports whether a resource whose codings are cs matches every AND term of
// terms (some token of each term matches some coding).
func MatchTokens(terms [][]Token, cs ...Coding) bool {
	for _, term := range terms {
		hit := false
		for _, t := range term {
			for _, c := range cs {
				if t.Match(c.System, c.Code) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// DateParam is one date search value: a prefix and the range its value covers at its
// precision (2026 covers the whole year).
type DateParam struct {
	Prefix string // eq ne gt lt ge le sa eb ap
	Lo, Hi time.Time
}

var datePrefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

// ParseDate reads a date search value with its optional prefix.
func ParseDate(v string) (DateParam, error) {
	d := DateParam{Prefix: "eq"}
	for _, p := range datePrefixes {
		if strings.HasPrefix(v, p) {
			d.Prefix, v = p, v[len(p):]
			break
		}
	}
	layouts := []struct {
		layout string
		span   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Nanosecond) }},
	}
	for _, l := range layouts {
		if len(v) > 10 && len(l.layout) <= 10 {
			continue
		}
		if t, err := time.Parse(l.layout, v); err == nil {
			d.Lo, d.Hi = t, l.span(t)
			return d, nil
		}
	}
	return DateParam{}, ErrInvalid("a date must be written YYYY, YYYY-MM, YYYY-MM-DD or a full date and time with its zone, after an optional prefix such as ge or lt")
}

// Match reports whether a target, an instant or the range [lo, hi) of a period or a date,
// matches, as FHIR defines each prefix over the ranges of the target and the search value.
func (d DateParam) Match(lo, hi time.Time) bool {
	if hi.IsZero() || !hi.After(lo) {
		hi = lo.Add(time.Nanosecond)
	}
	within := !lo.Before(d.Lo) && !hi.After(d.Hi)
	switch d.Prefix {
	case "eq":
		return within
	case "ne":
		return !within
	case "gt":
		return hi.After(d.Hi)
	case "lt":
		return lo.Before(d.Lo)
	case "ge":
		return hi.After(d.Hi) || within
	case "le":
		return lo.Before(d.Lo) || within
	case "sa":
		return !lo.Before(d.Hi)
	case "eb":
		return !hi.After(d.Lo)
	case "ap":
		margin := d.Hi.Sub(d.Lo) / 10
		if margin < time.Hour {
			margin = time.Hour
		}
		return lo.Before(d.Hi.Add(margin)) && hi.After(d.Lo.Add(-margin))
	}
	return false
}

// Dates are the date values of parameter name (each an AND term; commas OR).
func (q Query) Dates(name string) ([][]DateParam, error) {
	var out [][]DateParam
	for _, or := range q.Values(name) {
		var ds []DateParam
		for _, v := range or {
			d, err := ParseDate(v)
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		out = append(out, ds)
	}
	return out, nil
}

// MatchDates reports whether [lo, hi) matches every AND term of terms. A resource with no
// date (lo zero) matches no date search.
func MatchDates(terms [][]DateParam, lo, hi time.Time) bool {
	for _, term := range terms {
		if lo.IsZero() {
			return false
		}
		hit := false
		for _, d := range term {
			if d.Match(lo, hi) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}
