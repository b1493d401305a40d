package zendeskauditlogsreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// The time assumptions the receiver's tests share, in one place (issue
// #22). A test places its records relative to env.now, taken once when
// the env is made, never relative to a time.Now() of its own; the
// receiver starts at an explicit start_time testLookback before env.now,
// so that where it starts does not depend on when Start runs (with
// initial_lookback, a backlog placed at exactly now-lookback began a
// second before the receiver's start whenever setup crossed a second
// boundary, and its first records were done by definition); settle_delay
// is 0 unless a test sets it, and backlog refuses records the first
// window would leave to a later poll.

// testLookback is how far back of env.now the receiver starts reading.
const testLookback = 3 * time.Hour

// setTestTimes configures where the receiver starts, and its settle
// delay, for records placed from now.
func setTestTimes(cfg *Config, now time.Time) {
	cfg.StartTime = now.Add(-testLookback).UTC().Truncate(time.Second)
	cfg.InitialLookback = testLookback // unused while start_time is set
	cfg.SettleDelay = 0
}

// ago is the instant d before env.now. It fails the test for an instant
// before the receiver's start: records there would never be read.
func (e *env) ago(t testing.TB, d time.Duration) time.Time {
	t.Helper()
	at := e.now.Add(-d)
	require.False(t, at.Before(e.cfg.StartTime), "%s before the test's now is before the receiver's start (%s back)", d, testLookback)
	return at
}

// backlog adds n records created from oldest to newest before env.now,
// all of them inside the receiver's first window: after its start, and
// settled by the time it polls.
func (e *env) backlog(t testing.TB, n int, oldest, newest time.Duration) []zendesksim.Record {
	t.Helper()
	require.GreaterOrEqual(t, newest, e.cfg.SettleDelay, "records newer than settle_delay are left to a later poll")
	return e.sim.Generate(n, e.ago(t, oldest), e.ago(t, newest))
}
