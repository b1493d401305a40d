package zendeskauditlogsreceiver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

func planAll(p *slicePlanner) []slice {
	var out []slice
	for s, ok := p.Next(); ok; s, ok = p.Next() {
		out = append(out, s)
	}
	return out
}

func TestSlicePlannerCoversTheWindowNeighboursSharingASecond(t *testing.T) {
	got := planAll(newSlicePlanner(tw, tw.Add(1000*time.Second), 100*time.Second, 1600))
	require.Len(t, got, 10)
	assert.Equal(t, tw, got[0].start)
	for i := 1; i < len(got); i++ {
		assert.Equal(t, got[i-1].end, got[i].start, "slice %d starts in the second slice %d ends in", i, i-1)
	}
	assert.Equal(t, tw.Add(1000*time.Second), got[len(got)-1].end)
}

// A reader left without a slice takes the second half of what a slice
// still being read has left.
func TestSliceSplitHandsOverTheSecondHalfOfWhatIsLeft(t *testing.T) {
	sr := newSliceRead(slice{start: tw, end: tw.Add(100 * time.Second)}, sliceBufferPages)
	sr.at.Store(tw.Add(20 * time.Second).Unix()) // read up to second 20
	assert.Equal(t, 80*time.Second, sr.remaining())
	rest, ok := sr.split(0)
	require.True(t, ok)
	assert.Equal(t, slice{tw, tw.Add(60 * time.Second)}, sr.slice(), "it now ends in the middle of what it had left")
	assert.Equal(t, slice{tw.Add(60 * time.Second), tw.Add(100 * time.Second)}, rest.slice(), "the rest starts in that second")

	sr.at.Store(tw.Add(45 * time.Second).Unix())
	_, ok = sr.split(0)
	assert.False(t, ok, "15 s left: not worth another chain")
	sr.at.Store(tw.Add(30 * time.Second).Unix())
	_, ok = sr.split(time.Minute)
	assert.False(t, ok, "less left than asked for")
	rest.read.Store(true)
	_, ok = rest.split(0)
	assert.False(t, ok, "read to its end")
	assert.Zero(t, rest.remaining())
}

func TestSlicePlannerLeavesNoSliver(t *testing.T) {
	got := planAll(newSlicePlanner(tw, tw.Add(105*time.Second), 100*time.Second, 1600))
	assert.Equal(t, []slice{{tw, tw.Add(105 * time.Second)}}, got, "5 s left over join the slice before")
}

func TestSlicePlannerOneSecondWindowIsOneSlice(t *testing.T) {
	assert.Equal(t, []slice{{tw, tw}}, planAll(newSlicePlanner(tw, tw, time.Minute, 1600)))
}

func TestSlicePlannerFollowsTheDensityWithinBounds(t *testing.T) {
	p := newSlicePlanner(tw, tw.Add(24*time.Hour), 100*time.Second, 1600)
	s, _ := p.Next()
	p.Observe(s, 3200) // twice as dense as planned
	s, _ = p.Next()
	assert.Equal(t, 50*time.Second, s.end.Sub(s.start))
	p.Observe(s, 0) // empty: wider, by at most sliceGrowth
	s, _ = p.Next()
	assert.Equal(t, 200*time.Second, s.end.Sub(s.start))
	p.Observe(s, 1_000_000) // a huge burst: narrower, never under minSliceWidth
	s, _ = p.Next()
	assert.Equal(t, 50*time.Second, s.end.Sub(s.start))
	p.Observe(s, 1_000_000)
	p.Observe(s, 1_000_000)
	s, _ = p.Next()
	assert.Equal(t, minSliceWidth, s.end.Sub(s.start))
}

