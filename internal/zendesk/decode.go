package zendesk

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the fast path of AuditLog.UnmarshalJSON: one pass over the
// bytes, no reflection, one allocation for all the plain strings of a
// record. It decides only what it can decide exactly as encoding/json
// would; for anything else (an error of any kind, a string or member name
// with escapes or non-ASCII bytes, a number that is not an int64, nesting
// deeper than maxSkipDepth...) it reports false and the caller decodes
// with decodeSlow, the encoding/json path, so that the result and the
// error are the same by construction. FuzzAuditLogDecodeMatchesEncodingJSON
// checks it.

// The fields of AuditLog, as the fast path numbers them.
const (
	fieldUnknown = iota
	fieldID
	fieldActorID
	fieldSourceID
	fieldCreatedAt
	// The string fields come last, in strField's order.
	fieldURL
	fieldAction
	fieldActionLabel
	fieldActorName
	fieldChangeDescription
	fieldIPAddress
	fieldSourceLabel
	fieldSourceType

	firstStringField = fieldURL
	stringFieldCount = fieldSourceType - fieldURL + 1
)

// strField returns the string field numbered f.
func (a *AuditLog) strField(f int) *Optional[string] {
	switch f {
	case fieldURL:
		return &a.URL
	case fieldAction:
		return &a.Action
	case fieldActionLabel:
		return &a.ActionLabel
	case fieldActorName:
		return &a.ActorName
	case fieldChangeDescription:
		return &a.ChangeDescription
	case fieldIPAddress:
		return &a.IPAddress
	case fieldSourceLabel:
		return &a.SourceLabel
	default:
		return &a.SourceType
	}
}

func (a *AuditLog) intField(f int) *Optional[int64] {
	switch f {
	case fieldID:
		return &a.ID
	case fieldActorID:
		return &a.ActorID
	default:
		return &a.SourceID
	}
}

// fieldOf numbers a member name made of ASCII bytes only. encoding/json
// matches names exactly, then without regard to case (for ASCII, a-z
// against A-Z); unknownMembers lowercases them. For ASCII both come to a
// comparison of the lowercased name, done here.
func fieldOf(name []byte) int {
	if f := exactField(name); f != fieldUnknown {
		return f
	}
	const longest = len("change_description")
	if len(name) > longest {
		return fieldUnknown
	}
	var buf [longest]byte
	upper := false
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			upper = true
		}
		buf[i] = c
	}
	if !upper {
		return fieldUnknown
	}
	return exactField(buf[:len(name)])
}

func exactField(name []byte) int {
	switch string(name) {
	case "id":
		return fieldID
	case "url":
		return fieldURL
	case "action":
		return fieldAction
	case "action_label":
		return fieldActionLabel
	case "actor_id":
		return fieldActorID
	case "actor_name":
		return fieldActorName
	case "change_description":
		return fieldChangeDescription
	case "created_at":
		return fieldCreatedAt
	case "ip_address":
		return fieldIPAddress
	case "source_id":
		return fieldSourceID
	case "source_label":
		return fieldSourceLabel
	case "source_type":
		return fieldSourceType
	}
	return fieldUnknown
}

// maxSkipDepth bounds the nesting the fast path checks itself (well under
// encoding/json's own limit of 10000); deeper values go the slow way.
const maxSkipDepth = 512

// String flags from decoder.str.
const (
	strEscaped = 1 << iota // holds a backslash escape
	strHigh                // holds a byte >= 0x80
)

