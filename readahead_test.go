package zendeskauditlogsreceiver

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

func TestReadAheadHeadUsesItsReserveWhenThePoolIsEmpty(t *testing.T) {
	ctx := context.Background()
	pool := newReadAheadPool(1)
	a, b := newReadAhead(pool), newReadAhead(pool)
	aSlice, bHead := newSliceRead(slice{}, 1), newSliceRead(slice{}, 1)

	tok, err := a.acquire(ctx, aSlice)
	require.NoError(t, err)
	require.Equal(t, poolToken, tok, "the pool's one page")

	// b's slice waits: the pool is empty and it is not being delivered.
	got := make(chan pageToken)
	go func() {
		tok, err := b.acquire(ctx, bHead)
		assert.NoError(t, err)
		got <- tok
	}()
	bHead.markHead()
	assert.Equal(t, reserveToken, <-got, "once delivered first, b reads from its own reserve")
	assert.EqualValues(t, 2, pool.taken.Load())

	// The reserve holds one page: the next waits until one comes back.
	go func() {
		tok, err := b.acquire(ctx, bHead)
		assert.NoError(t, err)
		got <- tok
	}()
	a.release(poolToken)
	assert.Equal(t, poolToken, <-got, "a page given back to the pool is taken by a waiting reader")
	b.release(reserveToken)
	b.release(poolToken)
	assert.Zero(t, pool.taken.Load())
}

func TestReadAheadAcquireEndsWithItsContext(t *testing.T) {
	pool := newReadAheadPool(1)
	ra := newReadAhead(pool)
	_, err := ra.acquire(context.Background(), newSliceRead(slice{}, 1))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := ra.acquire(ctx, newSliceRead(slice{}, 1))
		done <- err
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.EqualValues(t, 1, pool.taken.Load(), "a cancelled wait takes nothing")
}

// Issue #18: receivers made by one factory share its pool; with a pool far
// smaller than what they would read ahead, each still delivers every
// record exactly once, the read-ahead never exceeds the pool plus each
// receiver's reserve, and every page goes back.
func TestReceiversOfOneFactoryShareItsReadAheadPool(t *testing.T) {
	const receivers, poolPages = 4, 3
	pool := newReadAheadPool(poolPages)
	f := newFactory(pool)
	now := time.Now()
	type run struct {
		e    *env
		sink *consumertest.LogsSink
	}
	var runs []run
	for i := range receivers {
		var e *env
		if i%2 == 0 {
			e = newEnv(t)
		} else { // half of them answer slowly, so that their slices wait
			e = newEnvWith(t, zendesksim.Options{Faults: zendesksim.Faults{Latency: 5 * time.Millisecond}}, nil)
		}
		e.cfg.PageSize = 10
		// A factory's receivers after the first wait part of a poll
		// interval for their first poll.
		e.cfg.PollInterval = time.Second
		e.cfg.MaxConcurrentRequests = 4
		e.cfg.MaxRequestsPerMinute = 600_000
		e.sim.Generate(400+rand.IntN(400), now.Add(-2*time.Hour), now.Add(-time.Minute))
		sink := new(consumertest.LogsSink)
		set := receivertest.NewNopSettings(metadata.Type)
		rcv, err := f.CreateLogs(context.Background(), set, e.cfg, sink)
		require.NoError(t, err)
		require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
		runs = append(runs, run{e, sink})
	}
	for i, r := range runs {
		t.Run(fmt.Sprint("receiver ", i), func(t *testing.T) { requireExactly(t, simIDs(r.e.sim), r.sink) })
	}
	assert.LessOrEqual(t, pool.peak.Load(), int64(poolPages+receivers*reservedPages), "pages read ahead at once")
	assert.Greater(t, pool.peak.Load(), int64(poolPages), "the test filled the pool")
	require.Eventually(t, func() bool { return pool.taken.Load() == 0 }, 10*time.Second, time.Millisecond, "every page given back")
}

