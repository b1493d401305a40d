package zendesksim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// timeLayout is the created_at format of the Zendesk API (and of the
// filter[created_at] values it accepts).
const timeLayout = "2006-01-02T15:04:05Z"

// Record is one audit log as the simulator stores it.
type Record struct {
	ID                int64
	Action            string
	ActionLabel       string
	ActorID           int64
	ActorName         string
	ChangeDescription string
	CreatedAt         time.Time // whole seconds, UTC
	IPAddress         *string   // nil => JSON null (system actor -1)
	SourceID          int64
	SourceLabel       string
	SourceType        string
	// Extra holds additional JSON fields rendered as-is after the standard
	// ones. A key equal to a standard field name replaces that field's value
	// in the JSON (filters still use the struct fields).
	Extra map[string]any
}

// clone returns a copy that shares no mutable state with r.
func (r Record) clone() Record {
	if r.IPAddress != nil {
		ip := *r.IPAddress
		r.IPAddress = &ip
	}
	if r.Extra != nil {
		r.Extra = maps.Clone(r.Extra)
	}
	return r
}

func (r *Record) sec() int64 { return r.CreatedAt.Unix() }

// Add inserts records. IDs must be unique (across all records of the
// server); Add panics on a duplicate or non-positive id. CreatedAt is
// normalised to UTC whole seconds.
func (s *Server) Add(recs ...Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(recs)
}

func (s *Server) addLocked(recs []Record) {
	seen := make(map[int64]bool, len(recs))
	for _, r := range recs {
		if r.ID <= 0 {
			panic(fmt.Sprintf("zendesksim: record id must be positive, got %d", r.ID))
		}
		if _, dup := s.byID[r.ID]; dup || seen[r.ID] {
			panic(fmt.Sprintf("zendesksim: duplicate record id %d", r.ID))
		}
		seen[r.ID] = true
	}
	if len(recs) <= 16 {
		for _, r := range recs {
			r = s.normalizeLocked(r)
			i := sort.Search(len(s.recs), func(i int) bool { return !recordLess(&s.recs[i], &r) })
			s.recs = slices.Insert(s.recs, i, r)
		}
		return
	}
	batch := make([]Record, len(recs))
	for i, r := range recs {
		batch[i] = s.normalizeLocked(r)
	}
	slices.SortFunc(batch, func(a, b Record) int { return compareRecords(&a, &b) })
	if len(s.recs) == 0 || !recordLess(&batch[0], &s.recs[len(s.recs)-1]) {
		s.recs = append(s.recs, batch...)
		return
	}
	// Merge the sorted batch into the store.
	merged := make([]Record, 0, len(s.recs)+len(batch))
	i, j := 0, 0
	for i < len(s.recs) && j < len(batch) {
		if recordLess(&batch[j], &s.recs[i]) {
			merged = append(merged, batch[j])
			j++
		} else {
			merged = append(merged, s.recs[i])
			i++
		}
	}
	merged = append(merged, s.recs[i:]...)
	s.recs = append(merged, batch[j:]...)
}

// normalizeLocked copies r with its time normalised and indexes it by id.
func (s *Server) normalizeLocked(r Record) Record {
	r = r.clone()
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Second)
	s.byID[r.ID] = r
	if r.ID >= s.nextID {
		s.nextID = r.ID + 1
	}
	return r
}

// recordLess orders the store: by created_at second, then id.
func recordLess(a, b *Record) bool { return compareRecords(a, b) < 0 }

func compareRecords(a, b *Record) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// NextID allocates a fresh id, greater than every id handed out or added so
// far (12 digits for any realistic number of records).
func (s *Server) NextID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocIDLocked()
}

func (s *Server) allocIDLocked() int64 {
	id := s.nextID
	s.nextID++
	return id
}

// Records returns a copy of all records sorted by (CreatedAt, ID).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.recs))
	for i, r := range s.recs {
		out[i] = r.clone()
	}
	return out
}

// ids returns all record ids, ascending.
func (s *Server) ids() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

// lowerBoundSec is the index of the first stored record with second >= sec.
func (s *Server) lowerBoundSec(sec int64) int {
	return sort.Search(len(s.recs), func(i int) bool { return s.recs[i].sec() >= sec })
}

// upperBoundSec is the index of the first stored record with second > sec.
func (s *Server) upperBoundSec(sec int64) int {
	return sort.Search(len(s.recs), func(i int) bool { return s.recs[i].sec() > sec })
}

// renderRecord renders r as Zendesk does, with url built on base.
func renderRecord(base string, r *Record) json.RawMessage {
	b := make([]byte, 0, 512)
	b = append(b, '{')
	n := 0
	field := func(key string) bool {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, key)
		b = append(b, ':')
		if v, ok := r.Extra[key]; ok {
			b = appendJSONValue(b, v)
			return false
		}
		return true
	}
	if field("url") {
		b = appendJSONString(b, base+"/api/v2/audit_logs/"+strconv.FormatInt(r.ID, 10)+".json")
	}
	if field("id") {
		b = strconv.AppendInt(b, r.ID, 10)
	}
	if field("action_label") {
		b = appendJSONString(b, r.ActionLabel)
	}
	if field("actor_id") {
		b = strconv.AppendInt(b, r.ActorID, 10)
	}
	if field("actor_name") {
		b = appendJSONString(b, r.ActorName)
	}
	if field("source_id") {
		b = strconv.AppendInt(b, r.SourceID, 10)
	}
	if field("source_type") {
		b = appendJSONString(b, r.SourceType)
	}
	if field("source_label") {
		b = appendJSONString(b, r.SourceLabel)
	}
	if field("action") {
		b = appendJSONString(b, r.Action)
	}
	if field("change_description") {
		b = appendJSONString(b, r.ChangeDescription)
	}
	if field("ip_address") {
		if r.IPAddress == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, *r.IPAddress)
		}
	}
	if field("created_at") {
		b = append(b, '"')
		b = r.CreatedAt.UTC().AppendFormat(b, timeLayout)
		b = append(b, '"')
	}
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		if !standardFields[k] {
			field(k)
		}
	}
	return append(b, '}')
}

var standardFields = map[string]bool{
	"url": true, "id": true, "action_label": true, "actor_id": true, "actor_name": true,
	"source_id": true, "source_type": true, "source_label": true, "action": true,
	"change_description": true, "ip_address": true, "created_at": true,
}

// appendJSONValue appends v as encoding/json renders it (null if it cannot).
func appendJSONValue(b []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

// appendJSONString appends s as a JSON string, escaping like encoding/json
// (including <, >, & and U+2028/U+2029); invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
