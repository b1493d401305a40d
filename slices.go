package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// A window that holds more than its first page is read in time slices:
// contiguous parts of the window, each its own cursor chain, several read
// at once (every request through the one client, so through its budget
// and its Retry-After holds) and delivered strictly in time order: all of
// the first slice, then the second, ... The checkpoint stays the one
// position it is: a slice is read from the second before its start (the
// second the slice before it ended in, shared by both), and delivery skips
// what the position says is done, so the shared second is de-duplicated by
// id as the checkpoint's own second always was.

const (
	// slicePages is how many pages a slice is sized to hold when a few
	// slices are read at once (without a budget, or with a small one,
	// see largeSlicesFrom): every page read ahead of delivery is memory.
	slicePages = 24
	// largeSlicePages is how many when the budget needs more slices at
	// once: a slice's last page is partly empty (about half a page wasted
	// per slice, and the second it shares with the slice before is read
	// twice), and every request counts against the budget: about 3 % of
	// it with 24-page slices, 1.5 % with 48 (at 2,500 a minute and 300 ms,
	// 0.961-0.963 of the budget used instead of 0.939-0.955, see
	// docs/performance.md).
	largeSlicePages = 48
	// sliceBufferPages and largeSliceBufferPages are how many pages a
	// slice's reader reads ahead of delivery before it waits: a little
	// more than the slice is sized for (slices are sized by the density
	// of those before, so some hold more: the first ones, by the first
	// page's density, up to a quarter more), so that a slice read ahead
	// seldom waits for the ones before it, and memory stays bounded
	// whatever the backlog (at most twice the concurrency of slices open,
	// each holding at most this many pages).
	sliceBufferPages      = 28
	largeSliceBufferPages = 60
	// splitMinPages is the least a slice must have left to read, in
	// pages, to be split at the end of a window (see sliceRead.split):
	// each split ends one more chain in a part-empty page, but a chain
	// left alone at the end keeps the budget idle for as long as it
	// takes, a round trip per page.
	splitMinPages = 3
	// minSliceWidth keeps slices wide enough that the seconds they share
	// with their neighbours, read twice, are a small part of them, however
	// dense (a burst of hundreds of records in one second is read by one
	// slice, or twice at a boundary).
	minSliceWidth = 10 * time.Second
	// sliceGrowth bounds how much the width changes from one slice to the
	// next, so that one odd slice does not swing the plan.
	sliceGrowth = 4
)

// slice is a part of a window: the records created in [start, end], read
// with a query from the second before start (see Position.QueryStart).
// Once it is read to its end, every record created before end is done.
type slice struct {
	start, end time.Time
}

// slicePlanner cuts [from, to] into contiguous slices, each starting at the
// second the one before ends (neighbours share it), sized to hold about
// target records by the density seen so far. It does no I/O.
type slicePlanner struct {
	from, next, to time.Time
	width          time.Duration
	target         int
	started        bool
}

// newSlicePlanner plans [from, to] for slices of about target records,
// the first ones width wide.
func newSlicePlanner(from, to time.Time, width time.Duration, target int) *slicePlanner {
	return &slicePlanner{from: from, next: from, to: to, width: max(width, minSliceWidth), target: target}
}

// initialSliceWidth is the width of the first slices: target records at
// the density of the first page (records over span, at least a second),
// but at most a share of the rest of the window, so that a sparse first
// page still leaves parallel slices to read.
func initialSliceWidth(records int, span, rest time.Duration, target, concurrency int) time.Duration {
	span = max(span, time.Second)
	w := time.Duration(math.MaxInt64)
	if records > 0 {
		w = time.Duration(float64(span) * float64(target) / float64(records))
	}
	if share := rest / time.Duration(max(concurrency, 1)); share < w {
		w = share
	}
	return max(w.Truncate(time.Second), minSliceWidth)
}

// Next returns the next slice, or false when [from, to] is covered. A
// window of one second is one slice. (Towards the end of the window,
// readers left without a slice split the slices still being read: see
// sliceRead.split.)
func (p *slicePlanner) Next() (slice, bool) {
	if p.exhausted() {
		return slice{}, false
	}
	p.started = true
	end := p.next.Add(p.width)
	// No sliver at the end: a last slice under minSliceWidth joins this one.
	if p.to.Sub(end) < minSliceWidth {
		end = p.to
	}
	s := slice{start: p.next, end: end}
	p.next = end
	if end.Equal(p.to) {
		p.next = p.to.Add(time.Second) // covered
	}
	return s, true
}