// plainByte marks the bytes a JSON string holds as they are: not a quote,
// not a backslash, not a control character, and ASCII.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// decoder reads JSON from b at i, strictly: it accepts only what
// encoding/json's scanner accepts.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal consumes lit (true, false or null).
func (d *decoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// str consumes a string and returns the bounds of its content (between the
// quotes) and what it holds.
func (d *decoder) str() (start, end int, flags int, ok bool) {
	if !d.eat('"') {
		return 0, 0, 0, false
	}
	b := d.b
	start = d.i
	i := d.i
	for {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, 0, 0, false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return start, i, flags, true
		case c == '\\':
			flags |= strEscaped
			if i+1 >= len(b) {
				return 0, 0, 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, 0, 0, false
				}
				i += 6
			default:
				return 0, 0, 0, false
			}
		case c < 0x20:
			return 0, 0, 0, false
		default: // >= 0x80; encoding/json's scanner takes any such byte
			flags |= strHigh
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number consumes a number as JSON defines it.
func (d *decoder) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	d.i = i
	return true
}

// int64 consumes a number that encoding/json stores in an int64 without
// error: an optional minus and digits (JSON allows no leading zero), in
// range. Anything else, fraction and exponent included, is false.
func (d *decoder) int64() (int64, bool) {
	b, i := d.b, d.i
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var u uint64
	for i < len(b) && isDigit(b[i]) {
		if i-start == 19 { // 20 digits are more than an int64 holds
			return 0, false
		}
		u = u*10 + uint64(b[i]-'0')
		i++
	}
	switch {
	case i == start:
		return 0, false
	case b[start] == '0' && i-start > 1:
		return 0, false // a leading zero: not JSON
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return 0, false
	}
	var v int64
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		v = -int64(u) // -(1<<63) wraps to itself
	} else {
		if u > 1<<63-1 {
			return 0, false
		}
		v = int64(u)
	}
	d.i = i
	return v, true
}

// skip consumes one value of any kind, checking it as encoding/json's
// scanner does.
func (d *decoder) skip(depth int) bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		_, _, _, ok := d.str()
		return ok
	case '{':
		if depth >= maxSkipDepth {
			return false
		}
		d.i++
		d.ws()
		if d.eat('}') {
			return true
		}
		for {
			d.ws()
			if _, _, _, ok := d.str(); !ok {
				return false
			}
			d.ws()
			if !d.eat(':') {
				return false
			}
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			return d.eat('}')
		}
	case '[':
		if depth >= maxSkipDepth {
			return false
		}
		d.i++
		d.ws()
		if d.eat(']') {
			return true
		}
		for {
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			return d.eat(']')
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		return d.number()
	}
}

// plainContent reports whether a string with these flags and content is its
// own value: no escape, and valid UTF-8 (encoding/json replaces invalid
// bytes with U+FFFD).
func plainContent(content []byte, flags int) bool {
	return flags&strEscaped == 0 && (flags&strHigh == 0 || utf8.Valid(content))
}

// span is where a value lies in decoder.b.
type span struct{ start, end int }

// unknownMember is a member for Extra: its name's content and its value.
type unknownMember struct{ name, value span }

// recordState is what decoding one record collects before it is built.
type recordState struct {
	// plain[k] is the content of string field firstStringField+k when its
	// last value was a string held as is; its bytes are copied into one
	// string for the record at the end.
	plain   [stringFieldCount]span
	isPlain [stringFieldCount]bool
	// The unknown members: the first few in unknown0, all of them in
	// unknownMore once there are more.
	nUnknown    int
	unknown0    [4]unknownMember
	unknownMore []unknownMember
}

func (st *recordState) addUnknown(m unknownMember) {
	if st.unknownMore == nil {
		if st.nUnknown < len(st.unknown0) {
			st.unknown0[st.nUnknown] = m
			st.nUnknown++
			return
		}
		st.unknownMore = append(make([]unknownMember, 0, 4*len(st.unknown0)), st.unknown0[:]...)
	}
	st.unknownMore = append(st.unknownMore, m)
}

func (st *recordState) unknowns() []unknownMember {
	if st.unknownMore != nil {
		return st.unknownMore
	}
	return st.unknown0[:st.nUnknown]
}

