package detect

import (
	"strings"
	"unicode"
)

// Op is how a Text condition compares a field with its values.
type Op int

const (
	// Any holds for every value: the zero Text.
	Any Op = iota
	// Is: the field equals one of the values.
	Is
	// IsNot: the field equals none of the values.
	IsNot
	// Contains: the field contains one of the values.
	Contains
	// StartsWith: the field starts with one of the values.
	StartsWith
	// RoleChangedTo: the field reads "<...>role changed from <old> to <new>"
	// and <new> contains one of the values (a demotion from admin does not
	// hold).
	RoleChangedTo
)

// Text is a condition on a text field. Values are lower case and trimmed;
// the field is compared without regard to case or surrounding whitespace.
type Text struct {
	Op     Op
	Values []string
}

// matchValue tests a whole, trimmed value.
func (t Text) matchValue(s string) bool {
	switch t.Op {
	case Any:
		return true
	case IsNot:
		return !t.anyHolds(s)
	}
	return t.anyHolds(s)
}

// matchLines tests each line of s: the condition holds if it holds for
// any line; for IsNot, if no line equals a value.
func (t Text) matchLines(s string) bool {
	switch t.Op {
	case Any:
		return true
	case IsNot:
		return !t.anyLineHolds(s)
	}
	return t.anyLineHolds(s)
}

func (t Text) anyLineHolds(s string) bool {
	for {
		line, rest, more := strings.Cut(s, "\n")
		if t.anyHolds(strings.TrimSpace(line)) {
			return true
		}
		if !more {
			return false
		}
		s = rest
	}
}

// anyHolds reports whether the trimmed s holds for one of the values: IsNot
// is tested as Is, and negated by the caller.
func (t Text) anyHolds(s string) bool {
	if t.Op == RoleChangedTo {
		s = newRole(s) // once, not once per value
	}
	for _, v := range t.Values {
		var ok bool
		switch t.Op {
		case Is, IsNot:
			ok = strings.EqualFold(s, v)
		case StartsWith:
			ok = hasPrefixFold(s, v)
		case Contains, RoleChangedTo:
			ok = indexFold(s, v) >= 0
		}
		if ok {
			return true
		}
	}
	return false
}

const roleChangedFrom = "role changed from "

// newRole is <new> in "<...>role changed from <old> to <new>", or "" when s
// does not read so. Like Panther's pattern, <new> follows the last " to ".
func newRole(s string) string {
	i := indexFold(s, roleChangedFrom)
	if i < 0 {
		return ""
	}
	rest := s[i+len(roleChangedFrom):]
	j := lastIndexFold(rest, " to ")
	if j < 0 {
		return ""
	}
	return rest[j+len(" to "):]
}

// indexFold is the index of the first sub in s, ASCII letters compared
// without regard to case; sub is lower case ASCII. -1 if there is none.
func indexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if lower(s[i]) == first && hasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}

// lastIndexFold is indexFold's last occurrence.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if hasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, lowerPrefix string) bool {
	if len(s) < len(lowerPrefix) {
		return false
	}
	for i := 0; i < len(lowerPrefix); i++ {
		if lower(s[i]) != lowerPrefix[i] {
			return false
		}
	}
	return true
}

// lower is c in lower case if it is an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isOneOf reports whether the trimmed s equals one of values, without
// regard to case.
func isOneOf(s string, values []string) bool {
	for _, v := range values {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// hasUpper reports whether s has an upper case letter (ASCII or not).
func hasUpper(s string) bool {
	for _, r := range s {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}
