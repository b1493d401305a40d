// Package convert turns Zendesk audit logs into OTLP log records.
package convert

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	semconv "go.opentelemetry.io/otel/semconv/v1.38.0"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// EventName is the event name of every log record made here.
const EventName = "zendesk.audit_log"

// SchemaURL is the semantic conventions version the names here follow
// (also metadata.yaml's sem_conv_version).
const SchemaURL = semconv.SchemaURL

// Attribute names. Those of fields not named here are
// AttributePrefix + the field's JSON name.
const (
	AttributePrefix = "zendesk.audit_log."
	AttrID          = "zendesk.audit_log.id"
	// AttrLogRecordUID is the audit log id as a string: unique within the
	// account, so that a backend or processor can drop the duplicates a
	// crash may cause.
	AttrLogRecordUID  = string(semconv.LogRecordUIDKey)
	AttrAction        = "zendesk.audit_log.action"
	AttrActionLabel   = "zendesk.audit_log.action_label"
	AttrActorID       = "zendesk.audit_log.actor.id"
	AttrActorName     = "zendesk.audit_log.actor.name"
	AttrSourceID      = "zendesk.audit_log.source.id"
	AttrSourceType    = "zendesk.audit_log.source.type"
	AttrSourceLabel   = "zendesk.audit_log.source.label"
	AttrClientAddress = string(semconv.ClientAddressKey)
	// AttrURL is the record's own API link. Not url.full: that names the
	// URL of an HTTP request, which this is not.
	AttrURL               = "zendesk.audit_log.url"
	attrCountPerRecordMax = 10
)

// Settings are what every log record of a receiver shares.
type Settings struct {
	// Resource is copied into every plog.Logs (metadata.ResourceBuilder
	// makes it, with the resource attributes the user left on). The zero
	// value means an empty resource.
	Resource pcommon.Resource
	// ScopeName and ScopeVersion name the instrumentation scope.
	ScopeName    string
	ScopeVersion string
	// Detector sets each record's severity and flags records with the
	// security_rule attributes; nil leaves every record at INFO.
	Detector *detect.Detector
}

// Logs returns one resource, one scope, and one log record per audit log.
// observed is when the page arrived.
func Logs(records []zendesk.AuditLog, s Settings, observed time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl(SchemaURL)
	if s.Resource != (pcommon.Resource{}) {
		s.Resource.CopyTo(rl.Resource())
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(s.ScopeName)
	sl.Scope().SetVersion(s.ScopeVersion)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(records))
	obs := pcommon.NewTimestampFromTime(observed)
	uids := recordUIDs(records)
	for i := range records {
		lr := lrs.AppendEmpty()
		// The rule first: its attributes are counted in the one
		// allocation of the record's attributes.
		rule := s.Detector.MatchAuditLog(&records[i])
		fill(lr, &records[i], uids[i], obs, ruleAttrCount(rule))
		setSeverity(lr, rule)
	}
	return ld
}

// recordUIDs are the records' ids as strings (AttrLogRecordUID; "" for a
// record without one), the parts of one string: one allocation a page
// instead of one a record.
func recordUIDs(records []zendesk.AuditLog) []string {
	uids := make([]string, len(records))
	digits := make([]byte, 0, 20*len(records))
	ends := make([]int, len(records))
	for i := range records {
		if id, ok := records[i].ID.Get(); ok {
			digits = strconv.AppendInt(digits, id, 10)
		}
		ends[i] = len(digits)
	}
	all, start := string(digits), 0
	for i, end := range ends {
		uids[i], start = all[start:end], end
	}
	return uids
}

