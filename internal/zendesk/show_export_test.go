package zendesk_test

import (
	"context"
	"net/http"
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

// Export is accepted with 202 and no body; a second one within a minute is
// refused by the endpoint's own limit, which the client reports at once
// (no retry) with the wait the server asked for. The export limit binds
// exports only: listing goes on without waiting.
func TestExport(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now()
	sim.Generate(20, now.Add(-time.Hour), now.Add(-time.Minute))
	var w waits
	opts := fastOptions(ts.URL)
	opts.Hooks.OnWait = w.hook
	c := newClient(t, opts)
	f := zendesk.Filter{CreatedAtStart: now.Add(-time.Hour), CreatedAtEnd: now}

	require.NoError(t, c.Export(ctxBG, f))

	start := time.Now()
	err := c.Export(ctxBG, f)
	e := asError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "the second export is sent, not held for a minute")
	assert.Equal(t, zendesk.KindRateLimited, e.Kind)
	assert.Equal(t, http.StatusTooManyRequests, e.StatusCode)
	assert.Equal(t, "export", e.Op)
	assert.Greater(t, e.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, e.RetryAfter, time.Minute)
	assert.Equal(t, 1, e.Attempts, "export is not retried")
	assert.Contains(t, e.Description, "Export")
	assert.Contains(t, e.Error(), "wait")
	assert.Equal(t, 2, sim.Stats().ExportRequests)

	// Listing is not held by the export limit.
	start = time.Now()
	page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 100})
	require.NoError(t, err)
	assert.Len(t, page.AuditLogs, 20)
	assert.Less(t, time.Since(start), 2*time.Second, "a list request is not held by the export limit")
	assert.Empty(t, w.of(zendesk.WaitRateLimitRemaining), "the export limit does not pace the account")

	// A further export honours the Retry-After: it waits (here until its
	// context ends) instead of sending.
	ctx, cancel := context.WithTimeout(ctxBG, 50*time.Millisecond)
	defer cancel()
	err = c.Export(ctx, f)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st := sim.Stats()
	assert.Equal(t, 2, st.ExportRequests, "no request before the export's Retry-After")
	assert.Zero(t, st.RetryAfterViolations)
}
