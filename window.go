package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// clockSkewTolerance is how far the API's clock (a response's Date header,
// one-second precision, sent while the answer travels) may be from the
// collector's before a warning says so.
const clockSkewTolerance = 5 * time.Second

// apiClock follows the API's clock through the Date header of its
// responses. A poll's window ends settle_delay before the earlier of the
// API's time and the collector's: a collector whose clock runs ahead would
// otherwise mark seconds done that the API has not finished yet.
type apiClock struct {
	// offset is the API's time minus the collector's, as the latest
	// response said; known once a response carried a Date.
	offset time.Duration
	known  bool
	// warned is the offset last warned about; nil while the clocks are
	// within clockSkewTolerance of each other.
	warned *time.Duration
}

// windowEnd is where a window starting at local ends, by the clocks as
// last seen: settle before the earlier of the two, truncated to the
// second. The first response of the window can only move it earlier (see
// bound).
func (c *apiClock) windowEnd(local time.Time, settle time.Duration) time.Time {
	t := local
	if c.known && c.offset < 0 {
		t = t.Add(c.offset)
	}
	return t.Add(-settle).UTC().Truncate(time.Second)
}

// bound returns end, or the API's time in page minus settle when that is
// earlier.
func bound(end time.Time, page *zendesk.Page, settle time.Duration) time.Time {
	if page.Date.IsZero() {
		return end
	}
	if api := page.Date.Add(-settle).UTC().Truncate(time.Second); api.Before(end) {
		return api
	}
	return end
}

// skewChange is what observe found worth saying.
type skewChange int

const (
	skewUnchanged skewChange = iota
	// skewDetected: the clocks differ by more than the tolerance, for the
	// first time or by materially more or less than last said.
	skewDetected
	// skewGone: they were apart and are in step again.
	skewGone
)

// observe notes the Date of a response that arrived at local (the
// collector's clock), and says whether the offset is news: a warning is
// due on the first detection and when the offset moved by more than the
// tolerance since, not on every poll.
func (c *apiClock) observe(date, local time.Time) skewChange {
	if date.IsZero() {
		return skewUnchanged
	}
	// Date is truncated to the second: half a second is the best guess
	// of what was cut off.
	c.offset = date.Add(time.Second / 2).Sub(local).Round(time.Second)
	c.known = true
	apart := c.offset > clockSkewTolerance || c.offset < -clockSkewTolerance
	switch {
	case apart && (c.warned == nil || absDuration(c.offset-*c.warned) > clockSkewTolerance):
		off := c.offset
		c.warned = &off
		return skewDetected
	case !apart && c.warned != nil:
		c.warned = nil
		return skewGone
	}
	return skewUnchanged
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// clip returns the records of an ascending page created up to end's
// second, and whether the page went past it (every later record is past it
// too: the reading of the window is complete). Records without created_at
// stay.
func clip(logs []zendesk.AuditLog, end time.Time) ([]zendesk.AuditLog, bool) {
	// A created_at's second is after end exactly when it is after end's
	// second: compared in Unix seconds, per record without building a time.
	endSecond := end.Unix()
	for i := range logs {
		if created, ok := logs[i].CreatedAt.Get(); ok && created.Unix() > endSecond {
			return logs[:i], true
		}
	}
	return logs, false
}