func TestInitialSliceWidth(t *testing.T) {
	assert.Equal(t, 800*time.Second, initialSliceWidth(100, 50*time.Second, 24*time.Hour, 1600, 8), "16 pages at the first page's density")
	assert.Equal(t, 3*time.Hour, initialSliceWidth(100, 24*time.Hour, 24*time.Hour, 1600, 8), "a sparse first page: at most a share of the rest")
	assert.Equal(t, 16*time.Second, initialSliceWidth(100, 0, time.Hour, 1600, 8), "a burst in one second")
	assert.Equal(t, minSliceWidth, initialSliceWidth(100, 0, 40*time.Second, 1600, 8), "never under minSliceWidth")
	assert.Equal(t, 450*time.Second, initialSliceWidth(0, 0, time.Hour, 1600, 8), "no record placed: a share of the rest")
}

func TestSliceConcurrencyIsWhatTheBudgetNeeds(t *testing.T) {
	ms := time.Millisecond
	n := func(limit, perMinute int, roundTrip, latency, deliverTime time.Duration) int {
		n, _ := sliceConcurrency(limit, perMinute, roundTrip, latency, deliverTime)
		return n
	}
	assert.Equal(t, 2, n(8, 100, 300*ms, 300*ms, ms), "the default budget: one or two in flight")
	assert.Equal(t, 6, n(8, 700, 300*ms, 300*ms, ms), "700 a minute at 300 ms: 3.5 in flight, and room")
	assert.Equal(t, 8, n(8, 2500, 300*ms, 300*ms, ms), "never more than max_concurrent_requests")
	assert.Equal(t, 2, n(8, 0, 300*ms, 300*ms, ms), "no budget: one slice ahead of delivery")
	assert.Equal(t, 4, n(8, 600_000, 2*ms, 2*ms, ms), "an API that answers in 2 ms and pages delivered in 1 ms")
	assert.Equal(t, 2, n(8, 600_000, ms, ms, 10*ms), "a slow next consumer: one slice ahead")
	assert.Equal(t, 8, n(8, 2500, 300*ms, 300*ms, 0), "delivery not measured yet")
	assert.Equal(t, 8, n(8, 2500, 300*ms, 0, ms), "the API's latency not measured yet")
	assert.Equal(t, 1, n(1, 700, 300*ms, 300*ms, ms))
	assert.Equal(t, 1, n(8, 700, 0, 0, ms), "answers take no time: one at a time keeps up")
	// The budget needs its rate × the mean round trip in flight, whatever
	// the latency's floor: an API that answers in 100 ms to 1 s.
	assert.Equal(t, 5, n(8, 300, 500*ms, 100*ms, ms), "the budget by the mean round trip (by the least: 2)")
}

// Issue #18: readers that take 5 ms a page only because they queue for a
// CPU (the API answers in 0.2 ms, the least seen) are not more readers'
// worth of latency: delivery, at 0.2 ms a page, bounds the reading, and
// two or three slices keep it busy. (Sized by the round trip, as before,
// that was max_concurrent_requests, whose queueing kept it there.) With
// answers of 300 ms nothing changes.
func TestSliceConcurrencyFollowsTheAPIsLatencyNotQueueingForACPU(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	n, deliveryBound := sliceConcurrency(8, 1_000_000, 5*ms, 200*us, 200*us)
	assert.Equal(t, 3, n, "readers for a page delivered in 0.2 ms, read in 0.2 ms at best")
	assert.True(t, deliveryBound, "delivery, not the API, bounds the reading")
	n, deliveryBound = sliceConcurrency(8, 1_000_000, 5*ms, 100*us, 400*us)
	assert.Equal(t, 2, n)
	assert.True(t, deliveryBound)

	for _, tc := range []struct {
		perMinute, want int
	}{{700, 6}, {2500, 8}, {1_000_000, 8}} {
		n, deliveryBound := sliceConcurrency(8, tc.perMinute, 300*ms, 300*ms, ms)
		assert.Equal(t, tc.want, n, "%d a minute at 300 ms", tc.perMinute)
		assert.False(t, deliveryBound, "%d a minute at 300 ms: the API bounds the reading", tc.perMinute)
	}
	_, deliveryBound = sliceConcurrency(8, 0, 5*ms, 200*us, 200*us)
	assert.False(t, deliveryBound, "without a budget, unbudgetedSlices are fewer than delivery takes")
}

