package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
		// Nothing to read by the API's clock as the latest response gave
		// it, and only a response can correct it: forget it, so that the
		// next poll asks (a Date far in the past, from a proxy or a cached
		// answer, would otherwise stop every poll for good). That poll's
		// first answer then bounds its window by its own Date.
		r.clock.known = false
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
	r.observeAnswer(page.RoundTrip, page.Latency, arrived)
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
		n, deliveryBound := r.sliceConcurrency()
		pages, buffer := slicePagesFor(n, deliveryBound)
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
// budget unused; without one, or when delivery is what bounds the reading
// (see sliceConcurrency), no more than are read. Each reader reads at
// most buffer pages ahead of delivery. It returns once every reader has
// stopped; it returns nil only when the planner is exhausted and every
// slice it planned was delivered to its end (checked: see
// errWindowNotCovered).
func (r *logsReceiver) readSlices(ctx context.Context, planner *slicePlanner, buffer int) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var open []*sliceRead // in time order; open[0] is being delivered
	r.pagesAhead.Store(int64(r.pagesAheadNow(buffer)))
	defer func() {
		cancel()
		wg.Wait()
		// What was read ahead and not delivered goes back to the pool.
		for _, sr := range open {
			sr.drop(r.readAhead)
		}
	}()
	var (
		// stopped wakes the loop when a reader stops reading.
		stopped = make(chan struct{}, 1)
		// covered is where the slices delivered so far end: each slice
		// delivered starts where the one before ended.
		covered = planner.from
	)
	// reading is how many open slices are still being read. It is counted
	// from open itself, not kept in a counter that readers update after
	// they stop: a reader marks its slice read before it closes the
	// slice's channel (see readSlice), so a slice the loop has seen closed
	// is never counted, and when nothing is open nothing is being read.
	// (Issue #20: a counter decremented after the close made a reader
	// that had closed its channel, but not yet counted itself out, still
	// count; fill then planned nothing, the loop took "nothing open" for
	// "window finished" and the poll moved the checkpoint past records it
	// never asked for.)
	reading := func() int {
		n := 0
		for _, o := range open {
			if !o.read.Load() {
				n++
			}
		}
		return n
	}
	fill := func() {
		for {
			n, deliveryBound := r.sliceConcurrency()
			maxOpen := n
			if r.cfg.MaxRequestsPerMinute > 0 && !deliveryBound {
				maxOpen = 2 * n
			}
			if reading() >= n || len(open) >= maxOpen {
				return
			}
			var sr *sliceRead
			if s, ok := planner.Next(); ok {
				sr = newSliceRead(s, buffer)
				open = append(open, sr)
			} else {
				// The window is planned to its end: split the slice with
				// the most left to read, so that the last ones are read
				// side by side rather than one long slice alone. Not
				// for a budget that one request at a time spends: two
				// chains read it no faster, and each ends in a part-empty
				// page, a request of the budget.
				if oneRequestSpends(r.cfg.MaxRequestsPerMinute, r.roundTrip) {
					return
				}
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
			wg.Go(func() {
				r.readSlice(ctx, sr)
				if r.afterSliceRead != nil {
					r.afterSliceRead(ctx)
				}
				select {
				case stopped <- struct{}{}:
				default:
				}
			})
		}
	}
	// With nothing open, nothing is being read (see reading), so fill
	// plans the next slice unless the planner is exhausted: the loop ends
	// only then.
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
				head.tookPage()
				r.observeAnswer(p.roundTrip, p.latency, p.arrived)
				err := r.timedDeliver(ctx, p.logs, p.arrived)
				r.readAhead.release(p.token)
				r.pagesAhead.Store(int64(r.pagesAheadNow(buffer)))
				if err != nil {
					return err
				}
				continue
			case !head.complete: // only when ctx ended
				return cmp.Or(ctx.Err(), errors.New("reading a time slice stopped before its end"))
			}
		}
		// The head slice is read to its end and delivered.
		s := head.slice()
		if !s.start.Equal(covered) {
			return fmt.Errorf("%w: a slice starts at %s where the slices before ended at %s",
				errWindowNotCovered, s.start.Format(time.RFC3339), covered.Format(time.RFC3339))
		}
		covered = s.end
		if next := r.pos.ReadBefore(s.end); !next.Equal(r.pos) {
			r.pos = next
			r.save(ctx)
		}
		planner.Observe(s, head.records)
		open = open[1:]
	}
	// Checked, not assumed: a poll that returned nil here would move the
	// checkpoint to the window's end.
	if !planner.exhausted() || covered.Before(planner.to) {
		return fmt.Errorf("%w: slices were delivered up to %s, the window ends at %s",
			errWindowNotCovered, covered.Format(time.RFC3339), planner.to.Format(time.RFC3339))
	}
	return nil
}

// errWindowNotCovered says that the slices delivered do not cover the
// window: a bug, reported as a failed poll (the checkpoint stays where the
// last slice delivered ended, and the next poll reads on from there)
// rather than a window taken as read.
var errWindowNotCovered = errors.New("internal error: the time slices delivered do not cover the window")

// sliceConcurrency is how many slices are read at once now, and whether
// delivery is what bounds them.
func (r *logsReceiver) sliceConcurrency() (n int, deliveryBound bool) {
	return sliceConcurrency(r.cfg.MaxConcurrentRequests, r.cfg.MaxRequestsPerMinute, r.roundTrip, r.latency.estimate(), r.deliverTime)
}

// pagesAheadNow is how many pages each slice's reader may hold ahead of
// delivery now, of a buffer of buffer.
func (r *logsReceiver) pagesAheadNow(buffer int) int {
	return pagesAhead(buffer, r.cfg.MaxRequestsPerMinute, r.roundTrip, r.latency.estimate(), r.deliverTime)
}

// timedDeliver is deliver, timed for the moving average of how long a page
// takes to deliver. Then the page goes back to the client, which decodes a
// later page into it: what was delivered was copied into the logs handed
// on, and nothing else keeps a record (see zendesk.Client.Recycle).
func (r *logsReceiver) timedDeliver(ctx context.Context, logs []zendesk.AuditLog, arrived time.Time) error {
	defer r.client.Recycle(logs)
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

// observeAnswer follows the API's answer time, body read (a moving
// average), and its latency (the least of recent ones, see latency.go), of
// a page that arrived at arrived.
func (r *logsReceiver) observeAnswer(roundTrip, latency time.Duration, arrived time.Time) {
	average(&r.roundTrip, roundTrip)
	r.latency.observe(latency, arrived)
}

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
	for i := range logs {
		created, ok := logs[i].CreatedAt.Get()
		if !ok {
			continue
		}
		if n == 0 {
			first = created
		}
		last = created
		n++
	}
	if n == 0 {
		return time.Time{}, time.Time{}, 0
	}
	return first.UTC().Truncate(time.Second), last.UTC().Truncate(time.Second), n
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
