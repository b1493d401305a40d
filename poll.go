package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// poll reads everything from the checkpoint up to settle_delay before
// now, by the API's clock or the collector's, whichever is earlier, oldest
// first. The first request also tells the API's time, which bounds the
// window, and whether more follows: a caught-up poll is that one request.
// The rest of a larger window is read in time slices (see slices.go).
func (r *logsReceiver) poll(ctx context.Context) error {
	end := r.clock.windowEnd(r.now(), r.cfg.SettleDelay)
	if end.Before(r.pos.Second) {
		return nil
	}
	filter := r.cfg.Filter.apiFilter()
	filter.CreatedAtStart = r.pos.QueryStart()
	filter.CreatedAtEnd = end
	params := zendesk.ListParams{Filter: filter, PageSize: r.cfg.PageSize, Sort: zendesk.SortAscending}
	page, err := r.client.List(ctx, params)
	if err != nil {
		return fmt.Errorf("listing audit logs created from %s to %s: %w",
			filter.CreatedAtStart.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	arrived := r.now()
	r.observeClock(page, arrived)
	r.observeRoundTrip(page.RoundTrip)
	// The API's own time bounds the window: what it has not finished yet
	// is left for a later poll.
	end = bound(end, page, r.cfg.SettleDelay)
	logs, past := clip(page.AuditLogs, end)
	first, last, placed := span(logs)
	if err := r.timedDeliver(ctx, logs, arrived); err != nil {
		return err
	}
	if page.HasMore && !past {
		// Every record created before the last second of the first page
		// was in it.
		from := r.pos.Second
		if placed > 0 && last.After(from) {
			from = last
			r.pos = r.pos.ReadBefore(from)
		}
		n := r.sliceConcurrency()
		pages, buffer := slicePagesFor(n)
		target := pages * r.cfg.PageSize
		width := initialSliceWidth(placed, last.Sub(first), end.Sub(from), target, n)
		if err := r.readSlices(ctx, newSlicePlanner(from, end, width, target), buffer); err != nil {
			return err
		}
	}
	// The window is read to its end: every record before end is done.
	if next := r.pos.ReadBefore(end); !next.Equal(r.pos) {
		r.pos = next
		r.save(ctx)
	}
	return nil
}

// readSlices reads the planner's slices, several at once, and delivers
// them in order, moving the checkpoint past each slice read to its end.
// As many slices are read at once as sliceConcurrency says. Slices read
// to their end wait for their turn: with a budget up to twice as many
// slices in all, so that a slow slice being delivered does not leave the
// budget unused; without one, no more than are read. Each reader reads at
// most buffer pages ahead of delivery. It returns once
// every reader has stopped.
func (r *logsReceiver) readSlices(ctx context.Context, planner *slicePlanner, buffer int) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var open []*sliceRead // in time order; open[0] is being delivered
	defer func() {
		cancel()
		wg.Wait()
		// What was read ahead and not delivered goes back to the pool.
		for _, sr := range open {
			sr.drop(r.readAhead)
		}
	}()
	var (
		reading atomic.Int32 // readers still reading
		// stopped wakes the loop when a reader stops reading.
		stopped = make(chan struct{}, 1)
	)
	fill := func() {
		for {
			n := r.sliceConcurrency()
			maxOpen := n
			if r.cfg.MaxRequestsPerMinute > 0 {
				maxOpen = 2 * n
			}
			if int(reading.Load()) >= n || len(open) >= maxOpen {
				return
			}
			var sr *sliceRead
			if s, ok := planner.Next(); ok {
				sr = newSliceRead(s, buffer)
				open = append(open, sr)
			} else {
				// The window is planned to its end: split the slice with
				// the most left to read, so that the last ones are read
				// side by side rather than one long slice alone.
				i := -1
				for j, o := range open {
					if i < 0 || o.remaining() > open[i].remaining() {
						i = j
					}
				}
				if i < 0 {
					return
				}
				var ok bool
				// Each chain ends in a part-empty page: no split
				// for less than a few pages.
				if sr, ok = open[i].split(planner.widthOf(splitMinPages * r.cfg.PageSize)); !ok {
					return
				}
				open = slices.Insert(open, i+1, sr)
			}
			reading.Add(1)
			wg.Go(func() {
				r.readSlice(ctx, sr)
				reading.Add(-1)
				select {
				case stopped <- struct{}{}:
				default:
				}
			})
		}
	}
	for fill(); len(open) > 0; fill() {
		if err := ctx.Err(); err != nil {
			return err // shutting down: pages read ahead are read again later
		}
		head := open[0]
		head.markHead()
		select {
		case <-stopped:
			continue
		case p, ok := <-head.pages:
			switch {
			case ok && p.err != nil:
				return p.err
			case ok:
				r.observeRoundTrip(p.roundTrip)
				err := r.timedDeliver(ctx, p.logs, p.arrived)
				r.readAhead.release(p.token)
				if err != nil {
					return err
				}
				continue
			case !head.complete: // only when ctx ended
				return cmp.Or(ctx.Err(), errors.New("reading a time slice stopped before its end"))
			}
		}
		// The head slice is read to its end and delivered.
		if next := r.pos.ReadBefore(head.slice().end); !next.Equal(r.pos) {
			r.pos = next
			r.save(ctx)
		}
		planner.Observe(head.slice(), head.records)
		open = open[1:]
	}
	return nil
}

// sliceConcurrency is how many slices are read at once now.
func (r *logsReceiver) sliceConcurrency() int {
	return sliceConcurrency(r.cfg.MaxConcurrentRequests, r.cfg.MaxRequestsPerMinute, r.roundTrip, r.deliverTime)
}

// timedDeliver is deliver, timed for the moving average of how long a page
// takes to deliver.
func (r *logsReceiver) timedDeliver(ctx context.Context, logs []zendesk.AuditLog, arrived time.Time) error {
	if len(logs) == 0 {
		return nil
	}
	start := time.Now()
	err := r.deliver(ctx, logs, arrived)
	if err == nil {
		average(&r.deliverTime, time.Since(start))
	}
	return err
}

// observeRoundTrip follows the API's answer time (a moving average).
func (r *logsReceiver) observeRoundTrip(d time.Duration) { average(&r.roundTrip, d) }

// average moves a moving average towards d.
func average(avg *time.Duration, d time.Duration) {
	switch {
	case d <= 0:
	case *avg == 0:
		*avg = d
	default:
		*avg = (3**avg + d) / 4
	}
}

// span returns the first and last created_at seconds of a page, and how
// many of its records have one.
func span(logs []zendesk.AuditLog) (first, last time.Time, n int) {
	for _, a := range logs {
		created, ok := a.CreatedAt.Get()
		if !ok {
			continue
		}
		s := created.UTC().Truncate(time.Second)
		if n == 0 {
			first = s
		}
		last = s
		n++
	}
	return first, last, n
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
