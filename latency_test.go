package zendeskauditlogsreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// observeN gives f n samples of d, a millisecond apart from at.
func observeN(f *minFilter, n int, d time.Duration, at time.Time) time.Time {
	for range n {
		f.observe(d, at)
		at = at.Add(time.Millisecond)
	}
	return at
}

func TestMinFilterIsTheLeastOfRecentSamples(t *testing.T) {
	ms := time.Millisecond
	f := newMinFilter(10 * time.Second)
	assert.Zero(t, f.estimate(), "no sample")
	at := time.Unix(1_700_000_000, 0)
	at = observeN(&f, trustedSamples, 5*ms, at)
	assert.Equal(t, 5*ms, f.estimate())
	f.observe(300*time.Microsecond, at)
	assert.Equal(t, 300*time.Microsecond, f.estimate(), "a faster answer lowers it at once")
	f.observe(9*ms, at)
	f.observe(0, at)
	f.observe(-ms, at)
	assert.Equal(t, 300*time.Microsecond, f.estimate(), "slower answers, and no answer time, do not raise it")
}

// Queueing only ever adds to the API's answer time, but the API itself can
// slow down: a sample counts for one to two windows, then the least of
// the newer ones is the estimate.
func TestMinFilterFollowsAnAPIThatSlowedDown(t *testing.T) {
	ms := time.Millisecond
	window := 10 * time.Second
	f := newMinFilter(window)
	t0 := time.Unix(1_700_000_000, 0)
	observeN(&f, trustedSamples, ms, t0)
	// The API answers in 300 ms from now on.
	observeN(&f, trustedSamples, 300*ms, t0.Add(window))
	assert.Equal(t, ms, f.estimate(), "within two windows of the fast answers, they count")
	observeN(&f, trustedSamples, 300*ms, t0.Add(2*window+time.Second))
	assert.Equal(t, 300*ms, f.estimate(), "two windows on, only the slow answers count")

	// After a pause longer than two windows, what is left is forgotten at
	// the next sample.
	f = newMinFilter(window)
	observeN(&f, trustedSamples, ms, t0)
	observeN(&f, trustedSamples, 300*ms, t0.Add(time.Hour))
	assert.Equal(t, 300*ms, f.estimate())
}

// The least of a few samples is a loose bound on the API's own latency
// (each may have queued for a CPU): until trustedSamples of them, the
// estimate is a proportional part of it, so that the first answers of a
// backfill on a busy machine do not size a large read-ahead. Answers of
// 300 ms still stand far above a delivery of a millisecond.
func TestMinFilterTrustsItsLeastOnlyWithEnoughSamples(t *testing.T) {
	ms := time.Millisecond
	f := newMinFilter(10 * time.Second)
	at := time.Unix(1_700_000_000, 0)
	least := time.Duration(trustedSamples) * 100 * time.Microsecond
	f.observe(least, at)
	assert.Equal(t, 100*time.Microsecond, f.estimate(), "one sample: a trustedSamples-th")
	at = observeN(&f, trustedSamples/2-1, least, at)
	assert.Equal(t, least/2, f.estimate(), "half of them: half")
	observeN(&f, trustedSamples/2, least, at)
	assert.Equal(t, least, f.estimate())

	f = newMinFilter(10 * time.Second)
	f.observe(300*ms, at)
	n, deliveryBound := sliceConcurrency(8, 700, 300*ms, f.estimate(), ms)
	assert.Equal(t, 6, n, "one answer of 300 ms: what the budget needs")
	assert.False(t, deliveryBound)
	assert.GreaterOrEqual(t, pagesAhead(largeSliceBufferPages, 700, 300*ms, f.estimate(), ms), largeSlicePages, "a whole slice read ahead")
}

// Samples arrive from several readers, so not in the order of their
// times: an older one counts in the current bucket.
func TestMinFilterTakesSamplesOutOfOrder(t *testing.T) {
	ms := time.Millisecond
	f := newMinFilter(10 * time.Second)
	at := time.Unix(1_700_000_000, 0)
	observeN(&f, trustedSamples, 5*ms, at)
	f.observe(2*ms, at.Add(-time.Second))
	assert.Equal(t, 2*ms, f.estimate())
}
