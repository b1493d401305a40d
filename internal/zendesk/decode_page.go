package zendesk

import "encoding/json"

// DecodeCursorPage decodes a body of the cursor-paginated listing into the
// Page List makes of it (without List's check of has_more against
// after_cursor, which depends on the request). It gives the same records,
// cursors and has_more as json.Unmarshal into a cursorPageBody, and on
// error the same error, unwrapped.
//
// Unlike json.Unmarshal, which reads the whole body twice before handing
// each record to AuditLog.UnmarshalJSON, it reads the body once.
func DecodeCursorPage(b []byte) (*Page, error) {
	var body cursorPageBody
	if err := body.decode(b); err != nil {
		return nil, err
	}
	page := &Page{AuditLogs: body.AuditLogs, HasMore: body.Meta.HasMore}
	if body.Meta.AfterCursor != nil {
		page.AfterCursor = *body.Meta.AfterCursor
	}
	if body.Meta.BeforeCursor != nil {
		page.BeforeCursor = *body.Meta.BeforeCursor
	}
	return page, nil
}

// decode is json.Unmarshal(b, p) for a zero p: the same result, the same
// error. What the single pass does not decide itself (anything invalid or
// of the wrong type, escaped or non-ASCII member names, audit_logs twice)
// goes to json.Unmarshal.
func (p *cursorPageBody) decode(b []byte) error {
	if p.decodeFast(b) {
		return nil
	}
	*p = cursorPageBody{}
	return json.Unmarshal(b, p)
}

// decodeFast decodes b into the zero p, or reports false and leaves p
// unchanged.
func (p *cursorPageBody) decodeFast(b []byte) bool {
	d := decoder{b: b}
	d.ws()
	if !d.eat('{') {
		return false
	}
	var (
		logs     []AuditLog
		seenLogs bool
		meta     = p.Meta
	)
	d.ws()
	if !d.eat('}') {
		for {
			d.ws()
			ks, ke, kflags, ok := d.str()
			if !ok || kflags != 0 {
				return false
			}
			d.ws()
			if !d.eat(':') {
				return false
			}
			d.ws()
			if d.i >= len(b) {
				return false
			}
			switch name := b[ks:ke]; {
			case equalFoldASCII(name, "audit_logs"):
				// A second audit_logs decodes over the first one's
				// records in encoding/json: left to it.
				if seenLogs {
					return false
				}
				seenLogs = true
				if b[d.i] == 'n' {
					if !d.literal("null") {
						return false
					}
				} else if logs, ok = d.auditLogs(); !ok {
					return false
				}
			case equalFoldASCII(name, "meta"):
				if !d.meta(&meta.HasMore, &meta.AfterCursor, &meta.BeforeCursor) {
					return false
				}
			default:
				if !d.skip(0) {
					return false
				}
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
	d.ws()
	if d.i != len(b) {
		return false
	}
	p.AuditLogs, p.Meta = logs, meta
	return true
}

// auditLogs decodes the array of records at d.i. A null record is the zero
// AuditLog, as AuditLog.UnmarshalJSON leaves it; an empty array is an empty,
// non-nil slice, as encoding/json makes it.
func (d *decoder) auditLogs() ([]AuditLog, bool) {
	if !d.eat('[') {
		return nil, false
	}
	d.ws()
	if d.eat(']') {
		return []AuditLog{}, true
	}
	// Records run to a few hundred bytes: room for the page without
	// growing, and rarely much more than it needs.
	logs := make([]AuditLog, 0, min(MaxPageSize, (len(d.b)-d.i)/256+1))
	for {
		d.ws()
		if d.i >= len(d.b) {
			return nil, false
		}
		logs = append(logs, AuditLog{})
		switch d.b[d.i] {
		case 'n':
			if !d.literal("null") {
				return nil, false
			}
		case '{':
			if !d.record(&logs[len(logs)-1]) {
				return nil, false
			}
		default:
			return nil, false
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return logs, true
		}
		return nil, false
	}
}

// meta decodes the meta object at d.i over what earlier meta members left,
// as encoding/json does: null leaves the object and has_more as they are,
// and sets a cursor to nil.
func (d *decoder) meta(hasMore *bool, after, before **string) bool {
	if d.b[d.i] == 'n' {
		return d.literal("null")
	}
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	for {
		d.ws()
		ks, ke, kflags, ok := d.str()
		if !ok || kflags != 0 {
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
		switch name := d.b[ks:ke]; {
		case equalFoldASCII(name, "has_more"):
			switch d.b[d.i] {
			case 't':
				ok = d.literal("true")
				*hasMore = true
			case 'f':
				ok = d.literal("false")
				*hasMore = false
			case 'n':
				ok = d.literal("null")
			default:
				ok = false
			}
		case equalFoldASCII(name, "after_cursor"):
			ok = d.cursor(after)
		case equalFoldASCII(name, "before_cursor"):
			ok = d.cursor(before)
		default:
			ok = d.skip(0)
		}
		if !ok {
			return false
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

// cursor decodes a *string member: null is nil.
func (d *decoder) cursor(p **string) bool {
	if d.b[d.i] == 'n' {
		*p = nil
		return d.literal("null")
	}
	start := d.i
	s, e, flags, ok := d.str()
	if !ok {
		return false
	}
	var v string
	if plainContent(d.b[s:e], flags) {
		v = string(d.b[s:e])
	} else if json.Unmarshal(d.b[start:d.i], &v) != nil {
		return false
	}
	*p = &v
	return true
}

// equalFoldASCII reports whether name is lower (all lowercase ASCII) in
// any case: encoding/json's match of an ASCII member name.
func equalFoldASCII(name []byte, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