// exhausted says whether Next has handed out the last slice of [from, to].
func (p *slicePlanner) exhausted() bool {
	return p.next.After(p.to) || p.next.Equal(p.to) && p.started
}

// Observe adjusts the width of the slices not planned yet to a read slice
// that held records.
func (p *slicePlanner) Observe(s slice, records int) {
	span := max(s.end.Sub(s.start), time.Second)
	w := span * sliceGrowth
	if records > 0 {
		w = time.Duration(float64(span) * float64(p.target) / float64(records))
	}
	w = min(max(w, p.width/sliceGrowth), p.width*sliceGrowth)
	p.width = max(w.Truncate(time.Second), minSliceWidth)
}

// widthOf is how wide a part of the window holding about records is, by
// the density the planner sizes its slices with.
func (p *slicePlanner) widthOf(records int) time.Duration {
	return time.Duration(float64(p.width) * float64(records) / float64(max(p.target, 1)))
}

// unbudgetedSlices is how many slices are read at once without a request
// budget: one ahead of delivery. Without a budget nothing says how many
// requests a minute are wanted, and every slice read ahead holds pages.
const unbudgetedSlices = 2

// sliceConcurrency is how many slices to read at once: the least of
//   - limit (max_concurrent_requests);
//   - with a budget (requests per minute), as many requests in flight as
//     it needs: its rate × the mean round trip (Little's law counts the
//     mean time in the system, and an API whose answers vary needs the
//     mean, not the least, to spend the budget), a quarter more for
//     jitter and one to spare; without a budget, unbudgetedSlices;
//   - as many as delivery can take: readers that each get a page in
//     latency (the API's own answer time, see latency.go) for a page
//     delivered in deliverTime, a quarter more and one to spare. Not the
//     round trip: on a machine short of CPU, time spent after the API
//     answered (reading and decoding the body) is spent queueing for a
//     CPU, which more readers only lengthen.
//
// deliveryBound says the last one is the least: delivery, not the API
// (its budget, or the requests allowed in flight), bounds how fast the
// window is read, so slices read ahead of their turn buy nothing (see
// readSlices and slicePagesFor). With answers in no time that is two or
// three slices, delivery bound; with answers of 300 ms it is what the
// budget needs. What is not known yet (zero) does not bound it, except a
// round trip of zero with a budget: one at a time keeps up.
func sliceConcurrency(limit, perMinute int, roundTrip, latency, deliverTime time.Duration) (n int, deliveryBound bool) {
	api := max(limit, 1)
	if perMinute > 0 {
		api = min(api, int(math.Ceil(budgetInFlight(perMinute, roundTrip)))+1)
	} else {
		api = min(api, unbudgetedSlices)
	}
	if latency <= 0 || deliverTime <= 0 {
		return api, false
	}
	delivery := int(math.Ceil(min(latency.Seconds()/deliverTime.Seconds(), 1e6)*1.25)) + 1
	return min(api, delivery), delivery <= api
}

// budgetInFlight is how many requests in flight a budget of perMinute
// needs at roundTrip (its rate × the round trip, a quarter more for
// jitter).
func budgetInFlight(perMinute int, roundTrip time.Duration) float64 {
	return float64(perMinute) / 60 * roundTrip.Seconds() * 1.25
}

// oneRequestSpends says a budget of perMinute is spent by one request at
// a time at roundTrip (budgetInFlight at most 1: the default budget at
// 300 ms, any budget of an API answering in a few ms).
func oneRequestSpends(perMinute int, roundTrip time.Duration) bool {
	return perMinute > 0 && roundTrip > 0 && budgetInFlight(perMinute, roundTrip) <= 1
}

// largeSlicesFrom is how many slices read at once make them large: a
// budget that needs that many is a large one (700 a minute at 300 ms
// needs 6), while the default budget (100 a minute) needs at most 4 at
// answers up to 1.4 s, so that a collector of many accounts at the
// default budget keeps the small read-ahead.
const largeSlicesFrom = 5

// slicePagesFor is how many pages a slice is sized to hold, and how many
// its reader reads ahead of delivery, when concurrency slices are read at
// once. Large slices save requests of a budget that bounds the reading;
// when delivery bounds it (deliveryBound, see sliceConcurrency), a
// request saved buys nothing, and a page read ahead is memory.
func slicePagesFor(concurrency int, deliveryBound bool) (pages, buffer int) {
	if concurrency >= largeSlicesFrom && !deliveryBound {
		return largeSlicePages, largeSliceBufferPages
	}
	return slicePages, sliceBufferPages
}

