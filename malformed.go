package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// malformedWarnEvery is the least time between two warnings about records
// with fields of an unexpected type: schema drift tends to touch every
// record from some day on, and one line a minute says so as well as
// thousands.
const malformedWarnEvery = time.Minute

// maxLoggedIDBytes bounds a record id logged as sent (an id of an
// unexpected type may be any JSON value).
const maxLoggedIDBytes = 64

// malformedReporter counts the delivered records that had fields of an
// unexpected JSON type (zendesk.AuditLog.Mistyped) and warns about them,
// at most once per malformedWarnEvery, naming the record and its fields,
// never the record's content. Safe for concurrent use.
type malformedReporter struct {
	logger  *zap.Logger
	counter metric.Int64Counter
	attrs   metric.MeasurementOption // the receiver's instance attributes

	mu         sync.Mutex
	lastWarn   time.Time // zero until the first warning
	suppressed int       // records not warned about since lastWarn
}

// delivered reports the records of one page the next consumer accepted.
func (m *malformedReporter) delivered(ctx context.Context, records []zendesk.AuditLog, now time.Time) {
	var first *zendesk.AuditLog
	n := 0
	for i := range records {
		if len(records[i].Mistyped) > 0 {
			if first == nil {
				first = &records[i]
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	m.counter.Add(ctx, int64(n), m.attrs)

	m.mu.Lock()
	if !m.lastWarn.IsZero() && now.Sub(m.lastWarn) < malformedWarnEvery {
		m.suppressed += n
		m.mu.Unlock()
		return
	}
	suppressed := m.suppressed
	m.lastWarn, m.suppressed = now, n-1
	m.mu.Unlock()

	fields := make([]string, len(first.Mistyped))
	for i, f := range first.Mistyped {
		fields[i] = f.String()
	}
	m.logger.Warn("Delivered an audit log with fields of an unexpected JSON type (has Zendesk changed its schema?): each keeps its value, with that value's own type, under its usual attribute",
		zap.String("record_id", recordID(first)),
		zap.Strings("fields", fields),
		zap.Int("records_with_unexpected_types_in_this_page", n),
		zap.Int("records_not_warned_about_since_last_warning", suppressed),
		zap.Duration("warning_at_most_every", malformedWarnEvery))
}

// recordID is the record's id for a log line: the number, or the value as
// sent (cut short) when it has another type, or "absent".
func recordID(a *zendesk.AuditLog) string {
	if id, ok := a.ID.Get(); ok {
		return strconv.FormatInt(id, 10)
	}
	raw, ok := a.Extra[zendesk.FieldID]
	if !ok {
		return "absent"
	}
	if len(raw) > maxLoggedIDBytes {
		return strings.ToValidUTF8(string(raw[:maxLoggedIDBytes]), "") + "…"
	}
	return string(raw)
}
