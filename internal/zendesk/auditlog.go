package zendesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditLog is one record of the Zendesk audit log. Every field may be absent
// or null. Fields Zendesk adds later are kept in Extra, raw, so they reach
// the user instead of vanishing.
type AuditLog struct {
	ID                Optional[int64]     `json:"id,omitzero"`
	URL               Optional[string]    `json:"url,omitzero"`
	Action            Optional[string]    `json:"action,omitzero"`
	ActionLabel       Optional[string]    `json:"action_label,omitzero"`
	ActorID           Optional[int64]     `json:"actor_id,omitzero"`
	ActorName         Optional[string]    `json:"actor_name,omitzero"`
	ChangeDescription Optional[string]    `json:"change_description,omitzero"`
	CreatedAt         Optional[time.Time] `json:"created_at,omitzero"`
	IPAddress         Optional[string]    `json:"ip_address,omitzero"`
	SourceID          Optional[int64]     `json:"source_id,omitzero"`
	SourceLabel       Optional[string]    `json:"source_label,omitzero"`
	SourceType        Optional[string]    `json:"source_type,omitzero"`

	// Extra holds the members this client does not know, by name, as sent.
	Extra map[string]json.RawMessage `json:"-"`
}

// knownFields are the JSON member names decoded into AuditLog's own fields.
var knownFields = map[string]bool{
	"id": true, "url": true, "action": true, "action_label": true,
	"actor_id": true, "actor_name": true, "change_description": true,
	"created_at": true, "ip_address": true, "source_id": true,
	"source_label": true, "source_type": true,
}

// auditLogFields has AuditLog's fields without its methods.
type auditLogFields AuditLog

// UnmarshalJSON decodes the known members and keeps the others in Extra.
// JSON null leaves a unchanged, as encoding/json does for its own types.
// On error a is unchanged.
//
// A single-pass decoder (decode.go) reads the usual record; whatever it
// does not decide itself goes through decodeSlow, encoding/json, so the
// result is the same either way.
func (a *AuditLog) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	d := decoder{b: b}
	d.ws()
	var fast AuditLog
	if d.record(&fast) {
		d.ws()
		if d.i == len(b) {
			*a = fast
			return nil
		}
	}
	return a.decodeSlow(b)
}

// decodeSlow is the reference decoding: encoding/json into the fields,
// then a second scan for the unknown members.
func (a *AuditLog) decodeSlow(b []byte) error {
	var f auditLogFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	extra, err := unknownMembers(b)
	if err != nil {
		return err
	}
	f.Extra = extra
	*a = AuditLog(f)
	return nil
}

// MarshalJSON encodes the record with the API's own member names, Extra
// included; absent fields are left out.
func (a AuditLog) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal(auditLogFields(a))
	if err != nil || len(a.Extra) == 0 {
		return known, err
	}
	out := known[:len(known)-1] // drop the closing brace
	for _, name := range slices.Sorted(maps.Keys(a.Extra)) {
		if knownFields[strings.ToLower(name)] {
			continue
		}
		key, _ := json.Marshal(name)
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, a.Extra[name]...)
	}
	return append(out, '}'), nil
}

// unknownMembers returns the members of the JSON object b whose names are
// not in knownFields, or nil when there are none. b must be valid JSON (it
// has been through json.Unmarshal already); the scan allocates only for
// unknown members.
func unknownMembers(b []byte) (map[string]json.RawMessage, error) {
	s := scanner{b: b}
	s.space()
	if !s.eat('{') {
		return nil, errors.New("audit log is not a JSON object")
	}
	var extra map[string]json.RawMessage
	for {
		s.space()
		if s.eat('}') {
			return extra, nil
		}
		keyStart := s.i
		if !s.skipString() {
			return nil, errMalformed
		}
		rawKey := s.b[keyStart:s.i]
		s.space()
		if !s.eat(':') {
			return nil, errMalformed
		}
		s.space()
		valStart := s.i
		if !s.skipValue() {
			return nil, errMalformed
		}
		name, ok := plainString(rawKey)
		if !ok { // escaped name: let encoding/json decode it
			if err := json.Unmarshal(rawKey, &name); err != nil {
				return nil, err
			}
		}
		// encoding/json matches member names without regard to case.
		if !knownFields[strings.ToLower(name)] {
			if extra == nil {
				extra = make(map[string]json.RawMessage)
			}
			extra[name] = json.RawMessage(slices.Clone(s.b[valStart:s.i]))
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return extra, nil
		}
		return nil, errMalformed
	}
}

var errMalformed = errors.New("malformed JSON object")

// plainString returns the content of a quoted JSON string that holds no
// escape and only valid UTF-8; otherwise ok is false.
func plainString(quoted []byte) (string, bool) {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			return "", false
		}
	}
	return string(inner), true
}

// scanner walks valid JSON without decoding it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipString() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// skipValue skips one value; nested containers are tracked by depth only,
// which is enough for input that is known to be valid.
func (s *scanner) skipValue() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default: // number, true, false, null
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}