// minPagesAhead is the least a slice's reader may hold ahead of delivery:
// the page being delivered's successor and one to spare.
const minPagesAhead = 2

// pagesAhead is how many pages each slice's reader may hold ahead of
// delivery (at most buffer). Read-ahead is memory, and only useful while
// waiting for the API is the bottleneck.
//
// The slice being delivered is read by one reader, a page per latency
// (the API's own answer time, see latency.go) at best, while delivery
// takes a page per deliverTime: delivery never waits for it when the
// slice was read ahead by at least its pages × (1 - deliverTime/latency)
// when it became the one delivered. So a reader that waits for the API
// much longer than delivery takes (answers of 300 ms) reads its whole
// buffer ahead, as a budget that needs several requests in flight needs
// (the slices behind the one being delivered must be read while it is);
// one whose API answers about as fast as delivery holds a couple of
// pages. It is the API's latency, not the reader's whole time per page:
// what a reader spends after the API answered (reading and decoding the
// body) is CPU, and on a machine short of it pages read ahead do not make
// delivery faster, they only hold memory (a collector reading 100k
// records from an API answering in no time grew 1.7-2.7x in RSS when the
// reader's whole time, inflated by queueing for a CPU, sized its
// read-ahead). No quarter more for jitter here: sliceConcurrency's
// readers have it.
//
// A budget (perMinute) that one request at a time can spend at the mean
// round trip (budgetInFlight at most 1: the default budget at 300 ms, any
// budget of a fast API) needs no read-ahead either: the slice being
// delivered has its pages taken as they come, so its reader asks all the
// time, and what the slices behind it read ahead is only what delivery
// has not had yet (and would lose if the collector stopped).
//
// What is not known yet (zero) does not bound it.
func pagesAhead(buffer, perMinute int, roundTrip, latency, deliverTime time.Duration) int {
	if oneRequestSpends(perMinute, roundTrip) {
		return min(buffer, minPagesAhead)
	}
	if latency <= 0 || deliverTime <= 0 {
		return buffer
	}
	share := max(1-deliverTime.Seconds()/latency.Seconds(), 0)
	return min(buffer, int(math.Ceil(float64(buffer)*share))+minPagesAhead)
}

// slicePage is what a slice's reader hands over: a page of records (those
// after the slice's end removed) and when it arrived, or the error that
// ended the reading.
type slicePage struct {
	logs    []zendesk.AuditLog
	arrived time.Time
	// roundTrip is the API's answer time for the page, body read;
	// latency until its head arrived (see latency.go).
	roundTrip, latency time.Duration
	// token is the read-ahead page the page holds (see readahead.go),
	// given back once it is delivered or dropped.
	token pageToken
	err   error
}

// sliceRead is a slice being read.
type sliceRead struct {
	start time.Time
	// end is the slice's end (unix seconds): the poll loop moves it
	// earlier to hand the rest of the slice to another reader (see
	// split), and the reader reads up to wherever it is.
	end atomic.Int64
	// at is the second of the last record read (unix seconds).
	at    atomic.Int64
	pages chan slicePage
	// complete is set, before pages is closed, when the slice was read to
	// its end; records counts what it read.
	complete bool
	records  int
	// read is set once the reader stopped.
	read atomic.Bool
	// head is closed when the slice becomes the one being delivered
	// (markHead); isHead says it was.
	head   chan struct{}
	isHead atomic.Bool
	// taken wakes a reader that waits for delivery to take a page from
	// pages (see waitAhead).
	taken chan struct{}
}

// newSliceRead is s to be read, at most buffer pages ahead of delivery.
func newSliceRead(s slice, buffer int) *sliceRead {
	sr := &sliceRead{start: s.start, pages: make(chan slicePage, buffer), head: make(chan struct{}), taken: make(chan struct{}, 1)}
	sr.end.Store(s.end.Unix())
	sr.at.Store(s.start.Unix())
	return sr
}

// markHead says sr is now the slice being delivered.
func (sr *sliceRead) markHead() {
	if sr.isHead.CompareAndSwap(false, true) {
		close(sr.head)
	}
}

// tookPage says delivery took a page from sr.pages: it wakes sr's reader
// if it waits for that (see waitAhead).
func (sr *sliceRead) tookPage() {
	select {
	case sr.taken <- struct{}{}:
	default:
	}
}

