package zendesk_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// Get returns the record with every documented field; an unknown id is
// KindNotFound with Zendesk's message, and not retried.
func TestGet(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	ip := "203.0.113.17"
	rec := zendesksim.Record{
		ID: 498483000001, Action: "update", ActionLabel: "Updated",
		ActorID: 361782910283, ActorName: "Sameer Patel",
		ChangeDescription: "Role changed from Administrator to End User\nand back",
		CreatedAt:         time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC),
		IPAddress:         &ip, SourceID: 361782900001, SourceLabel: "John Doe", SourceType: "user",
	}
	sim.Add(rec)
	c := newClient(t, fastOptions(ts.URL))

	got, err := c.Get(ctxBG, rec.ID)
	require.NoError(t, err)
	assert.Equal(t, zendesk.Some(rec.ID), got.ID)
	assert.Equal(t, zendesk.Some("update"), got.Action)
	assert.Equal(t, zendesk.Some("Updated"), got.ActionLabel)
	assert.Equal(t, zendesk.Some(rec.ActorID), got.ActorID)
	assert.Equal(t, zendesk.Some("Sameer Patel"), got.ActorName)
	assert.Equal(t, zendesk.Some(rec.ChangeDescription), got.ChangeDescription)
	assert.True(t, got.CreatedAt.Valid)
	assert.True(t, rec.CreatedAt.Equal(got.CreatedAt.Value))
	assert.Equal(t, zendesk.Some(ip), got.IPAddress)
	assert.Equal(t, zendesk.Some(rec.SourceID), got.SourceID)
	assert.Equal(t, zendesk.Some("John Doe"), got.SourceLabel)
	assert.Equal(t, zendesk.Some("user"), got.SourceType)
	assert.Equal(t, zendesk.Some(ts.URL+"/api/v2/audit_logs/498483000001.json"), got.URL)
	assert.Empty(t, got.Extra)

	_, err = c.Get(ctxBG, 1)
	e := asError(t, err)
	assert.Equal(t, zendesk.KindNotFound, e.Kind)
	assert.Equal(t, http.StatusNotFound, e.StatusCode)
	assert.Equal(t, "RecordNotFound", e.Code)
	assert.Equal(t, "Not found", e.Description)
	assert.Equal(t, "show", e.Op)
	assert.Equal(t, 1, e.Attempts)
	assert.False(t, zendesk.IsRetryable(err))
	assert.Contains(t, err.Error(), "RecordNotFound")
	assert.Equal(t, 2, sim.Stats().ShowRequests)
}

// A show response without audit_log is a decode error, not a nil record.
func TestGetWithoutRecordIsADecodeError(t *testing.T) {
	t.Parallel()
	_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, "application/json", `{"audit_log":null}`)
	})
	c := newClient(t, fastOptions(ts.URL))
	got, err := c.Get(ctxBG, 5)
	assert.Nil(t, got)
	assert.Equal(t, zendesk.KindDecode, zendesk.KindOf(err))
}

// fakeClock is a clock whose Sleep moves it on at once, shared by the
// simulator and the client so that waits of minutes take no time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// newExportClient is a client and a simulator on one fake clock.
func newExportClient(t *testing.T, faults zendesksim.Faults, maxWait time.Duration) (*zendesk.Client, *zendesksim.Server, *fakeClock, *waits) {
	t.Helper()
	clk := newFakeClock()
	sim, ts := newSim(t, zendesksim.Options{Now: clk.Now, Faults: faults}, nil)
	var w waits
	opts := fastOptions(ts.URL)
	opts.Now, opts.Sleep = clk.Now, clk.Sleep
	opts.MaxExportWait = maxWait
	opts.Hooks.OnWait = w.hook
	return newClient(t, opts), sim, clk, &w
}

var exportFilter = zendesk.Filter{
	CreatedAtStart: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC),
	CreatedAtEnd:   time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
}

// Export is accepted with 202 and no body. A second one within the minute
// is refused by the endpoint's own limit; Export waits as long as the
// server asks and sends it again.
func TestExportWaitsOutTheExportLimit(t *testing.T) {
	t.Parallel()
	c, sim, clk, w := newExportClient(t, zendesksim.Faults{}, 0)

	require.NoError(t, c.Export(ctxBG, exportFilter))
	assert.Empty(t, clk.sleeps())

	require.NoError(t, c.Export(ctxBG, exportFilter))
	assert.Equal(t, []time.Duration{time.Minute}, clk.sleeps(), "waited the Retry-After, once")
	assert.Equal(t, []time.Duration{time.Minute}, w.of(zendesk.WaitRetryAfter))
	st := sim.Stats()
	assert.Equal(t, 3, st.ExportRequests)
	assert.Equal(t, 1, st.ByStatus[http.StatusTooManyRequests])
	assert.Zero(t, st.RetryAfterViolations)
}

// The waits add up to at most MaxExportWait (2 minutes by default): then
// the last refusal is returned, saying so. The account's limit is not the
// export limit.
func TestExportGivesUpAfterTwoMinutesOfWaiting(t *testing.T) {
	t.Parallel()
	c, sim, clk, _ := newExportClient(t, zendesksim.Faults{P429: 1, RetryAfter: 50 * time.Second}, 0)

	err := c.Export(ctxBG, exportFilter)
	e := asError(t, err)
	assert.Equal(t, zendesk.KindRateLimited, e.Kind)
	assert.False(t, e.ExportLimited(), "APIRateLimitExceeded is the account's limit")
	assert.Equal(t, 50*time.Second, e.RetryAfter)
	assert.Equal(t, 3, e.Attempts)
	assert.Equal(t, []time.Duration{50 * time.Second, 50 * time.Second}, clk.sleeps(), "a third wait would pass 2 minutes")
	assert.Contains(t, err.Error(), "not waiting 50s more: an export waits at most 2m0s in all (waited 1m40s)")
	st := sim.Stats()
	assert.Equal(t, 3, st.ExportRequests)
	assert.Zero(t, st.RetryAfterViolations)
}

