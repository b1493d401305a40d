package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// poll reads everything from the checkpoint up to settle_delay before
// now, by the API's clock or the collector's, whichever is earlier; page
// by page, oldest first, until the API has no more.
func (r *logsReceiver) poll(ctx context.Context) error {
	end := r.clock.windowEnd(r.now(), r.cfg.SettleDelay)
	if end.Before(r.pos.Second) {
		return nil
	}
	filter := r.cfg.Filter.apiFilter()
	filter.CreatedAtStart = r.pos.QueryStart()
	filter.CreatedAtEnd = end
	params := zendesk.ListParams{Filter: filter, PageSize: r.cfg.PageSize, Sort: zendesk.SortAscending}
	for {
		page, err := r.client.List(ctx, params)
		if err != nil {
			return fmt.Errorf("listing audit logs created from %s to %s: %w",
				filter.CreatedAtStart.Format(time.RFC3339), end.Format(time.RFC3339), err)
		}
		arrived := r.now()
		r.observeClock(page, arrived)
		// The API's own time bounds the window: what it has not finished
		// yet is left for a later poll.
		end = bound(end, page, r.cfg.SettleDelay)
		logs, past := clip(page.AuditLogs, end)
		if err := r.deliver(ctx, logs, arrived); err != nil {
			return err
		}
		if past || !page.HasMore {
			break
		}
		if page.AfterCursor == params.After {
			return fmt.Errorf("listing audit logs: the API returned the same cursor again (%d records), which would never end", len(page.AuditLogs))
		}
		params.After = page.AfterCursor
	}
	// The window is read to its end: every record before end is done.
	if next := r.pos.ReadBefore(end); !next.Equal(r.pos) {
		r.pos = next
		r.save(ctx)
	}
	return nil
}

// observeClock follows the API's clock and says, once per change, when it
// is apart from the collector's.
func (r *logsReceiver) observeClock(page *zendesk.Page, arrived time.Time) {
	switch r.clock.observe(page.Date, arrived) {
	case skewDetected:
		r.logger.Warn("The Zendesk API's clock (its Date header) differs from this machine's; each poll's window ends by the earlier of the two, so nothing is lost, but check the machine's time synchronisation",
			zap.Duration("api_clock_offset", r.clock.offset), zap.Time("api_time", page.Date), zap.Time("local_time", arrived))
	case skewGone:
		r.logger.Info("The Zendesk API's clock and this machine's agree again", zap.Duration("api_clock_offset", r.clock.offset))
	}
}
