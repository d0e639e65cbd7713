package store

import (
	"strconv"
	"strings"
)

// MaxInList is the most values one InList holds; callers split longer lists (slices.Chunk).
const MaxInList = 512

// InList returns an IN list of placeholders, "($first, $first+1, …)", and its arguments for
// values (1 to MaxInList of them). The list is padded to the next power of two by repeating the
// last value, which changes nothing in an IN and keeps a query built with it to at most ten
// texts, each prepared once (Stmt) instead of parsed on every call.
func InList(first int, values []string) (string, []any) {
	if len(values) == 0 || len(values) > MaxInList {
		panic("store: InList of " + strconv.Itoa(len(values)) + " values")
	}
	n := 1
	for n < len(values) {
		n *= 2
	}
	args := make([]any, n)
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
		args[i] = values[min(i, len(values)-1)]
	}
	b.WriteByte(')')
	return b.String(), args
}
