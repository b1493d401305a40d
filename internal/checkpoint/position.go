// Package checkpoint holds the receiver's place in the audit log and keeps
// it in a storage extension.
//
// created_at has one-second precision, many records can share a second,
// their order inside a second can differ between queries, and whether the
// API's created_at bounds are inclusive is not documented. A Position is
// therefore a second plus the ids delivered in it: every record created
// before the second is done, and of the records created in it, those ids
// are. Re-reading from the second before it and skipping what is done
// delivers every record exactly once, whatever the order inside a second
// and whichever way the bounds lean.
package checkpoint

import (
	"maps"
	"slices"
	"time"
)

// Position is how far delivery has come.
type Position struct {
	// Second: every record created before it is done (delivered, or before
	// the configured start).
	Second time.Time
	// done are the ids created in Second that were delivered.
	done map[int64]struct{}
}

// Start is the position before anything was delivered: records created
// from t (truncated to the second) on are wanted.
func Start(t time.Time) Position {
	return Position{Second: t.UTC().Truncate(time.Second)}
}

// At is a position at second t with ids already delivered in it.
func At(t time.Time, ids []int64) Position {
	p := Start(t)
	if len(ids) > 0 {
		p.done = make(map[int64]struct{}, len(ids))
		for _, id := range ids {
			p.done[id] = struct{}{}
		}
	}
	return p
}

// IDs returns the ids delivered in Second, sorted.
func (p Position) IDs() []int64 {
	return slices.Sorted(maps.Keys(p.done))
}

// QueryStart is where the next read starts: one second before Second, so
// that records in Second are read again even if the API's start bound is
// exclusive.
func (p Position) QueryStart() time.Time {
	return p.Second.Add(-time.Second)
}

// Done reports whether the record with this id and created_at needs no
// delivery.
func (p Position) Done(id int64, createdAt time.Time) bool {
	// Compared in Unix seconds: the second createdAt is in, and p's
	// (a whole second), without building either as a time.
	s, second := createdAt.Unix(), p.Second.Unix()
	if s < second {
		return true
	}
	if s == second {
		_, ok := p.done[id]
		return ok
	}
	return false
}

// Record is what Advance needs of a delivered audit log.
type Record struct {
	ID        int64
	CreatedAt time.Time
}

// Advance returns the position after the records were delivered. p is not
// changed. Records created before p.Second (an API that broke its order)
// leave the position where it is.
func (p Position) Advance(delivered []Record) Position {
	newest := p.Second
	for _, r := range delivered {
		if s := r.CreatedAt.UTC().Truncate(time.Second); s.After(newest) {
			newest = s
		}
	}
	next := Position{Second: newest}
	if newest.Equal(p.Second) {
		next.done = maps.Clone(p.done)
	}
	for _, r := range delivered {
		if r.CreatedAt.UTC().Truncate(time.Second).Equal(newest) {
			if next.done == nil {
				next.done = make(map[int64]struct{})
			}
			next.done[r.ID] = struct{}{}
		}
	}
	return next
}

// ReadBefore returns the position after a complete read, up to its last
// page, of a window that ended at end: every record created before end's
// second is then done, whether or not the API's end bound is inclusive.
// Moving on over quiet seconds keeps the next read short and the lag true.
func (p Position) ReadBefore(end time.Time) Position {
	end = end.UTC().Truncate(time.Second)
	if !p.Second.Before(end) {
		return p
	}
	// Nothing was delivered in end's second, or p.Second would be end.
	return Start(end)
}

// Equal reports whether two positions are the same.
func (p Position) Equal(o Position) bool {
	return p.Second.Equal(o.Second) && maps.Equal(p.done, o.done)
}