// waitAhead waits until sr holds fewer than limit() pages ahead of
// delivery (limit zero or less: no bound but the channel's), or ctx ends.
// Only the slice being delivered has pages taken from it; a slice behind
// it that waits here reads on once it is the one delivered.
func (sr *sliceRead) waitAhead(ctx context.Context, limit func() int) error {
	for {
		if n := limit(); n <= 0 || len(sr.pages) < n {
			return nil
		}
		select {
		case <-sr.taken:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// headReady is nil once sr is the slice being delivered, else a channel
// closed when it becomes it.
func (sr *sliceRead) headReady() <-chan struct{} {
	if sr.isHead.Load() {
		return nil
	}
	return sr.head
}

// drop gives back the read-ahead pages of what sr's reader left in its
// channel; the reader must have stopped.
func (sr *sliceRead) drop(ra *readAhead) {
	for p := range sr.pages {
		ra.release(p.token)
	}
}

// slice is the part of the window sr covers, as far as is known now.
func (sr *sliceRead) slice() slice {
	return slice{start: sr.start, end: time.Unix(sr.end.Load(), 0).UTC()}
}

// split hands the second half of what sr has left to read to a new slice,
// when sr is still reading and has at least minLeft left (and two
// minimum widths): sr
// now ends in the middle, where the new slice starts. If sr read past the
// middle meanwhile, delivery skips what the new slice reads again (the
// checkpoint is past it).
func (sr *sliceRead) split(minLeft time.Duration) (*sliceRead, bool) {
	if sr.read.Load() {
		return nil, false
	}
	end, at := sr.end.Load(), sr.at.Load()
	left := time.Duration(end-at) * time.Second
	if left < max(minLeft, 2*minSliceWidth) {
		return nil, false
	}
	mid := at + int64(left/2/time.Second)
	if !sr.end.CompareAndSwap(end, mid) {
		return nil, false
	}
	return newSliceRead(slice{start: time.Unix(mid, 0).UTC(), end: time.Unix(end, 0).UTC()}, cap(sr.pages)), true
}

// remaining is how much of its slice sr has left to read.
func (sr *sliceRead) remaining() time.Duration {
	if sr.read.Load() {
		return 0
	}
	return time.Duration(sr.end.Load()-sr.at.Load()) * time.Second
}

// readSlice reads s's cursor chain into s.pages, at most its buffer
// ahead of delivery, and closes it: after the last page, after an error
// (sent first), or when ctx ends. It marks s read before it closes
// s.pages, so that whoever sees the channel closed sees s read (the poll
// loop counts the slices being read by it, see readSlices).
func (r *logsReceiver) readSlice(ctx context.Context, s *sliceRead) {
	defer func() {
		s.read.Store(true)
		close(s.pages)
	}()
	filter := r.cfg.Filter.apiFilter()
	filter.CreatedAtStart = s.start.Add(-time.Second)
	filter.CreatedAtEnd = s.slice().end
	params := zendesk.ListParams{Filter: filter, PageSize: r.cfg.PageSize, Sort: zendesk.SortAscending}
	send := func(p slicePage) bool {
		select {
		case s.pages <- p:
			return true
		case <-ctx.Done():
			r.readAhead.release(p.token)
			return false
		}
	}
	// fail hands over the error that ends the reading.
	fail := func(err error) {
		send(slicePage{err: fmt.Errorf("listing audit logs created from %s to %s: %w",
			filter.CreatedAtStart.Format(time.RFC3339), filter.CreatedAtEnd.Format(time.RFC3339), err)})
	}
	chain := zendesk.NewChain()
	limit := func() int { return int(r.pagesAhead.Load()) }
	for {
		// No more read ahead than delivery needs (see pagesAhead).
		if s.waitAhead(ctx, limit) != nil {
			return
		}
		// Every page read ahead of delivery holds a page of the
		// collector's read-ahead pool (see readahead.go).
		token, err := r.readAhead.acquire(ctx, s)
		if err != nil {
			return
		}
		page, err := r.client.List(ctx, params)
		if err != nil {
			r.readAhead.release(token)
			if ctx.Err() == nil {
				fail(err)
			}
			return
		}
		logs, past := clip(page.AuditLogs, s.slice().end)
		s.records += len(logs)
		if _, last, n := span(logs); n > 0 {
			s.at.Store(last.Unix())
		}
		if !send(slicePage{logs: logs, arrived: r.now(), roundTrip: page.RoundTrip, latency: page.Latency, token: token}) {
			return
		}
		if past || !page.HasMore {
			s.complete = true
			return
		}
		// A chain the API would never end fails the poll: the checkpoint
		// stays, and the next poll reads the slice again.
		next, err := chain.Next(page)
		if err != nil {
			fail(err)
			return
		}
		params.After = next
	}
}
