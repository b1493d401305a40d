package zendesksim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultKnobs(t *testing.T) {
	tests := []struct {
		name        string
		faults      Faults
		status      int
		contentType string
		retryAfter  string
		check       func(t *testing.T, body []byte)
	}{
		{
			name: "429 with Retry-After", faults: Faults{P429: 1, RetryAfter: 1500 * time.Millisecond},
			status: 429, contentType: "application/json; charset=utf-8", retryAfter: "2",
			check: func(t *testing.T, body []byte) {
				assert.Contains(t, string(body), `"error":"APIRateLimitExceeded"`)
			},
		},
		{
			name: "429 default Retry-After", faults: Faults{P429: 1},
			status: 429, contentType: "application/json; charset=utf-8", retryAfter: "1",
		},
		{
			name: "429 without Retry-After", faults: Faults{P429NoRetryAfter: 1},
			status: 429, contentType: "text/plain; charset=utf-8",
			check: func(t *testing.T, body []byte) { assert.Equal(t, "Too Many Requests", string(body)) },
		},
		{
			name: "503 HTML", faults: Faults{P503HTML: 1, RetryAfter: 3 * time.Second},
			status: 503, contentType: "text/html; charset=utf-8", retryAfter: "3",
			check: func(t *testing.T, body []byte) { assert.True(t, strings.HasPrefix(string(body), "<html>")) },
		},
		{
			name: "500 JSON", faults: Faults{P500: 1},
			status: 500, contentType: "application/json; charset=utf-8",
			check: func(t *testing.T, body []byte) { assert.True(t, json.Valid(body)) },
		},
		{
			name: "truncated 200", faults: Faults{PTruncated: 1},
			status: 200, contentType: "application/json; charset=utf-8",
			check: func(t *testing.T, body []byte) {
				assert.False(t, json.Valid(body))
				assert.True(t, strings.HasPrefix(string(body), `{"audit_logs":[{`))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := newTestServer(t, Options{Faults: tt.faults})
			sim.GenerateBurst(20, t0)
			r := get(t, listURL(base, url.Values{"page[size]": {"10"}}))
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			assert.Equal(t, tt.contentType, r.header.Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, r.header.Get("Retry-After"))
			assert.NotEmpty(t, r.header.Get("X-Rate-Limit-Remaining"))
			if tt.check != nil {
				tt.check(t, r.body)
			}
			st := sim.Stats()
			assert.Equal(t, 1, st.ByStatus[tt.status])
			assert.Zero(t, st.RecordsServed)

			// Faults hit only authenticated requests, and SetFaults clears them.
			assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, base+"/api/v2/audit_logs", "").status)
			sim.SetFaults(Faults{})
			assert.Equal(t, http.StatusOK, get(t, base+"/api/v2/audit_logs").status)
		})
	}
}

func TestFaultProbabilities(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 11, Faults: Faults{P429: 0.2, P500: 0.2}})
	const n = 300
	for range n {
		get(t, base+"/api/v2/audit_logs")
	}
	st := sim.Stats()
	assert.InDelta(t, 0.2*n, st.ByStatus[429], 0.08*n)
	assert.InDelta(t, 0.2*n, st.ByStatus[500], 0.08*n)
	assert.Equal(t, n, st.ByStatus[200]+st.ByStatus[429]+st.ByStatus[500])

	// Deterministic by seed: a second server with the same seed answers the
	// same sequence of statuses.
	seq := func() []int {
		_, base := newTestServer(t, Options{Seed: 11, Faults: Faults{P429NoRetryAfter: 0.3, P503HTML: 0.3}})
		var out []int
		for range 40 {
			out = append(out, get(t, base+"/api/v2/audit_logs").status)
		}
		return out
	}
	assert.Equal(t, seq(), seq())
}

func TestSlowFault(t *testing.T) {
	sim, base := newTestServer(t, Options{Faults: Faults{PSlow: 1, SlowDelay: 150 * time.Millisecond}})
	start := time.Now()
	r := get(t, base+"/api/v2/audit_logs")
	assert.Equal(t, http.StatusOK, r.status)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	// The delay honours the request context.
	sim.SetFaults(Faults{PSlow: 1, SlowDelay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/audit_logs", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", goodAuth)
	start = time.Now()
	_, err = http.DefaultClient.Do(req)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "err: %v", err)
	assert.Less(t, time.Since(start), 10*time.Second)
	require.Eventually(t, func() bool { return sim.Stats().ByStatus[statusClientClosed] == 1 },
		5*time.Second, 10*time.Millisecond)
}

