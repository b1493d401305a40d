package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"sync/atomic"
)

// Pages read ahead of delivery (time slices, see slices.go) are memory: a
// decoded page of 100 records is about 57 KB (the sample page; see
// TestADecodedSamplePageHoldsAbout57KB). Each receiver bounds its own
// read-ahead (slices open × pages a slice), but a collector running many
// receivers, one per account, multiplied it: 100 accounts backfilling at
// once peaked at 1.6 GB. So every receiver a factory makes draws its
// read-ahead from one pool of pages, the factory's: one bound per
// collector, however many receivers it runs.
//
// A slice's reader takes a page from the pool before each request and
// gives it back once the page was delivered (or dropped). So that no
// receiver can be stalled by the others' read-ahead, each receiver also
// keeps reservedPages of its own, which only the slice being delivered
// may use: the head of every receiver's delivery order can always be
// read, one page at a time if the pool is empty, and its delivery gives
// back what the slices behind it hold.

const (
	// defaultReadAheadPages is the size of a factory's pool: about 57 MiB
	// of decoded pages at 57 KB a page. One receiver at 2,500 requests a
	// minute and 300 ms answers reads up to about 930 pages ahead to use
	// its budget (at 700 a minute about 270; see docs/performance.md):
	// receivers that together want more share the pool, and read slower.
	defaultReadAheadPages = 1024
	// reservedPages is what each receiver may read for the slice being
	// delivered when the pool is empty.
	reservedPages = 1
)

// readAheadPool is a factory's pool of read-ahead pages, shared by every
// receiver it creates. It is a counting semaphore: a page taken is a
// value sent into tokens, a page given back one received.
type readAheadPool struct {
	tokens chan struct{}
	// taken counts the pages taken from the pool and from receivers'
	// reserves, peak the most at once, for tests.
	taken, peak atomic.Int64
}

// took counts a page taken.
func (p *readAheadPool) took() {
	n := p.taken.Add(1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			return
		}
	}
}

func newReadAheadPool(pages int) *readAheadPool {
	return &readAheadPool{tokens: make(chan struct{}, max(pages, 1))}
}

// pageToken says where a page read ahead came from, so that it goes back
// there.
type pageToken uint8

const (
	noToken pageToken = iota
	poolToken
	reserveToken
)

// readAhead is one receiver's view of the pool: the pool and its own
// reserve.
type readAhead struct {
	pool    *readAheadPool
	reserve chan struct{}
}

func newReadAhead(pool *readAheadPool) *readAhead {
	return &readAhead{pool: pool, reserve: make(chan struct{}, reservedPages)}
}

// acquire takes a page for s's reader: from the pool, or from the
// receiver's reserve once s is the slice being delivered. It waits until
// one of them has a page, or ctx ends.
func (ra *readAhead) acquire(ctx context.Context, s *sliceRead) (pageToken, error) {
	for {
		var reserve chan struct{} // nil (never ready) unless s is the head
		head := s.headReady()
		if head == nil {
			reserve = ra.reserve
		}
		select {
		case ra.pool.tokens <- struct{}{}:
			ra.pool.took()
			return poolToken, nil
		case reserve <- struct{}{}:
			ra.pool.took()
			return reserveToken, nil
		case <-head: // s became the head: it may use the reserve now
		case <-ctx.Done():
			return noToken, ctx.Err()
		}
	}
}

// release gives a page back where it came from.
func (ra *readAhead) release(t pageToken) {
	switch t {
	case poolToken:
		<-ra.pool.tokens
	case reserveToken:
		<-ra.reserve
	default:
		return
	}
	ra.pool.taken.Add(-1)
}
