package zendesk

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The JSON member names of an audit log's documented fields.
const (
	FieldID                = "id"
	FieldURL               = "url"
	FieldAction            = "action"
	FieldActionLabel       = "action_label"
	FieldActorID           = "actor_id"
	FieldActorName         = "actor_name"
	FieldChangeDescription = "change_description"
	FieldCreatedAt         = "created_at"
	FieldIPAddress         = "ip_address"
	FieldSourceID          = "source_id"
	FieldSourceLabel       = "source_label"
	FieldSourceType        = "source_type"
)

// AuditLog is one record of the Zendesk audit log. Every field may be absent
// or null.
//
// A record is decoded on its own, and a field that does not hold what the
// API documents (schema drift: "actor_id":"system", "action":["a","b"], a
// created_at that is not an RFC 3339 time) does not fail it: that field
// stays absent, its value is kept as sent in Extra under its own name, and
// Mistyped says so.
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

	// Extra holds, as sent and by name, the members not decoded into the
	// fields above: those this client does not know, and those it knows
	// whose value it could not decode (listed in Mistyped). Encoding the
	// record writes them back as members.
	Extra map[string]jsontext.Value `json:",embed"`

	// Mistyped lists the known members kept in Extra because of their
	// value, in the order they came; for a record that is not a JSON
	// object, it is the one entry FieldRecord.
	Mistyped []MistypedField `json:"-"`

	// NotAnObject is the record as sent when it is not a JSON object
	// ("audit_logs":["x", 42]): schema drift of the whole record, which is
	// delivered all the same. Every other field is then absent.
	NotAnObject jsontext.Value `json:"-"`
}

// FieldRecord is the name MistypedField gives a record that is not a JSON
// object.
const FieldRecord = "audit_log"

// MistypedField is a member with a documented name whose value did not fit
// its field: of another JSON type, or of the right type but unusable (an
// integer beyond int64, a created_at that is not an RFC 3339 time).
type MistypedField struct {
	// Name is the member's name, e.g. "actor_id".
	Name string
	// Got is the JSON type of the value received: "string", "number",
	// "boolean", "object" or "array".
	Got string
	// Want is what the field holds, e.g. "integer".
	Want string
}

func (m MistypedField) String() string {
	return fmt.Sprintf("%s: %s, not %s", m.Name, m.Got, m.Want)
}

// What the fields hold, as MistypedField.Want says it.
const (
	wantString  = "a string"
	wantInteger = "an integer"
	wantTime    = "an RFC 3339 time string"
	wantObject  = "an object"
)

// jsonOptions are those of every decode and encode of an API body: a
// duplicate member name is not an error (the last one wins), and invalid
// UTF-8 in a string becomes U+FFFD rather than failing the page. Both are
// JSON that RFC 8259 allows and a record should survive.
var jsonOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// UnmarshalJSONFrom decodes one record, a JSON object or null (null
// leaves a unchanged). Only malformed JSON is an error: a member of an
// unexpected type is kept (see AuditLog), and so is a record that is not
// an object (NotAnObject).
func (a *AuditLog) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var d recordDecoder
	rec := *a
	if err := d.decode(dec, &rec); err != nil {
		return err
	}
	*a = rec
	return nil
}

// auditLogs is the audit_logs array of a page: its records decoded in
// place, one recordDecoder for them all.
type auditLogs []AuditLog