func TestSlicesAreLargeOnlyWhenTheAPIBoundsTheReading(t *testing.T) {
	pages, buffer := slicePagesFor(6, false)
	assert.Equal(t, []int{largeSlicePages, largeSliceBufferPages}, []int{pages, buffer}, "a large budget at 300 ms")
	pages, buffer = slicePagesFor(4, false)
	assert.Equal(t, []int{slicePages, sliceBufferPages}, []int{pages, buffer}, "the default budget")
	pages, buffer = slicePagesFor(6, true)
	assert.Equal(t, []int{slicePages, sliceBufferPages}, []int{pages, buffer}, "delivery bound: a request saved buys nothing")
}

func TestPagesAheadIsWhatDeliveryNeeds(t *testing.T) {
	ms := time.Millisecond
	ahead := func(buffer int, latency, deliverTime time.Duration) int {
		return pagesAhead(buffer, 0, latency, latency, deliverTime)
	}
	assert.Equal(t, 60, ahead(60, 0, ms), "the API's latency not measured yet: the whole buffer")
	assert.Equal(t, 60, ahead(60, 300*ms, 0), "delivery not measured yet: the whole buffer")
	assert.Equal(t, 60, ahead(60, 300*ms, ms), "slow answers: the slice read ahead, as before")
	assert.Equal(t, 28, ahead(28, 100*ms, ms), "answers of 100 ms: the slice read ahead")
	assert.Equal(t, minPagesAhead, ahead(60, ms, 10*ms), "a slow next consumer: a couple of pages")
	assert.Equal(t, minPagesAhead, ahead(60, ms, ms), "the API answers as fast as delivery")
	// The API answers in twice the delivery time: the slice being
	// delivered must be half read ahead (1 - 1/2) for delivery not to
	// wait for it.
	assert.Equal(t, 30+minPagesAhead, ahead(60, 2*ms, ms))
	for _, latency := range []time.Duration{ms, 2 * ms, 10 * ms, time.Second} {
		for _, deliver := range []time.Duration{ms / 10, ms, 10 * ms} {
			n := ahead(28, latency, deliver)
			assert.True(t, n >= minPagesAhead && n <= 28, "latency %s, deliver %s: %d pages", latency, deliver, n)
		}
	}
}

func TestOneRequestSpendsABudgetOfLessThanOneInFlight(t *testing.T) {
	ms := time.Millisecond
	assert.True(t, oneRequestSpends(100, 300*ms), "the default budget at 300 ms: 0.6 in flight")
	assert.True(t, oneRequestSpends(600, ms), "600 a minute at 1 ms")
	assert.False(t, oneRequestSpends(700, 300*ms), "700 a minute at 300 ms: 4.4 in flight")
	assert.False(t, oneRequestSpends(100, time.Second), "the default budget at 1 s: 2.1 in flight")
	assert.False(t, oneRequestSpends(0, ms), "no budget")
	assert.False(t, oneRequestSpends(100, 0), "no round trip measured yet")
}

// Issue #18: a budget that one request at a time spends needs no pages
// read ahead, however slow the API is next to delivery; one that needs
// several in flight reads its slices ahead, as before.
func TestPagesAheadOfABudget(t *testing.T) {
	ms := time.Millisecond
	assert.Equal(t, minPagesAhead, pagesAhead(60, 600, ms, ms/2, ms/10), "600 a minute at 1 ms: 0.01 in flight")
	assert.Equal(t, minPagesAhead, pagesAhead(28, 100, 300*ms, 300*ms, ms), "the default budget at 300 ms: 0.6 in flight")
	assert.Equal(t, 60, pagesAhead(60, 700, 300*ms, 300*ms, ms), "700 a minute at 300 ms: 4.4 in flight")
	assert.Equal(t, 60, pagesAhead(60, 2500, 300*ms, 300*ms, ms), "2,500 a minute at 300 ms")
	assert.Equal(t, minPagesAhead, pagesAhead(60, 1_000_000, 5*ms, ms/5, ms/5), "a huge budget, an API as fast as delivery: by the latency")
	assert.Equal(t, 28, pagesAhead(28, 100, 0, 0, 0), "nothing measured yet: the whole buffer")
}

