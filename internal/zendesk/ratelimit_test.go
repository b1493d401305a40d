package zendesk_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A 429's Retry-After is honoured: the retry comes no earlier than asked,
// the simulator counts no violation, and OnWait reports WaitRetryAfter.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	sim, ts, fs := newFaultySim(t, zendesksim.Faults{P429: 1, RetryAfter: time.Second}, 1)
	var w waits
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = w.hook
	c := newClient(t, opts)

	page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 10})
	require.NoError(t, err)
	assert.Len(t, page.AuditLogs, 10)

	arrivals := fs.times()
	require.Len(t, arrivals, 2)
	assert.GreaterOrEqual(t, arrivals[1].Sub(arrivals[0]), time.Second, "the retry waited for Retry-After")
	st := sim.Stats()
	assert.Zero(t, st.RetryAfterViolations)
	assert.Equal(t, 1, st.ByStatus[http.StatusTooManyRequests])
	assert.Equal(t, []time.Duration{time.Second}, w.of(zendesk.WaitRetryAfter))
	assert.Empty(t, w.of(zendesk.WaitBackoff))
}

// A Retry-After binds the whole client, not only the call that got it:
// the next call waits too.
func TestRetryAfterHoldsTheNextCall(t *testing.T) {
	t.Parallel()
	sim, ts, fs := newFaultySim(t, zendesksim.Faults{P429: 1, RetryAfter: time.Second}, 1)
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	c := newClient(t, opts)

	_, err := c.List(ctxBG, zendesk.ListParams{})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindRateLimited, e.Kind)
	assert.Equal(t, time.Second, e.RetryAfter)
	assert.Equal(t, "APIRateLimitExceeded", e.Code)
	assert.Contains(t, e.Error(), "wait 1s")

	_, err = c.Get(ctxBG, sim.Records()[0].ID)
	require.NoError(t, err)
	arrivals := fs.times()
	require.Len(t, arrivals, 2)
	assert.GreaterOrEqual(t, arrivals[1].Sub(arrivals[0]), time.Second)
	assert.Zero(t, sim.Stats().RetryAfterViolations)
}

// Concurrent calls all keep to a Retry-After that an earlier call got.
func TestRetryAfterHoldsConcurrentCalls(t *testing.T) {
	t.Parallel()
	sim, ts, fs := newFaultySim(t, zendesksim.Faults{P429: 1, RetryAfter: time.Second}, 1)
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	require.Equal(t, zendesk.KindRateLimited, zendesk.KindOf(err))

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := c.List(ctxBG, zendesk.ListParams{PageSize: 5})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	arrivals := fs.times()
	require.Len(t, arrivals, 5)
	for _, at := range arrivals[1:] {
		assert.GreaterOrEqual(t, at.Sub(arrivals[0]), time.Second)
	}
	assert.Zero(t, sim.Stats().RetryAfterViolations)
}

// A call already waiting keeps to a longer Retry-After that a concurrent
// call gets meanwhile.
func TestHoldExtendedWhileWaiting(t *testing.T) {
	t.Parallel()
	releaseA, releaseB := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var answeredA time.Time
	capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/audit_logs/1":
			<-releaseA
			mu.Lock()
			answeredA = time.Now()
			mu.Unlock()
			answer(w, http.StatusTooManyRequests, "text/plain", "slow down", "Retry-After", "2")
		case "/api/v2/audit_logs/2":
			<-releaseB
			answer(w, http.StatusOK, "application/json", `{"audit_log":{"id":2}}`,
				"X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "0", "Ratelimit-Reset", "1")
		default:
			answer(w, http.StatusOK, "application/json", `{"audit_log":{"id":3}}`)
		}
	})
	paced := make(chan struct{}, 1)
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	opts.Hooks.OnWait = func(reason zendesk.WaitReason, _ time.Duration) {
		if reason == zendesk.WaitRateLimitRemaining {
			paced <- struct{}{}
		}
	}
	c := newClient(t, opts)

	var wg sync.WaitGroup
	wg.Go(func() { _, err := c.Get(ctxBG, 1); assert.Equal(t, zendesk.KindRateLimited, zendesk.KindOf(err)) })
	wg.Go(func() { _, err := c.Get(ctxBG, 2); assert.NoError(t, err) })
	require.Eventually(t, func() bool { return capt.count() == 2 }, 5*time.Second, time.Millisecond)
	close(releaseB)
	<-paced // the client now holds every request for 1s
	wg.Go(func() { _, err := c.Get(ctxBG, 3); assert.NoError(t, err) })
	close(releaseA) // and A's answer extends the hold to 2s
	wg.Wait()

	reqs := capt.all()
	require.Len(t, reqs, 3)
	mu.Lock()
	defer mu.Unlock()
	assert.GreaterOrEqual(t, reqs[2].at.Sub(answeredA), 2*time.Second, "the third request kept to the Retry-After")
}