// fill maps one audit log onto lr. Only fields present in the record
// become attributes; uid is the record's id as a string, and extra how many
// attributes setSeverity puts after them.
func fill(lr plog.LogRecord, a *zendesk.AuditLog, uid string, observed pcommon.Timestamp, extra int) {
	lr.SetObservedTimestamp(observed)
	lr.SetEventName(EventName)
	if t, ok := a.CreatedAt.Get(); ok {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
	}
	if d, ok := a.ChangeDescription.Get(); ok {
		lr.Body().SetStr(d)
	}
	if a.NotAnObject != nil { // a record of another JSON type: its value is the body
		setRaw(lr.Body(), a.NotAnObject)
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrCount(a) + extra)
	putInt(attrs, AttrID, a.ID)
	if a.ID.Valid {
		attrs.PutStr(AttrLogRecordUID, uid)
	}
	putStr(attrs, AttrAction, a.Action)
	putStr(attrs, AttrActionLabel, a.ActionLabel)
	putInt(attrs, AttrActorID, a.ActorID)
	putStr(attrs, AttrActorName, a.ActorName)
	putInt(attrs, AttrSourceID, a.SourceID)
	putStr(attrs, AttrSourceType, a.SourceType)
	putStr(attrs, AttrSourceLabel, a.SourceLabel)
	putStr(attrs, AttrClientAddress, a.IPAddress)
	putStr(attrs, AttrURL, a.URL)
	if len(a.Extra) > 0 {
		for _, name := range slices.Sorted(maps.Keys(a.Extra)) {
			if name == zendesk.FieldChangeDescription { // of an unexpected type
				setRaw(lr.Body(), a.Extra[name])
				continue
			}
			putRaw(attrs, attributeName(name), a.Extra[name])
		}
	}
}

// attributeName is the attribute of the audit log member name: that of
// its field for a documented member (also when its value has an
// unexpected type, so that it is found where it always is), else
// AttributePrefix + name.
func attributeName(name string) string {
	switch name {
	case zendesk.FieldID:
		return AttrID
	case zendesk.FieldAction:
		return AttrAction
	case zendesk.FieldActionLabel:
		return AttrActionLabel
	case zendesk.FieldActorID:
		return AttrActorID
	case zendesk.FieldActorName:
		return AttrActorName
	case zendesk.FieldSourceID:
		return AttrSourceID
	case zendesk.FieldSourceType:
		return AttrSourceType
	case zendesk.FieldSourceLabel:
		return AttrSourceLabel
	case zendesk.FieldIPAddress:
		return AttrClientAddress
	case zendesk.FieldURL:
		return AttrURL
	}
	return AttributePrefix + name
}

// attrCount is how many attributes fill may put: one allocation for them
// all, no larger than it needs to be.
func attrCount(a *zendesk.AuditLog) int {
	n := len(a.Extra)
	if a.ID.Valid {
		n++ // AttrLogRecordUID
	}
	for _, ok := range [attrCountPerRecordMax]bool{
		a.ID.Valid, a.Action.Valid, a.ActionLabel.Valid, a.ActorID.Valid, a.ActorName.Valid,
		a.SourceID.Valid, a.SourceType.Valid, a.SourceLabel.Valid, a.IPAddress.Valid, a.URL.Valid,
	} {
		if ok {
			n++
		}
	}
	return n
}

func putStr(m pcommon.Map, k string, v zendesk.Optional[string]) {
	if v.Valid {
		m.PutStr(k, v.Value)
	}
}

func putInt(m pcommon.Map, k string, v zendesk.Optional[int64]) {
	if v.Valid {
		m.PutInt(k, v.Value)
	}
}

// putRaw maps a JSON value as sent (a member this receiver does not know,
// or a known one of an unexpected type) with its own type: strings,
// booleans, integers and other numbers keep theirs, objects and arrays
// become maps and slices; null is left out like an absent field.
func putRaw(m pcommon.Map, k string, raw jsontext.Value) {
	if raw.Kind() == 'n' {
		return
	}
	if !setRaw(m.PutEmpty(k), raw) {
		m.Remove(k)
	}
}

// setRaw sets dst to the JSON value raw, as putRaw maps it, and reports
// whether raw was valid JSON.
func setRaw(dst pcommon.Value, raw jsontext.Value) bool {
	return json.Unmarshal(raw, &valueFrom{dst}, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) == nil
}

// valueFrom decodes a JSON value into dst.
type valueFrom struct{ dst pcommon.Value }

func (v *valueFrom) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return setValue(dec, v.dst) }

func setValue(dec *jsontext.Decoder, dst pcommon.Value) error {
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		m := dst.SetEmptyMap()
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if err := setValue(dec, m.PutEmpty(name.String())); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		s := dst.SetEmptySlice()
		for dec.PeekKind() != ']' {
			if err := setValue(dec, s.AppendEmpty()); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '"':
		dst.SetStr(tok.String())
	case 't', 'f':
		dst.SetBool(tok.Bool())
	case '0':
		if i, err := tok.Int(); err == nil {
			dst.SetInt(i)
		} else if f, err := tok.Float(); err == nil {
			dst.SetDouble(f)
		} else { // beyond float64: the number as sent
			dst.SetStr(tok.String())
		}
	}
	// null: an empty value, as JSON null inside an array or object
	return nil
}