// UnmarshalJSONFrom decodes a JSON array of records, or null (none), into
// the slice l holds when it has room.
func (l *auditLogs) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*l = nil
		return err
	case '[':
	default:
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		return fmt.Errorf("audit_logs is %s, not an array", jsonType(v.Kind()))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	logs := (*l)[:0] // a page given back with Client.Recycle, or none
	if cap(logs) == 0 {
		logs = make([]AuditLog, 0, MaxPageSize)
	}
	var d recordDecoder
	for dec.PeekKind() != ']' {
		logs = append(logs, AuditLog{})
		// Decoded in place: the record is zero.
		if err := d.decode(dec, &logs[len(logs)-1]); err != nil {
			return fmt.Errorf("audit_logs[%d]: %w", len(logs)-1, err)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*l = logs
	return nil
}

// The string fields, as recordDecoder numbers them.
const (
	strURL = iota
	strAction
	strActionLabel
	strActorName
	strChangeDescription
	strIPAddress
	strSourceLabel
	strSourceType
	numStringFields
)

// stringField is the string field number i of a.
func (a *AuditLog) stringField(i int) *Optional[string] {
	switch i {
	case strURL:
		return &a.URL
	case strAction:
		return &a.Action
	case strActionLabel:
		return &a.ActionLabel
	case strActorName:
		return &a.ActorName
	case strChangeDescription:
		return &a.ChangeDescription
	case strIPAddress:
		return &a.IPAddress
	case strSourceLabel:
		return &a.SourceLabel
	}
	return &a.SourceType
}

// recordDecoder decodes records token by token. The string fields of a
// record are unquoted one after the other into scratch, made one string
// once the record is read, and each field is a part of it: one
// allocation a record instead of one a field (a drain's decoding was
// mostly allocations, and the garbage collector's work that follows
// them). scratch is reused from record to record.
type recordDecoder struct {
	scratch []byte
	// spans are where each string field's value is in scratch; set says
	// which fields hold one.
	spans [numStringFields]struct {
		start, end int
		set        bool
	}
}

// decode decodes one record into a, as AuditLog.UnmarshalJSONFrom, in
// place: an object is decoded into the zero record, null leaves a as it
// is. On an error a holds what was decoded before it.
func (d *recordDecoder) decode(dec *jsontext.Decoder, a *AuditLog) error {
	if k := dec.PeekKind(); k == 'n' {
		_, err := dec.ReadToken()
		return err
	} else if k != '{' {
		v, err := dec.ReadValue() // a syntax error (k == 0): reading says which
		if err != nil {
			return err
		}
		*a = AuditLog{
			NotAnObject: v.Clone(),
			Mistyped:    []MistypedField{{Name: FieldRecord, Got: jsonType(k), Want: wantObject}},
		}
		return nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	d.scratch = d.scratch[:0]
	d.spans = [numStringFields]struct {
		start, end int
		set        bool
	}{}
	*a = AuditLog{}
	rec := a
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue() // the member's name, quoted
		if err != nil {
			return err
		}
		// A known name is matched on the bytes read; an unknown one, or
		// one written with escapes, is unquoted into a string.
		name := knownName(raw)
		if name == "" {
			// The decoder checked the name: only invalid UTF-8, replaced,
			// can be reported here.
			unquoted, _ := jsontext.AppendUnquote(nil, raw)
			name = string(unquoted)
			if known := knownName(jsontext.Value(`"` + name + `"`)); known != "" {
				name = known
			}
		}
		if err := d.member(dec, rec, name); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	all := string(d.scratch)
	for i, sp := range d.spans {
		if sp.set {
			*rec.stringField(i) = Some(all[sp.start:sp.end])
		}
	}
	return nil
}

// member decodes the value of the member name into its field, or keeps it
// in Extra. A later member of the same name replaces an earlier one.
func (d *recordDecoder) member(dec *jsontext.Decoder, a *AuditLog, name string) error {
	var unfit jsontext.Value // a value read that does not fit its field
	var err error
	switch name {
	case FieldID:
		unfit, err = readInt(dec, &a.ID)
	case FieldActorID:
		unfit, err = readInt(dec, &a.ActorID)
	case FieldSourceID:
		unfit, err = readInt(dec, &a.SourceID)
	case FieldURL:
		unfit, err = d.readString(dec, strURL)
	case FieldAction:
		unfit, err = d.readString(dec, strAction)
	case FieldActionLabel:
		unfit, err = d.readString(dec, strActionLabel)
	case FieldActorName:
		unfit, err = d.readString(dec, strActorName)
	case FieldChangeDescription:
		unfit, err = d.readString(dec, strChangeDescription)
	case FieldIPAddress:
		unfit, err = d.readString(dec, strIPAddress)
	case FieldSourceLabel:
		unfit, err = d.readString(dec, strSourceLabel)
	case FieldSourceType:
		unfit, err = d.readString(dec, strSourceType)
	case FieldCreatedAt:
		unfit, err = readTime(dec, &a.CreatedAt)
	default:
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		a.keep(name, v)
		return nil
	}
	if err != nil {
		return err
	}
	a.forget(name)
	if unfit != nil {
		a.keep(name, unfit)
		a.Mistyped = append(a.Mistyped, MistypedField{Name: name, Got: jsonType(unfit.Kind()), Want: want(name)})
	}
	return nil
}

// keep stores a copy of v in Extra.
func (a *AuditLog) keep(name string, v jsontext.Value) {
	if a.Extra == nil {
		a.Extra = make(map[string]jsontext.Value)
	}
	a.Extra[name] = v.Clone()
}

// forget drops an earlier mistyped value of the known member name: a later
// member of the same name replaces it.
func (a *AuditLog) forget(name string) {
	for i, m := range a.Mistyped {
		if m.Name == name {
			a.Mistyped = append(a.Mistyped[:i], a.Mistyped[i+1:]...)
			delete(a.Extra, name)
			if len(a.Mistyped) == 0 {
				a.Mistyped = nil
			}
			if len(a.Extra) == 0 {
				a.Extra = nil
			}
			return
		}
	}
}

// knownName is the constant of the documented member name whose quoted
// form, without escapes, is raw, or "".
func knownName(raw jsontext.Value) string {
	switch string(raw) { // no allocation: the compiler compares the bytes
	case `"` + FieldID + `"`:
		return FieldID
	case `"` + FieldURL + `"`:
		return FieldURL
	case `"` + FieldAction + `"`:
		return FieldAction
	case `"` + FieldActionLabel + `"`:
		return FieldActionLabel
	case `"` + FieldActorID + `"`:
		return FieldActorID
	case `"` + FieldActorName + `"`:
		return FieldActorName
	case `"` + FieldChangeDescription + `"`:
		return FieldChangeDescription
	case `"` + FieldCreatedAt + `"`:
		return FieldCreatedAt
	case `"` + FieldIPAddress + `"`:
		return FieldIPAddress
	case `"` + FieldSourceID + `"`:
		return FieldSourceID
	case `"` + FieldSourceLabel + `"`:
		return FieldSourceLabel
	case `"` + FieldSourceType + `"`:
		return FieldSourceType
	}
	return ""
}

func want(name string) string {
	switch name {
	case FieldID, FieldActorID, FieldSourceID:
		return wantInteger
	case FieldCreatedAt:
		return wantTime
	}
	return wantString
}

// The readers below decode the next value into a field (null: absent). A
// value that does not fit leaves the field absent and is returned, as
// read, to be kept; it is valid until the decoder reads on.

// readString unquotes a string into d.scratch as string field i (see
// recordDecoder.decode). Invalid UTF-8 becomes U+FFFD, as the decoder's
// own strings do with AllowInvalidUTF8.
func (d *recordDecoder) readString(dec *jsontext.Decoder, i int) (jsontext.Value, error) {
	d.spans[i].set = false
	v, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	switch v[0] { // ReadValue returns the value alone: its first byte says its kind
	case 'n':
		return nil, nil
	case '"':
		start := len(d.scratch)
		if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			// Most strings: without escapes and valid UTF-8 (the
			// decoder checked the rest of their syntax), they are their
			// bytes, copied at once instead of a byte at a time.
			d.scratch = append(d.scratch, inner...)
		} else {
			// The decoder checked the string: only invalid UTF-8,
			// replaced, can be reported here.
			d.scratch, _ = jsontext.AppendUnquote(d.scratch, v)
		}
		d.spans[i].start, d.spans[i].end, d.spans[i].set = start, len(d.scratch), true
		return nil, nil
	}
	return v, nil
}

// readInt takes an integer that fits an int64; any other number (1.5,
// 1e3, 2^63) is kept as sent.
func readInt(dec *jsontext.Decoder, o *Optional[int64]) (jsontext.Value, error) {
	*o = Optional[int64]{}
	v, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	switch v[0] { // ReadValue returns the value alone: its first byte says its kind
	case 'n':
		return nil, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return v, nil
	}
	i, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return v, nil
	}
	*o = Some(i)
	return nil, nil
}