func TestASliceReaderWaitsForDeliveryToTakeAPage(t *testing.T) {
	ctx := context.Background()
	sr := newSliceRead(slice{}, 4)
	limit := 2
	limitOf := func() int { return limit }
	require.NoError(t, sr.waitAhead(ctx, limitOf), "nothing held")
	sr.pages <- slicePage{}
	sr.pages <- slicePage{}
	done := make(chan error, 1)
	go func() { done <- sr.waitAhead(ctx, limitOf) }()
	select {
	case err := <-done:
		t.Fatalf("the reader read on holding its limit: %v", err)
	case <-time.After(20 * time.Millisecond): // it waits (a late wake would fail below, not here)
	}
	<-sr.pages
	sr.tookPage()
	require.NoError(t, <-done, "a page taken wakes the reader")

	// A wake left over from an earlier page does not let it read past the limit.
	sr.pages <- slicePage{}
	sr.tookPage()
	ctx, cancel := context.WithCancel(ctx)
	go func() { done <- sr.waitAhead(ctx, limitOf) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled, "a wait ends with its context")

	limit = 0
	require.NoError(t, sr.waitAhead(context.Background(), limitOf), "no limit: the channel's buffer alone bounds it")
}

// listRequest is a list request the API answered.
type listRequest struct {
	start    time.Time // filter[created_at] start
	after    bool      // a later page of a chain
	answered time.Time
}

// listLog records the list requests the simulator answers, optionally
// delaying some.
type listLog struct {
	mu    sync.Mutex
	reqs  []listRequest
	delay func(start time.Time) time.Duration
}

func (l *listLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var start time.Time
		if v := q["filter[created_at][]"]; len(v) == 2 {
			start, _ = time.Parse(time.RFC3339, v[0])
		}
		if l.delay != nil {
			if d := l.delay(start); d > 0 {
				time.Sleep(d)
			}
		}
		h.ServeHTTP(w, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.reqs = append(l.reqs, listRequest{start: start, after: q.Has("page[after]"), answered: time.Now()})
	})
}

func (l *listLog) all() []listRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// Issue #12: seconds with more records than a page, their order different
// in every cursor chain, where slices meet: every record once.
func TestSliceBoundariesInSameSecondBurstsLoseAndRepeatNothing(t *testing.T) {
	log := &listLog{}
	e := newEnvWith(t, zendesksim.Options{}, log.wrap)
	e.cfg.PageSize = 50
	base := e.ago(t, time.Hour).Truncate(time.Second)
	burstSeconds := map[time.Time]bool{}
	for i := range 40 { // 40 seconds of 110 records each (more than two pages)
		at := base.Add(time.Duration(i) * time.Second)
		e.sim.GenerateBurst(110, at)
		burstSeconds[at.UTC()] = true
	}
	e.sim.Generate(100, base.Add(time.Minute), base.Add(30*time.Minute))

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)

	inBurst := 0
	for _, q := range log.all() {
		if !q.after && burstSeconds[q.start.Add(time.Second)] {
			inBurst++ // a slice starting in a burst second, shared with the slice before
		}
	}
	assert.GreaterOrEqual(t, inBurst, 2, "slice boundaries fell inside bursts")
}