// Retry-After as an HTTP date is honoured.
func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	var until time.Time
	capt, ts := newCapture(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			until = time.Now().Add(2 * time.Second).Truncate(time.Second)
			answer(w, http.StatusServiceUnavailable, "text/html", "<html>maintenance</html>",
				"Retry-After", until.UTC().Format(http.TimeFormat))
			return
		}
		answer(w, http.StatusOK, "application/json", emptyPage)
	})
	var w waits
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = w.hook
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	require.NoError(t, err)
	reqs := capt.all()
	require.Len(t, reqs, 2)
	assert.False(t, reqs[1].at.Before(until), "retried at %s, before the Retry-After date %s", reqs[1].at, until)
	got := w.of(zendesk.WaitRetryAfter)
	require.Len(t, got, 1)
	assert.Greater(t, got[0], time.Duration(0))
	assert.LessOrEqual(t, got[0], 2*time.Second)
}

// A 429 without Retry-After (seen in the wild) falls back to backoff.
func TestMissingRetryAfterUsesBackoff(t *testing.T) {
	t.Parallel()
	sim, ts, fs := newFaultySim(t, zendesksim.Faults{P429NoRetryAfter: 1}, 2)
	var w waits
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = w.hook
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	require.NoError(t, err)
	assert.Len(t, fs.times(), 3)
	backoffs := w.of(zendesk.WaitBackoff)
	require.Len(t, backoffs, 2)
	for _, d := range backoffs {
		assert.Greater(t, d, time.Duration(0))
		assert.LessOrEqual(t, d, 20*time.Millisecond)
	}
	assert.Empty(t, w.of(zendesk.WaitRetryAfter))
	assert.Equal(t, 2, sim.Stats().ByStatus[http.StatusTooManyRequests])
}

// The client-side budget spaces requests: 600 a minute is one every 100ms,
// so 6 requests take at least 0.5s, and OnWait reports WaitBudget.
func TestRequestBudget(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now()
	sim.Generate(10, now.Add(-time.Hour), now.Add(-time.Minute))
	var w waits
	opts := fastOptions(ts.URL)
	opts.RequestsPerMinute = 600
	opts.Hooks.OnWait = w.hook
	c := newClient(t, opts)

	start := time.Now()
	for range 6 {
		_, err := c.List(ctxBG, zendesk.ListParams{PageSize: 5})
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, time.Since(start), 450*time.Millisecond)
	budget := w.of(zendesk.WaitBudget)
	assert.NotEmpty(t, budget)
	for _, d := range budget {
		assert.LessOrEqual(t, d, 100*time.Millisecond)
	}
	assert.Equal(t, 6, sim.Stats().Requests)
}

// When a response says nothing of the account's budget remains, the next
// request waits for the reset.
func TestRateLimitRemainingPacesTheNextRequest(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			answer(w, http.StatusOK, "application/json", emptyPage,
				"X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "0", "ratelimit-reset", "1")
			return
		}
		answer(w, http.StatusOK, "application/json", emptyPage, "X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "699")
	})
	var w waits
	var limits []zendesk.RateLimit
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = w.hook
	opts.Hooks.OnRateLimit = func(rl zendesk.RateLimit) { limits = append(limits, rl) }
	c := newClient(t, opts)

	for range 2 {
		_, err := c.List(ctxBG, zendesk.ListParams{})
		require.NoError(t, err)
	}
	reqs := capt.all()
	require.Len(t, reqs, 2)
	assert.GreaterOrEqual(t, reqs[1].at.Sub(reqs[0].at), time.Second)
	assert.Equal(t, []time.Duration{time.Second}, w.of(zendesk.WaitRateLimitRemaining))
	assert.Equal(t, []zendesk.RateLimit{
		{Limit: 700, Remaining: 0, Reset: time.Second},
		{Limit: 700, Remaining: 699, Reset: -1},
	}, limits)
}

// Cancelling the context during a long Retry-After wait returns at once
// with context.Canceled.
func TestCancelDuringRetryAfterWait(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusTooManyRequests, "application/json",
			`{"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}`, "Retry-After", "30")
	})
	ctx, cancel := context.WithCancel(ctxBG)
	defer cancel()
	waiting := make(chan time.Duration, 1)
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = func(reason zendesk.WaitReason, d time.Duration) {
		if reason == zendesk.WaitRetryAfter {
			waiting <- d
		}
	}
	c := newClient(t, opts)

	done := make(chan error, 1)
	go func() {
		_, err := c.List(ctx, zendesk.ListParams{})
		done <- err
	}()
	select {
	case d := <-waiting:
		assert.Equal(t, 30*time.Second, d)
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not start waiting for Retry-After")
	}
	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.Less(t, time.Since(cancelled), 2*time.Second)
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(2 * time.Second):
		t.Fatal("List did not return promptly after cancel")
	}
	assert.Equal(t, 1, capt.count(), "no request after the cancel")
}

// A context that ends before the request is not sent at all.
func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, nil)
	c := newClient(t, fastOptions(ts.URL))
	ctx, cancel := context.WithCancel(ctxBG)
	cancel()
	_, err := c.List(ctx, zendesk.ListParams{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, capt.count())
}
