package checkpoint

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func TestStartMarksEverythingBeforeItDone(t *testing.T) {
	p := Start(t0.Add(700 * time.Millisecond))
	assert.Equal(t, t0, p.Second, "truncated to the second")
	assert.True(t, p.Done(1, sec(-1)))
	assert.False(t, p.Done(1, sec(0)), "the start second itself is wanted")
	assert.False(t, p.Done(1, sec(1)))
	assert.Equal(t, sec(-1), p.QueryStart(), "re-reads one second earlier in case the API's start bound is exclusive")
}

func TestAdvanceWithinAndAcrossSeconds(t *testing.T) {
	p := Start(sec(0))
	p = p.Advance([]Record{{ID: 5, CreatedAt: sec(0)}, {ID: 3, CreatedAt: sec(0)}})
	assert.Equal(t, sec(0), p.Second)
	assert.Equal(t, []int64{3, 5}, p.IDs())
	assert.True(t, p.Done(3, sec(0)))
	assert.False(t, p.Done(4, sec(0)), "a record of the same second not yet delivered")

	q := p.Advance([]Record{{ID: 4, CreatedAt: sec(0)}})
	assert.Equal(t, []int64{3, 4, 5}, q.IDs(), "the same second accumulates ids")
	assert.Equal(t, []int64{3, 5}, p.IDs(), "Advance does not change its receiver")

	r := q.Advance([]Record{{ID: 9, CreatedAt: sec(2)}, {ID: 8, CreatedAt: sec(1)}})
	assert.Equal(t, sec(2), r.Second, "moves to the newest second delivered")
	assert.Equal(t, []int64{9}, r.IDs())
	assert.True(t, r.Done(8, sec(1)))
	assert.True(t, r.Done(4, sec(0)))
}

func TestReadBeforeMovesOverQuietSeconds(t *testing.T) {
	p := At(sec(3), []int64{1})
	assert.True(t, p.Equal(p.ReadBefore(sec(3))), "records of the end second may still come")
	assert.True(t, p.Equal(p.ReadBefore(sec(2))))
	q := p.ReadBefore(sec(9).Add(300 * time.Millisecond))
	assert.Equal(t, sec(9), q.Second)
	assert.Empty(t, q.IDs())
	assert.True(t, q.Done(1, sec(8)))
	assert.False(t, q.Done(2, sec(9)))
}

func TestAdvanceIgnoresRecordsBeforeTheSecond(t *testing.T) {
	p := At(sec(5), []int64{1})
	q := p.Advance([]Record{{ID: 2, CreatedAt: sec(3)}})
	assert.True(t, p.Equal(q))
}

// TestPropertyExactlyOnce runs random histories against a model: the API
// returns every record in [start, end] ascending by second, the order
// inside a second shuffled anew on every query, pages of random size,
// bounds inclusive or exclusive at random, records inserted late (before
// the settle horizon), and crashes that lose the position of the last page
// (it was delivered but not saved). Without crashes every record is
// delivered exactly once; with them, each crash repeats at most one page.
func TestPropertyExactlyOnce(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed*7919))
		crashes := seed%3 == 0
		runHistory(t, rng, crashes)
	}
}

type rec struct {
	id int64
	at time.Time
}

func runHistory(t *testing.T, rng *rand.Rand, crashes bool) {
	t.Helper()
	var all []rec
	nextID := int64(100000000000)
	add := func(at time.Time, n int) {
		for range n {
			all = append(all, rec{id: nextID, at: at})
			nextID++
		}
	}
	for s := range 30 {
		switch rng.IntN(4) {
		case 0: // empty second
		case 1:
			add(sec(s), 1+rng.IntN(3))
		default:
			add(sec(s), rng.IntN(250)) // bursts larger than a page
		}
	}
	startIncl, endIncl := rng.IntN(2) == 0, rng.IntN(2) == 0
	query := func(from, to time.Time) []rec {
		var out []rec
		for _, r := range all {
			lo := r.at.After(from) || (startIncl && r.at.Equal(from))
			hi := r.at.Before(to) || (endIncl && r.at.Equal(to))
			if lo && hi {
				out = append(out, r)
			}
		}
		// Ascending by second; a fresh order inside each second.
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		slices.SortStableFunc(out, func(a, b rec) int { return a.at.Compare(b.at) })
		return out
	}

	delivered := map[int64]int{}
	pos := Start(sec(0))
	saved := pos
	maxPage := 10 + rng.IntN(91)
	crashCount, repeats := 0, 0
	// Polls with a growing horizon; late inserts land after the horizon.
	for horizon := 5; horizon <= 40; horizon += 5 {
		end := sec(horizon)
		if horizon < 30 && rng.IntN(2) == 0 {
			add(sec(horizon+1+rng.IntN(3)), 1+rng.IntN(5)) // inserted "late", still after end
		}
		rows := query(pos.QueryStart(), end)
		for len(rows) > 0 {
			n := min(len(rows), 1+rng.IntN(maxPage))
			page := rows[:n]
			rows = rows[n:]
			var fresh []Record
			for _, r := range page {
				if !pos.Done(r.id, r.at) {
					fresh = append(fresh, Record{ID: r.id, CreatedAt: r.at})
				}
			}
			for _, r := range fresh {
				delivered[r.ID]++
			}
			pos = pos.Advance(fresh)
			if crashes && rng.IntN(10) == 0 {
				// Crash after delivery, before saving: resume from the
				// last saved position with a new query.
				crashCount++
				repeats += len(fresh)
				pos = saved
				rows = query(pos.QueryStart(), end)
				continue
			}
			saved = pos
		}
		// The window was read to its end.
		pos = pos.ReadBefore(end)
		saved = pos
	}
	dups := 0
	for _, r := range all {
		if r.at.After(sec(40)) {
			continue
		}
		c := delivered[r.id]
		require.NotZero(t, c, "record %d at %s was lost", r.id, r.at)
		dups += c - 1
	}
	if !crashes {
		require.Zero(t, dups, "without crashes nothing repeats")
	} else {
		require.LessOrEqual(t, dups, repeats, "repeats come only from pages lost in a crash")
	}
	require.Equal(t, len(delivered), countUpTo(all, sec(40)), "nothing outside the data set")
}

func countUpTo(all []rec, end time.Time) int {
	n := 0
	for _, r := range all {
		if !r.at.After(end) {
			n++
		}
	}
	return n
}