// readTime takes an RFC 3339 time string, as encoding/json decodes a
// time.Time.
func readTime(dec *jsontext.Decoder, o *Optional[time.Time]) (jsontext.Value, error) {
	*o = Optional[time.Time]{}
	v, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	switch v[0] {
	case 'n':
		return nil, nil
	case '"':
	default:
		return v, nil
	}
	var buf [64]byte
	s, err := jsontext.AppendUnquote(buf[:0], v)
	if err != nil {
		return v, nil
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return v, nil
	}
	*o = Some(t)
	return nil, nil
}

// jsonType names a JSON kind.
func jsonType(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case '{':
		return "object"
	case '[':
		return "array"
	case 'n':
		return "null"
	}
	return "invalid JSON"
}

// auditLogFields has AuditLog's fields without its methods.
type auditLogFields AuditLog

// MarshalJSON encodes the record with the API's member names: the fields
// present, then Extra's members (sorted by name).
func (a AuditLog) MarshalJSON() ([]byte, error) {
	if a.NotAnObject != nil {
		return a.NotAnObject.Clone(), nil
	}
	return json.Marshal(auditLogFields(a), jsonOptions, json.Deterministic(true))
}

// UnmarshalJSON decodes one record, as UnmarshalJSONFrom, for callers of
// encoding/json.
func (a *AuditLog) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, a, jsonOptions)
}
