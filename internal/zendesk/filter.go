package zendesk

import (
	"errors"
	"net/url"
	"strconv"
	"time"
)

// TimeFormat is the only format Zendesk accepts in filter[created_at][].
const TimeFormat = "2006-01-02T15:04:05Z"

// Filter selects audit logs; it applies to List, ListOffset and Export.
// Zero values are not sent.
type Filter struct {
	SourceType string
	// SourceID requires SourceType (the API rejects it alone).
	SourceID  int64
	ActorID   int64
	IPAddress string
	Action    string
	// CreatedAtStart and CreatedAtEnd bound created_at; both or neither.
	// They are sent in UTC with one-second precision (the fraction is
	// dropped). Whether Zendesk treats the bounds as inclusive is not
	// documented: callers must not rely on either.
	CreatedAtStart time.Time
	CreatedAtEnd   time.Time
}

// Validate reports a filter the API would reject, before any request.
func (f Filter) Validate() error {
	if f.SourceID != 0 && f.SourceType == "" {
		return errors.New("filter: source_id requires source_type")
	}
	if f.CreatedAtStart.IsZero() != f.CreatedAtEnd.IsZero() {
		return errors.New("filter: created_at needs both a start and an end")
	}
	if !f.CreatedAtStart.IsZero() && f.CreatedAtEnd.Before(f.CreatedAtStart) {
		return errors.New("filter: created_at end is before its start")
	}
	return nil
}

// encode adds the filter's query parameters to q.
func (f Filter) encode(q url.Values) {
	if f.SourceType != "" {
		q.Set("filter[source_type]", f.SourceType)
	}
	if f.SourceID != 0 {
		q.Set("filter[source_id]", strconv.FormatInt(f.SourceID, 10))
	}
	if f.ActorID != 0 {
		q.Set("filter[actor_id]", strconv.FormatInt(f.ActorID, 10))
	}
	if f.IPAddress != "" {
		q.Set("filter[ip_address]", f.IPAddress)
	}
	if f.Action != "" {
		q.Set("filter[action]", f.Action)
	}
	if !f.CreatedAtStart.IsZero() {
		// Twice, start then end: the order is the meaning.
		q.Add("filter[created_at][]", f.CreatedAtStart.UTC().Format(TimeFormat))
		q.Add("filter[created_at][]", f.CreatedAtEnd.UTC().Format(TimeFormat))
	}
}
