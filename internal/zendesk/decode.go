package zendesk

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the fast path of AuditLog.UnmarshalJSON: one pass over the
// bytes, no reflection, one allocation for all the strings of a record
// (unescaped as encoding/json does, by unquote). It decides only what it
// can decide exactly as encoding/json would; for anything else (an error
// of any kind, a member name with escapes or non-ASCII bytes, a number
// that is not an int64, nesting deeper than maxSkipDepth...) it reports
// false and the caller decodes
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
	// scratch holds the unescaped content of the strings of the record
	// being decoded that are not their own value (see recordState.plain);
	// reused from record to record.
	scratch []byte
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

// unquote appends to dst the value of the JSON string content (between
// the quotes, already checked by str), exactly as encoding/json's
// unquoteBytes makes it: escapes decoded, a \u escape of a lone or
// mismatched surrogate and each byte of invalid UTF-8 replaced with
// U+FFFD.
func unquote(dst, content []byte) []byte {
	for i := 0; i < len(content); {
		switch c := content[i]; {
		case c == '\\':
			switch e := content[i+1]; e {
			case 'u':
				r := hex4(content[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					r1 := rune(-1)
					if len(content)-i >= 6 && content[i] == '\\' && content[i+1] == 'u' {
						r1 = hex4(content[i+2 : i+6])
					}
					if dec := utf16.DecodeRune(r, r1); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
					r = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, r)
				continue
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(content[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
			} else {
				dst = append(dst, content[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// hex4 is the value of four hex digits, checked by str.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
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
	// strs[k] is where the value of string field firstStringField+k lies
	// when its last value was a string (hasStr[k]): in decoder.b if the
	// string is its own value, else, unescaped, in decoder.scratch
	// (inScratch[k]). The bytes are copied into one string for the record
	// at the end.
	strs      [stringFieldCount]span
	hasStr    [stringFieldCount]bool
	inScratch [stringFieldCount]bool
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
	d.scratch = d.scratch[:0]
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
			st.hasStr[f-firstStringField] = false
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
		s, e, flags, ok := d.str()
		if !ok {
			return false
		}
		k := f - firstStringField
		st.hasStr[k] = true
		if plainContent(d.b[s:e], flags) {
			st.strs[k], st.inScratch[k] = span{s, e}, false
			return true
		}
		n := len(d.scratch)
		d.scratch = unquote(d.scratch, d.b[s:e])
		st.strs[k], st.inScratch[k] = span{n, len(d.scratch)}, true
	default:
		v, ok := d.int64()
		if !ok {
			return false
		}
		*a.intField(f) = Some(v)
	}
	return true
}

// finish stores the strings and the unknown members: one allocation
// for all the strings, and for Extra one for the names, one for the values
// and the map.
func (d *decoder) finish(a *AuditLog, st *recordState) {
	n := 0
	for k, p := range st.hasStr {
		if p {
			n += st.strs[k].end - st.strs[k].start
		}
	}
	var sb strings.Builder
	sb.Grow(n) // no allocation when n is 0
	for k, p := range st.hasStr {
		switch {
		case !p:
		case st.inScratch[k]:
			sb.Write(d.scratch[st.strs[k].start:st.strs[k].end])
		default:
			sb.Write(d.b[st.strs[k].start:st.strs[k].end])
		}
	}
	all := sb.String()
	off := 0
	for k, p := range st.hasStr {
		if p {
			l := st.strs[k].end - st.strs[k].start
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