func TestFirstPollsOfAFactorysReceiversAreSpreadOverTheInterval(t *testing.T) {
	assert.Zero(t, firstPollDelay(0, time.Minute), "the first receiver polls at start")
	for _, n := range []int{10, 100, 300} {
		// n receivers' first polls fall in n buckets of the interval:
		// none holds more than a few.
		buckets := make([]int, n)
		for k := range n {
			d := firstPollDelay(int64(k), time.Minute)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, time.Minute)
			buckets[int(d*time.Duration(n)/time.Minute)]++
		}
		assert.LessOrEqual(t, slices.Max(buckets), 3, "%d receivers: first polls in one %s", n, time.Minute/time.Duration(n))
	}
}

func TestAFactorysSecondReceiverWaitsForItsFirstPoll(t *testing.T) {
	f := newFactory(newReadAheadPool(defaultReadAheadPages))
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Subdomain, cfg.Email, cfg.APIToken = "acme", testEmail, testToken
	var delays []time.Duration
	for range 3 {
		r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		delays = append(delays, r.(*logsReceiver).firstPoll)
	}
	assert.Equal(t, []time.Duration{0, firstPollDelay(1, time.Minute), firstPollDelay(2, time.Minute)}, delays)
	assert.NotZero(t, delays[1])
}

// Issue #18: when delivery, not reading, is the bottleneck (a slow next
// consumer), each slice's reader holds a couple of pages ahead of
// delivery, not its whole slice: the pages read ahead at once stay a few
// per open slice, and every record is delivered once.
func TestASlowConsumerKeepsTheReadAheadSmall(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 600, 2*time.Hour, time.Minute)
	e.cfg.PageSize = 10 // 60 pages; slices of 24 (see slicePages)
	e.cfg.MaxConcurrentRequests = 4
	e.cfg.MaxRequestsPerMinute = 600_000
	sink := new(consumertest.LogsSink)
	slow, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		time.Sleep(50 * time.Millisecond) // a page delivered in 50 ms, read in a few
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	pool := newReadAheadPool(defaultReadAheadPages)
	r, err := newLogsReceiver(e.cfg, e.set, slow, pool)
	require.NoError(t, err)
	// As measured by an earlier poll (the poll goroutine owns them once
	// started): a page read in 1 ms, delivered in 50.
	r.latency.observe(time.Millisecond, time.Now())
	r.roundTrip, r.deliverTime = time.Millisecond, 50*time.Millisecond
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	requireExactly(t, simIDs(e.sim), sink)
	// Two slices at once (sliceConcurrency), delivery bound, so no more
	// open: each holds at most pagesAhead (2 while the API answers faster
	// than delivery) and the head one more, being delivered; without the
	// bound each would read its slice ahead, 24 pages.
	assert.LessOrEqual(t, pool.peak.Load(), int64(16), "pages read ahead at once")
	require.Eventually(t, func() bool { return pool.taken.Load() == 0 }, 10*time.Second, time.Millisecond, "every page given back")
}

// Issue #18: readers that are slow only after the API answered (here the
// body comes 30 ms after the response's head; on a busy machine, reading
// and decoding it while queueing for a CPU) are not read further ahead:
// the API answers at once, as fast as delivery takes a page, so two
// slices of a couple of pages each keep delivery busy. Sized by the whole
// round trip, as before, the same reading held a few dozen pages.
func TestTimeAfterTheAPIAnsweredDoesNotGrowTheReadAhead(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{}, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.(http.Flusher).Flush() // the head now, the body later
			time.Sleep(30 * time.Millisecond)
			_, _ = w.Write(rec.Body.Bytes())
		})
	})
	e.backlog(t, 600, 2*time.Hour, time.Minute)
	e.cfg.PageSize = 10 // 60 pages
	e.cfg.MaxRequestsPerMinute = 1_000_000
	sink := new(consumertest.LogsSink)
	slow, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		time.Sleep(10 * time.Millisecond) // delivery: a page in 10 ms at least
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	pool := newReadAheadPool(defaultReadAheadPages)
	r, err := newLogsReceiver(e.cfg, e.set, slow, pool)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	requireExactly(t, simIDs(e.sim), sink)
	// Two slices at once, none waiting its turn (delivery bounds the
	// reading), each holding at most minPagesAhead and one being read,
	// and the page being delivered.
	assert.LessOrEqual(t, pool.peak.Load(), int64(2*(minPagesAhead+1)+1), "pages read ahead at once")
	require.Eventually(t, func() bool { return pool.taken.Load() == 0 }, 10*time.Second, time.Millisecond, "every page given back")
}