// A Retry-After longer than the bound is not waited at all.
func TestExportDoesNotStartAWaitLongerThanItsBound(t *testing.T) {
	t.Parallel()
	c, sim, clk, _ := newExportClient(t, zendesksim.Faults{P429: 1, RetryAfter: 3 * time.Minute}, 0)
	err := c.Export(ctxBG, exportFilter)
	assert.Equal(t, zendesk.KindRateLimited, zendesk.KindOf(err))
	assert.Contains(t, err.Error(), "not waiting 3m0s more")
	assert.Empty(t, clk.sleeps())
	assert.Equal(t, 1, sim.Stats().ExportRequests)
}

// A 429 that names no wait is retried with backoff, within MaxAttempts.
func TestExportBacksOffWhenNoWaitIsNamed(t *testing.T) {
	t.Parallel()
	c, sim, clk, w := newExportClient(t, zendesksim.Faults{P429NoRetryAfter: 1}, 0)
	err := c.Export(ctxBG, exportFilter)
	e := asError(t, err)
	assert.Equal(t, zendesk.DefaultMaxAttempts, e.Attempts)
	assert.Equal(t, zendesk.DefaultMaxAttempts, sim.Stats().ExportRequests)
	assert.Len(t, w.of(zendesk.WaitBackoff), zendesk.DefaultMaxAttempts-1)
	assert.Len(t, clk.sleeps(), zendesk.DefaultMaxAttempts-1)
	assert.Contains(t, err.Error(), "Too Many Requests")
}

// Other failures are not retried: a 5xx may have started an export.
func TestExportDoesNotRetryOtherFailures(t *testing.T) {
	t.Parallel()
	c, sim, clk, _ := newExportClient(t, zendesksim.Faults{P500: 1}, 0)
	err := c.Export(ctxBG, exportFilter)
	assert.Equal(t, zendesk.KindServer, zendesk.KindOf(err))
	assert.Equal(t, 1, sim.Stats().ExportRequests)
	assert.Empty(t, clk.sleeps())
}

// The export limit binds exports only: while an export waits for it,
// listing goes on; and a later export honours it before it sends.
func TestExportLimitHoldsExportsOnly(t *testing.T) {
	t.Parallel()
	c, sim, clk, w := newExportClient(t, zendesksim.Faults{}, 30*time.Second)
	sim.Generate(20, clk.Now().Add(-time.Hour), clk.Now().Add(-time.Minute))

	require.NoError(t, c.Export(ctxBG, exportFilter))
	err := c.Export(ctxBG, exportFilter)
	e := asError(t, err)
	assert.True(t, e.ExportLimited())
	assert.Equal(t, time.Minute, e.RetryAfter)
	assert.Equal(t, 1, e.Attempts, "a minute is more than this client's 30s")
	assert.Contains(t, e.Description, "CSV Export")
	assert.Empty(t, clk.sleeps())

	page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 100})
	require.NoError(t, err)
	assert.Len(t, page.AuditLogs, 20)
	assert.Empty(t, clk.sleeps(), "a list request is not held by the export limit")
	assert.Empty(t, w.of(zendesk.WaitRateLimitRemaining), "the export limit does not pace the account")

	require.NoError(t, c.Export(ctxBG, exportFilter))
	assert.Equal(t, []time.Duration{time.Minute}, clk.sleeps(), "the next export waited for the limit before it sent")
	st := sim.Stats()
	assert.Equal(t, 3, st.ExportRequests)
	assert.Zero(t, st.RetryAfterViolations)
}

// The export limit is recognised by Zendesk's wording, in a text or a JSON
// body; any other 429 is not it.
func TestExportLimitedIsWhatZendeskReported(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, contentType, body string
		want                    bool
	}{
		{"text", "text/plain; charset=utf-8", "Rate limit for Audit log CSV Export exceeded", true},
		{"JSON description", "application/json", `{"error":"TooManyRequests","description":"Rate limit for Audit log CSV Export exceeded"}`, true},
		{"JSON error", "application/json", `{"error":"Rate limit for Audit log CSV Export exceeded"}`, true},
		{"account limit", "application/json", `{"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}`, false},
		{"proxy", "text/plain", "Too Many Requests", false},
		{"HTML", "text/html", "<html><body>429 Too Many Requests</body></html>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				answer(w, http.StatusTooManyRequests, tc.contentType, tc.body, "Retry-After", "600")
			})
			opts := fastOptions(ts.URL)
			opts.MaxExportWait = time.Second
			err := newClient(t, opts).Export(ctxBG, exportFilter)
			e := asError(t, err)
			assert.Equal(t, tc.want, e.ExportLimited())
		})
	}
	// Only on the export endpoint.
	assert.False(t, (&zendesk.Error{Op: "list", StatusCode: 429, Description: "Rate limit for Audit log CSV Export exceeded"}).ExportLimited())
}
