package zendesksim

import (
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// filter is the parsed filter[...] query of a list or export request.
type filter struct {
	sourceType, ipAddress, action *string
	sourceID, actorID             *int64
	// hasRange: created_at within [start, end] (unix seconds, inclusive).
	hasRange   bool
	start, end int64
}

// createdAtFormat is the only accepted filter[created_at] format.
var createdAtFormat = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// last returns the last non-blank value of key (as Rails keeps the last of
// repeated scalar parameters); blank values count as absent.
func last(q url.Values, key string) *string {
	vs := q[key]
	if len(vs) == 0 || vs[len(vs)-1] == "" {
		return nil
	}
	return &vs[len(vs)-1]
}

func parseFilter(q url.Values) (filter, *apiError) {
	f := filter{
		sourceType: last(q, "filter[source_type]"),
		ipAddress:  last(q, "filter[ip_address]"),
		action:     last(q, "filter[action]"),
	}
	for _, p := range []struct {
		key string
		dst **int64
	}{
		{"filter[source_id]", &f.sourceID},
		{"filter[actor_id]", &f.actorID},
	} {
		v := last(q, p.key)
		if v == nil {
			continue
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return f, invalidValue(p.key + " must be an integer")
		}
		*p.dst = &n
	}
	if f.sourceID != nil && f.sourceType == nil {
		return f, invalidValue("filter[source_id] requires filter[source_type]")
	}

	created := append(append([]string(nil), q["filter[created_at][]"]...), q["filter[created_at]"]...)
	if len(created) == 0 {
		return f, nil
	}
	const msg = "filter[created_at] must be given twice, start then end, formatted YYYY-MM-DDTHH:MM:SSZ"
	if len(created) != 2 {
		return f, invalidValue(msg)
	}
	var bounds [2]int64
	for i, v := range created {
		if !createdAtFormat.MatchString(v) {
			return f, invalidValue(msg)
		}
		t, err := time.Parse(timeLayout, v)
		if err != nil {
			return f, invalidValue(msg)
		}
		bounds[i] = t.Unix()
	}
	f.hasRange, f.start, f.end = true, bounds[0], bounds[1]
	return f, nil
}

func (f *filter) match(r *Record) bool {
	switch {
	case f.hasRange && (r.sec() < f.start || r.sec() > f.end),
		f.sourceType != nil && r.SourceType != *f.sourceType,
		f.sourceID != nil && r.SourceID != *f.sourceID,
		f.actorID != nil && r.ActorID != *f.actorID,
		f.action != nil && r.Action != *f.action,
		f.ipAddress != nil && (r.IPAddress == nil || *r.IPAddress != *f.ipAddress):
		return false
	}
	return true
}