// Latency delays every answer; the simulator counts the requests it is
// answering at once.
func TestLatencyAndPeakInFlight(t *testing.T) {
	sim, base := newTestServer(t, Options{Faults: Faults{Latency: 200 * time.Millisecond}})
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { assert.Equal(t, http.StatusOK, get(t, base+"/api/v2/audit_logs").status) })
	}
	wg.Wait()
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	assert.Equal(t, 3, sim.Stats().PeakInFlight)
	assert.EqualValues(t, 3, get(t, base+"/_sim/stats").json(t)["peak_in_flight"])
}

func TestBudget(t *testing.T) {
	clock := newClock(t0.Add(10 * time.Second)) // 50s left in the minute
	sim, base := newTestServer(t, Options{Now: clock.Now, Faults: Faults{BudgetPerMinute: 3}})
	u := base + "/api/v2/audit_logs"

	for i := range 3 {
		r := get(t, u)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "3", r.header.Get("X-Rate-Limit"))
		assert.Equal(t, []string{"2", "1", "0"}[i], r.header.Get("X-Rate-Limit-Remaining"))
		assert.Equal(t, "3", r.header.Get("Ratelimit-Limit"))
		assert.Equal(t, []string{"2", "1", "0"}[i], r.header.Get("Ratelimit-Remaining"))
		assert.Equal(t, "50", r.header.Get("Ratelimit-Reset"))
	}
	clock.Advance(5 * time.Second)
	r := get(t, u)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "45", r.header.Get("Retry-After"))
	assert.Equal(t, "0", r.header.Get("X-Rate-Limit-Remaining"))
	assert.Equal(t, "APIRateLimitExceeded", r.json(t)["error"])

	// The budget is account-wide: another credential is limited too.
	assert.Equal(t, http.StatusTooManyRequests, do(t, http.MethodGet, u, "Bearer "+testOAuth).status)

	// Next window.
	clock.Advance(45 * time.Second)
	r = get(t, u)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "2", r.header.Get("X-Rate-Limit-Remaining"))
	assert.Equal(t, "60", r.header.Get("Ratelimit-Reset"))
	assert.Zero(t, sim.Stats().RetryAfterViolations, "the client waited as told")
}

func TestDefaultRateLimitHeaders(t *testing.T) {
	_, base := newTestServer(t, Options{Now: newClock(t0.Add(59500 * time.Millisecond)).Now})
	r := get(t, base+"/api/v2/audit_logs")
	assert.Equal(t, "700", r.header.Get("X-Rate-Limit"))
	assert.Equal(t, "699", r.header.Get("X-Rate-Limit-Remaining"))
	assert.Equal(t, "1", r.header.Get("Ratelimit-Reset"))
	// Even an unauthenticated answer carries them (but does not spend the budget).
	r = do(t, http.MethodGet, base+"/api/v2/audit_logs", "")
	assert.Equal(t, "699", r.header.Get("X-Rate-Limit-Remaining"))
}

func TestRetryAfterViolations(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now, Faults: Faults{P429: 1, RetryAfter: 2 * time.Second}})
	u := base + "/api/v2/audit_logs"
	oauth := "Bearer " + testOAuth

	ms := time.Millisecond
	steps := []struct {
		at         time.Duration // since t0
		auth       string
		violations int
	}{
		{0, goodAuth, 0},                    // 429, deadline 2s
		{1000 * ms, goodAuth, 1},            // too early; new deadline 3s
		{1000 * ms, oauth, 1},               // other credential, own deadline 3s
		{2960 * ms, goodAuth, 1},            // within the 50ms tolerance; deadline 4.96s
		{2960 * ms, oauth, 1},               // same for oauth
		{4000 * ms, goodAuth, 2},            // too early again
		{4000*ms + 2*time.Second, oauth, 2}, // late enough
	}
	for i, s := range steps {
		clock.Set(t0.Add(s.at))
		r := do(t, http.MethodGet, u, s.auth)
		require.Equal(t, http.StatusTooManyRequests, r.status)
		assert.Equal(t, s.violations, sim.Stats().RetryAfterViolations, "step %d", i)
	}

	// 429s without Retry-After set no deadline.
	sim.SetFaults(Faults{P429NoRetryAfter: 1})
	clock.Advance(10 * time.Second)
	get(t, u)
	get(t, u)
	assert.Equal(t, 2, sim.Stats().RetryAfterViolations)

	// A budget 429 sets one: its Retry-After runs to the window end.
	sim.SetFaults(Faults{BudgetPerMinute: 1})
	clock.Set(t0.Add(2 * time.Minute))
	require.Equal(t, http.StatusOK, get(t, u).status)
	require.Equal(t, http.StatusTooManyRequests, get(t, u).status)
	// A request arriving as the Retry-After leaves was sent before the
	// client could know: it crossed it on the wire.
	get(t, u)
	assert.Equal(t, 2, sim.Stats().RetryAfterViolations)
	assert.Equal(t, 1, sim.Stats().RetryAfterCrossings)
	clock.Advance(RetryAfterCrossingWindow)
	get(t, u)
	assert.Equal(t, 3, sim.Stats().RetryAfterViolations)
	clock.Set(t0.Add(3 * time.Minute))
	require.Equal(t, http.StatusOK, get(t, u).status)
	assert.Equal(t, 3, sim.Stats().RetryAfterViolations)
}

