package zendeskauditlogsreceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

var tw = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)

func TestWindowEndIsTheEarlierOfTheTwoClocks(t *testing.T) {
	var c apiClock
	assert.Equal(t, tw.Add(-8*time.Second), c.windowEnd(tw.Add(300*time.Millisecond), 8*time.Second), "no response yet: the collector's clock")

	c.observe(tw.Add(-time.Minute), tw) // the API is a minute behind
	assert.Equal(t, tw.Add(-time.Minute-8*time.Second), c.windowEnd(tw, 8*time.Second))

	c.observe(tw.Add(time.Minute), tw) // ahead: the collector's is the earlier
	assert.Equal(t, tw.Add(-8*time.Second), c.windowEnd(tw, 8*time.Second))
}

func TestBoundTakesTheAPIsTimeWhenEarlier(t *testing.T) {
	end := tw.Add(-8 * time.Second)
	assert.Equal(t, end, bound(end, &zendesk.Page{}, 8*time.Second), "no Date")
	assert.Equal(t, end, bound(end, &zendesk.Page{Date: tw.Add(time.Minute)}, 8*time.Second), "the API is ahead")
	assert.Equal(t, tw.Add(-68*time.Second), bound(end, &zendesk.Page{Date: tw.Add(-time.Minute)}, 8*time.Second), "the API is behind")
}

func TestClockSkewIsReportedOncePerMaterialChange(t *testing.T) {
	var c apiClock
	steps := []struct {
		apiAhead time.Duration
		want     skewChange
	}{
		{-400 * time.Millisecond, skewUnchanged}, // a Date truncated to the second: in step
		{-60 * time.Second, skewDetected},
		{-61 * time.Second, skewUnchanged}, // every poll: no new warning
		{-59 * time.Second, skewUnchanged},
		{-90 * time.Second, skewDetected}, // moved by more than the tolerance
		{-88 * time.Second, skewUnchanged},
		{time.Second, skewGone},
		{2 * time.Second, skewUnchanged},
		{20 * time.Second, skewDetected},
	}
	for i, s := range steps {
		local := tw.Add(time.Duration(i) * time.Minute).Add(300 * time.Millisecond)
		date := local.Add(s.apiAhead).Truncate(time.Second)
		assert.Equal(t, s.want, c.observe(date, local), "step %d: API ahead by %s", i, s.apiAhead)
	}
	assert.Equal(t, skewUnchanged, c.observe(time.Time{}, tw), "a response without Date says nothing")
	assert.Equal(t, 20*time.Second, c.offset)
}

func TestClipStopsAtTheWindowsEnd(t *testing.T) {
	rec := func(id int64, at time.Time) zendesk.AuditLog {
		return zendesk.AuditLog{ID: zendesk.Some(id), CreatedAt: zendesk.Some(at)}
	}
	noTime := zendesk.AuditLog{ID: zendesk.Some[int64](9)}
	page := []zendesk.AuditLog{rec(1, tw.Add(-time.Second)), noTime, rec(2, tw.Add(999*time.Millisecond)), rec(3, tw.Add(time.Second)), rec(4, tw.Add(2*time.Second))}
	got, past := clip(page, tw)
	assert.True(t, past)
	assert.Equal(t, page[:3], got, "up to and including end's second")
	got, past = clip(page[:2], tw)
	assert.False(t, past)
	assert.Len(t, got, 2)
}

// Issue #9: with the collector's clock a minute ahead of the API's, a
// window ending at the collector's "now - settle_delay" would mark seconds
// done that the API is still filling. The windows end by the API's clock:
// nothing is lost, and one warning names the offset.
func TestCollectorClockAheadOfTheAPILosesNothing(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{ClockOffset: -time.Minute}, nil)
	e.cfg.PollInterval = time.Second
	e.cfg.SettleDelay = 8 * time.Second
	apiNow := e.sim.Now()
	e.sim.Generate(300, apiNow.Add(-time.Hour), apiNow.Add(-20*time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.sim.StartLive(ctx, 50, 0.2, 2*time.Second) // dated by the API's clock
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return len(e.sim.Records()) > 450 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	e.sim.Wait()
	// The last live records settle 8 s later by the API's clock.
	want := simIDs(e.sim)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, len(want), sink.LogRecordCount())
	}, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, want, sorted(ids(sink.AllLogs())), "each record exactly once")

	warnings := e.logs.FilterMessageSnippet("clock").All()
	require.Len(t, warnings, 1, "one warning, not one per poll")
	offset, ok := warnings[0].ContextMap()["api_clock_offset"].(time.Duration)
	require.True(t, ok, "%v", warnings[0].ContextMap())
	assert.InDelta(t, -60, offset.Seconds(), 2)
}

// A response whose Date lies far in the past (a proxy's, a cached
// answer's) stops no poll for good: the window then ends before the
// checkpoint, and the next poll asks the API again, whose next Date says
// its clock. Records created after are delivered.
func TestADateFarInThePastDoesNotStopThePolls(t *testing.T) {
	var requests atomic.Int64
	e := newEnvWith(t, zendesksim.Options{}, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			if requests.Add(1) == 2 { // the second poll's answer
				w.Header().Set("Date", "Thu, 01 Jan 1970 00:00:00 GMT")
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	})
	e.cfg.PollInterval = 20 * time.Millisecond
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return requests.Load() >= 4 }, 10*time.Second, 10*time.Millisecond,
		"the polls go on after the Date of 1970")
	want := e.sim.GenerateBurst(5, e.sim.Now().Add(time.Second))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == len(want) }, 10*time.Second, 10*time.Millisecond)
}