// record decodes the object at d.i into a, which must be the zero value,
// and leaves d.i after it. False means the fast path does not decide: a
// may then hold part of the record and d.i is anywhere.
func (d *decoder) record(a *AuditLog) bool {
	if !d.eat('{') {
		return false
	}
	var st recordState
	d.ws()
	if !d.eat('}') {
		for {
			d.ws()
			ks, ke, kflags, ok := d.str()
			if !ok || kflags != 0 {
				// Escaped or non-ASCII names need encoding/json's own
				// unescaping and Unicode case folding.
				return false
			}
			d.ws()
			if !d.eat(':') {
				return false
			}
			d.ws()
			if d.i >= len(d.b) {
				return false
			}
			if !d.member(a, &st, fieldOf(d.b[ks:ke]), span{ks, ke}) {
				return false
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				break
			}
			return false
		}
	}
	d.finish(a, &st)
	return true
}

// member decodes the value at d.i of the member numbered f.
func (d *decoder) member(a *AuditLog, st *recordState, f int, name span) bool {
	if f == fieldUnknown {
		start := d.i
		if !d.skip(0) {
			return false
		}
		st.addUnknown(unknownMember{name, span{start, d.i}})
		return true
	}
	isNull := d.b[d.i] == 'n'
	if isNull && !d.literal("null") {
		return false
	}
	switch {
	case isNull:
		// Optional.UnmarshalJSON: null is absent, whatever came before.
		switch {
		case f == fieldCreatedAt:
			a.CreatedAt = Optional[time.Time]{}
		case f >= firstStringField:
			*a.strField(f) = Optional[string]{}
			st.isPlain[f-firstStringField] = false
		default:
			*a.intField(f) = Optional[int64]{}
		}
	case f == fieldCreatedAt:
		start := d.i
		if _, _, _, ok := d.str(); !ok {
			return false
		}
		// What encoding/json hands time.Time: the literal, quotes and
		// escapes included.
		var t time.Time
		if t.UnmarshalJSON(d.b[start:d.i]) != nil {
			return false
		}
		a.CreatedAt = Some(t)
	case f >= firstStringField:
		start := d.i
		s, e, flags, ok := d.str()
		if !ok {
			return false
		}
		k := f - firstStringField
		if plainContent(d.b[s:e], flags) {
			st.plain[k], st.isPlain[k] = span{s, e}, true
			return true
		}
		var v string
		if json.Unmarshal(d.b[start:d.i], &v) != nil {
			return false
		}
		*a.strField(f), st.isPlain[k] = Some(v), false
	default:
		v, ok := d.int64()
		if !ok {
			return false
		}
		*a.intField(f) = Some(v)
	}
	return true
}

// finish stores the plain strings and the unknown members: one allocation
// for all the strings, and for Extra one for the names, one for the values
// and the map.
func (d *decoder) finish(a *AuditLog, st *recordState) {
	n := 0
	for k, p := range st.isPlain {
		if p {
			n += st.plain[k].end - st.plain[k].start
		}
	}
	var sb strings.Builder
	sb.Grow(n) // no allocation when n is 0
	for k, p := range st.isPlain {
		if p {
			sb.Write(d.b[st.plain[k].start:st.plain[k].end])
		}
	}
	all := sb.String()
	off := 0
	for k, p := range st.isPlain {
		if p {
			l := st.plain[k].end - st.plain[k].start
			*a.strField(firstStringField + k) = Some(all[off : off+l])
			off += l
		}
	}
	unknown := st.unknowns()
	if len(unknown) == 0 {
		return
	}
	names, values := 0, 0
	for _, m := range unknown {
		names += m.name.end - m.name.start
		values += m.value.end - m.value.start
	}
	var nb strings.Builder
	nb.Grow(names)
	for _, m := range unknown {
		nb.Write(d.b[m.name.start:m.name.end])
	}
	allNames := nb.String()
	buf := make([]byte, 0, values)
	extra := make(map[string]json.RawMessage, len(unknown))
	off = 0
	for _, m := range unknown {
		name := allNames[off : off+m.name.end-m.name.start]
		off += len(name)
		v0 := len(buf)
		buf = append(buf, d.b[m.value.start:m.value.end]...)
		// Capped, so that appending to one value never writes over the
		// next; duplicate names: the last wins, as in a map.
		extra[name] = json.RawMessage(buf[v0:len(buf):len(buf)])
	}
	a.Extra = extra
}