func TestExport(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now})
	u := base + "/api/v2/audit_logs/export.json?filter[action]=login"

	r := do(t, http.MethodPost, u, goodAuth)
	require.Equal(t, http.StatusAccepted, r.status)
	assert.Empty(t, r.body)
	assert.Equal(t, "total=1; remaining=0; resets=60", r.header.Get("Zendesk-RateLimit-audit-logs-export"))

	clock.Advance(10 * time.Second)
	r = do(t, http.MethodPost, u, goodAuth)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "Rate limit for Audit log CSV Export exceeded", string(r.body))
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"))
	assert.Equal(t, "50", r.header.Get("Retry-After"))
	assert.Equal(t, "total=1; remaining=0; resets=50", r.header.Get("Zendesk-RateLimit-audit-logs-export"))

	// The export Retry-After binds exports only.
	assert.Equal(t, http.StatusOK, get(t, base+"/api/v2/audit_logs").status)
	assert.Zero(t, sim.Stats().RetryAfterViolations)
	clock.Advance(time.Second)
	assert.Equal(t, http.StatusTooManyRequests, do(t, http.MethodPost, u, goodAuth).status)
	assert.Equal(t, 1, sim.Stats().RetryAfterViolations)

	// The limit is per account: another credential is limited too.
	assert.Equal(t, http.StatusTooManyRequests, do(t, http.MethodPost, u, "Bearer "+testOAuth).status)

	clock.Advance(time.Minute)
	assert.Equal(t, http.StatusAccepted, do(t, http.MethodPost, u, goodAuth).status)
	st := sim.Stats()
	assert.Equal(t, 5, st.ExportRequests)
	assert.Equal(t, map[int]int{202: 2, 429: 3, 200: 1}, st.ByStatus)
}

// With a crossing window set, a request counts as crossing a Retry-After
// by when the client says it sent it (SentAtHeader), and by its arrival
// when it does not say.
func TestRetryAfterCrossingWindowIsMeasuredFromTheClientsSendTime(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now, RetryAfterCrossingWindow: 500 * time.Millisecond,
		Faults: Faults{P429: 1, RetryAfter: 2 * time.Second}})
	u := base + "/api/v2/audit_logs"
	ms := time.Millisecond
	for i, s := range []struct {
		arrives, sent time.Duration // since t0; sent 0: no header
		header        string        // raw header value, when not sent
		violations    int
		crossings     int
	}{
		{arrives: 0}, // 429: deadline from 0 to 2 s
		{arrives: 800 * ms, sent: 300 * ms, crossings: 1}, // sent 300 ms after it: crossed, though it arrived 800 ms after
		{arrives: 1600 * ms, violations: 1, crossings: 1}, // no header: arrived (sent) 800 ms after the 429 before
		{arrives: 2000 * ms, sent: 1700 * ms, violations: 1, crossings: 2},
		{arrives: 2700 * ms, sent: 2600 * ms, violations: 2, crossings: 2}, // sent 600 ms after the 429 at 2 s
		{arrives: 3300 * ms, header: "soon", violations: 3, crossings: 2},  // unreadable: by its arrival, 600 ms after the 429 at 2.7 s
	} {
		clock.Set(t0.Add(s.arrives))
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", goodAuth)
		switch {
		case s.sent > 0:
			req.Header.Set(SentAtHeader, t0.Add(s.sent).Format(time.RFC3339Nano))
		case s.header != "":
			req.Header.Set(SentAtHeader, s.header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		st := sim.Stats()
		assert.Equal(t, s.violations, st.RetryAfterViolations, "request %d: violations", i)
		assert.Equal(t, s.crossings, st.RetryAfterCrossings, "request %d: crossings", i)
	}
}