// Issue #12: a 429 while several requests are in flight holds back every
// request until its Retry-After runs out.
//
// Issue #22: checked on the client's side, exactly: no request is sent
// (its round trip starts) after the client read a 429 and before its
// Retry-After ran out. The simulator's own count judges by the wire: a
// request sent before the client read the 429 crossed it, and under
// -race on a loaded machine such a request was seen arriving 92-210 ms
// after the 429 was written (the 429 took 91-117 ms to reach the client),
// past the default 50 ms crossing window: so here the window is measured
// from the send time the client stamps, and is half the Retry-After.
func TestRetryAfterDuringConcurrentReadingIsHonouredByEveryRequest(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{
		Faults:                   zendesksim.Faults{P429: 0.05, RetryAfter: time.Second, Latency: 20 * time.Millisecond},
		RetryAfterCrossingWindow: 500 * time.Millisecond,
	}, nil)
	e.cfg.MaxRequestsPerMinute = 6000 // 100 a second: 2 in flight at 20 ms, and room
	sends := &sendLog{}
	h := newSliceHarnessWith(t, e, nil, sends.instrument)
	from, to := e.ago(t, 3*time.Hour).Truncate(time.Second), e.ago(t, time.Minute).Truncate(time.Second)
	e.sim.Generate(6000, from, to)
	p, err := h.read(from, to, 10*time.Minute, slicePages*e.cfg.PageSize)
	require.NoError(t, err)
	h.requireWindowDelivered(t, p, from, to)

	st := e.sim.Stats()
	assert.Positive(t, st.ByStatus[http.StatusTooManyRequests], "429s were sent")
	assert.GreaterOrEqual(t, st.PeakInFlight, 3, "reading was concurrent")
	assert.Empty(t, sends.sentWhileHeld(t), "no request was sent while a Retry-After the client had read held")
	assert.Zero(t, st.RetryAfterViolations, "no request was sent while a Retry-After held, by the simulator's count (%d crossed one)", st.RetryAfterCrossings)
}

// sendLog notes when the client sends each request (and stamps it with
// that time, for the simulator), and when it read each Retry-After.
type sendLog struct {
	mu    sync.Mutex
	sent  []time.Time
	holds []struct{ read, until time.Time }
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// instrument makes the client report to l.
func (l *sendLog) instrument(o *zendesk.Options) {
	next := o.HTTPClient.Transport
	o.HTTPClient.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		now := time.Now()
		l.mu.Lock()
		l.sent = append(l.sent, now)
		l.mu.Unlock()
		r = r.Clone(r.Context())
		r.Header.Set(zendesksim.SentAtHeader, now.Format(time.RFC3339Nano))
		return next.RoundTrip(r)
	})
	// OnRequest runs after the client set the hold a 429 asks for.
	o.Hooks.OnRequest = func(_ string, status int, err *zendesk.Error) {
		if status == http.StatusTooManyRequests && err != nil && err.RetryAfter > 0 {
			now := time.Now()
			l.mu.Lock()
			l.holds = append(l.holds, struct{ read, until time.Time }{now, now.Add(err.RetryAfter)})
			l.mu.Unlock()
		}
	}
}

// sentWhileHeld logs, for each Retry-After read, the sends just before
// and after it, and returns the sends that came while it held, less a
// tenth of it at its end: the client measures the hold from when it read
// the 429, before OnRequest, which a loaded machine may run tens of
// milliseconds later (a request sent while the hold holds is sent far
// earlier than its end: at once, as the client had not seen the 429).
func (l *sendLog) sentWhileHeld(t *testing.T) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []string
	for i, h := range l.holds {
		var before, after time.Duration = -1, -1
		for _, s := range l.sent {
			switch {
			case !s.After(h.read):
				if d := h.read.Sub(s); before < 0 || d < before {
					before = d
				}
			case s.Before(h.until.Add(-h.until.Sub(h.read) / 10)):
				bad = append(bad, fmt.Sprintf("a request sent %s after the client read 429 #%d", s.Sub(h.read), i))
			default:
				if d := s.Sub(h.read); after < 0 || d < after {
					after = d
				}
			}
		}
		t.Logf("429 #%d read: the last request before it was sent %s earlier, the first after it %s later (Retry-After %s)",
			i, before, after, h.until.Sub(h.read))
	}
	return bad
}

// createdRange is the created_at seconds of one ConsumeLogs call.
type createdRange struct{ first, last time.Time }

