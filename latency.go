package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import "time"

// How many slices to read at once and how far each reads ahead of
// delivery (sliceConcurrency and pagesAhead in slices.go) depend on how
// long a page takes to get compared with how long it takes to deliver.
// The answer time as this side sees it is the wrong measure when the
// collector is short of CPU: with answers in no time (an API on the same
// machine, the benchmarks' simulator), readers are slow because they
// queue for a CPU, not because the API is; a moving average of their
// times then grows with the number of readers and with what they read
// ahead, which in turn asked for more readers and more read-ahead (eight
// readers of up to 60 pages each, that drained 100k records about as fast
// as two readers of two pages, for twice the memory: docs/performance.md).
//
// So, as TCP BBR estimates a path's propagation delay by the least round
// trip seen lately (queueing only ever adds to it), the receiver estimates
// the API's own latency by the least time to a response's head (see
// zendesk.Page.Latency; reading and decoding the body are work on this
// side) over the recent samples. Waiting for a CPU can raise a sample,
// never lower it, so the least of many is close to what the API takes.
// It follows the API: it falls as soon as the API answers faster, and
// rises within two windows once every recent answer is slower. Answers of
// 300 ms give an estimate of 300 ms, whatever the machine's load: where
// the API's latency is what bounds reading, nothing changes.
//
// Its limit: the least of samples that all queued (a machine loaded by
// other processes all the time) is the queueing's floor, and an API
// answering in no time then looks like one answering in a millisecond or
// so. The receiver reads as it would for such an API: a few more slices,
// a few more pages each, still far fewer than before.

// latencyWindow is how long a sample counts (between one and two
// windows): BBR's min-RTT window. It is long enough to span many pages of
// a backfill (a page every few ms at best, every 100 ms or so with a
// budget), short enough to follow an API that slowed down.
const latencyWindow = 10 * time.Second

// minFilter is the least of recent samples: those of the current bucket
// (started at most window ago) and of the bucket before it. A sample at or
// after a window since the current bucket started starts a new one; the
// old becomes the previous one if it is less than two windows old, else
// it is forgotten. Without samples the estimate stays what it was. Zero
// (or less) is no sample; the zero value is an empty filter of window 0
// (every sample starts a bucket).
type minFilter struct {
	window      time.Duration
	cur, prev   time.Duration // least sample of each bucket; 0: empty
	curN, prevN int           // samples of each bucket
	curStarted  time.Time
}

func newMinFilter(window time.Duration) minFilter { return minFilter{window: window} }

// observe takes a sample d seen at at.
func (f *minFilter) observe(d time.Duration, at time.Time) {
	if d <= 0 {
		return
	}
	age := at.Sub(f.curStarted)
	switch {
	case f.cur == 0:
		f.cur, f.curN, f.curStarted = d, 1, at
	case age >= 2*f.window:
		f.prev, f.prevN, f.cur, f.curN, f.curStarted = 0, 0, d, 1, at
	case age >= f.window:
		f.prev, f.prevN, f.cur, f.curN, f.curStarted = f.cur, f.curN, d, 1, at
	default: // including a sample seen before the bucket started
		f.cur = min(f.cur, d)
		f.curN++
	}
}

// trustedSamples is how many samples make their least trusted as it is.
// The least of a few samples is a loose bound: at the start of a backfill
// on a busy machine every answer queued, the first page's included, and
// one such sample made a collector open eight slices of 25 pages at once
// before better samples came. So with k samples the estimate is k /
// trustedSamples of their least: small for a fast API (few slices, a
// couple of pages each, until the samples say more), and still far above
// a page's delivery for a slow one (300 ms / 64 is 4.7 ms: the budget's
// slices, read ahead, from the first page on).
const trustedSamples = 64

// estimate is the least recent sample, 0 without one; with fewer than
// trustedSamples of them, a proportional part of it.
func (f *minFilter) estimate() time.Duration {
	least := f.cur
	if f.prev != 0 { // cur is never empty while prev is not
		least = min(f.cur, f.prev)
	}
	if k := f.curN + f.prevN; k < trustedSamples {
		return least * time.Duration(k) / trustedSamples
	}
	return least
}