// orderSink notes the created_at range of every ConsumeLogs call.
type orderSink struct {
	consumertest.LogsSink
	mu     sync.Mutex
	ranges []createdRange
}

func (o *orderSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var cr createdRange
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		ts := lrs.At(i).Timestamp().AsTime().Truncate(time.Second)
		if cr.first.IsZero() || ts.Before(cr.first) {
			cr.first = ts
		}
		if ts.After(cr.last) {
			cr.last = ts
		}
	}
	o.mu.Lock()
	o.ranges = append(o.ranges, cr)
	o.mu.Unlock()
	return o.LogsSink.ConsumeLogs(ctx, ld)
}

// Issue #12: slices are delivered in time order even when a later one is
// read before an earlier one.
func TestSlicesAreDeliveredInOrderWhenALaterSliceFinishesFirst(t *testing.T) {
	var mid time.Time // set before the receiver starts
	log := &listLog{delay: func(start time.Time) time.Duration {
		if start.Before(mid) {
			return 100 * time.Millisecond // the older half of the backlog answers slowly
		}
		return 0
	}}
	e := newEnvWith(t, zendesksim.Options{}, log.wrap)
	e.cfg.MaxConcurrentRequests = 4
	e.cfg.MaxRequestsPerMinute = 6000
	mid = e.ago(t, time.Hour)
	e.backlog(t, 3000, 2*time.Hour, time.Minute)
	sink := &orderSink{}
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), &sink.LogsSink)

	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i := 1; i < len(sink.ranges); i++ {
		require.False(t, sink.ranges[i].first.Before(sink.ranges[i-1].last),
			"call %d starts at %s, before call %d ended (%s)", i, sink.ranges[i].first, i-1, sink.ranges[i-1].last)
	}
	reqs := log.all()
	overtaken := false
	for i, a := range reqs {
		for _, b := range reqs[i+1:] {
			// b answered after a, though a slice of b's starts earlier.
			overtaken = overtaken || (b.start.Before(a.start) && b.start.Before(mid) && !a.start.Before(mid))
		}
	}
	assert.True(t, overtaken, "a later slice was read before an earlier one")
}

// Issue #12: shutting down while slices are read ahead stores the position
// of what was delivered, not of what was read. (The API answers in 200 ms,
// far more than a page takes to deliver even on a loaded machine, so that
// slices are read ahead, see pagesAhead; and at once after the restart.)
func TestShutdownMidBackfillSavesOnlyWhatWasDelivered(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{Faults: zendesksim.Faults{Latency: 200 * time.Millisecond}}, nil)
	e.backlog(t, 8000, 3*time.Hour, time.Minute)
	dir := t.TempDir()
	host := withFileStorage(e, dir)
	first := &blockingConsumer{accept: 7}
	r := e.start(t, first, host)
	require.Eventually(t, func() bool { return len(first.AllLogs()) == 7 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return e.sim.Stats().RecordsServed >= 2000 }, 10*time.Second, 10*time.Millisecond,
		"later slices were read ahead")
	require.NoError(t, r.Shutdown(context.Background()))

	ext := host.GetExtensions()[*e.cfg.StorageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	b, err := client.Get(context.Background(), checkpoint.Key)
	require.NoError(t, err)
	require.NoError(t, client.Close(context.Background()))
	pos, err := checkpoint.Decode(b, time.Now())
	require.NoError(t, err)

	delivered := map[int64]bool{}
	for _, id := range ids(first.AllLogs()) {
		delivered[id] = true
	}
	require.Len(t, first.AllLogs(), 7)
	for _, rec := range e.sim.Records() {
		require.Equal(t, delivered[rec.ID], pos.Done(rec.ID, rec.CreatedAt),
			"record %d (%s): delivered %v, but the checkpoint at %s says otherwise", rec.ID, rec.CreatedAt, delivered[rec.ID], pos.Second)
	}

	e.sim.SetFaults(zendesksim.Faults{})
	second := new(consumertest.LogsSink)
	r = e.start(t, second, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return delivered[id] })
	requireExactly(t, want, second)
}
