package main

import (
	"cmp"
	"slices"
	"time"
)

// The comparison of reconcile keeps ids as int64 in sorted slices, never
// as strings or in maps: per record of the window it holds Zendesk's id
// and created_at (16 bytes) plus a sorted copy of the ids (8 bytes), and
// the store's id (8 bytes): 32 bytes. The slices grow by doubling
// (appendGrow), so their capacity is less than twice their length, and
// all they allocate while growing is less than twice their capacity.
// TestReconcileMemoryBoundOneMillionIDs measures everything the reading
// and the comparison allocate: 58.5 bytes per record on 1M records, 92.1
// on 600,000 (the figures of the README).

// appendGrow appends v to s, doubling the capacity when s is full (append
// grows large slices by a quarter, which allocates about five times the
// final size over the growth).
func appendGrow[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		n := make([]T, len(s), max(2*cap(s), 1024))
		copy(n, s)
		s = n
	}
	return append(s, v)
}

// zendeskRecord is what reconcile keeps of a record Zendesk has: its id
// and created_at (Unix seconds; 0 when the record has none).
type zendeskRecord struct {
	ID        int64
	CreatedAt int64
}

// idReport is the comparison of Zendesk's ids with a store's.
type idReport struct {
	ZendeskCount int // distinct ids Zendesk has in the window
	StoreRecords int // records the store holds, repeats included
	StoreCount   int // distinct ids the store holds

	// Missing are the records Zendesk has and the store lacks, in
	// created_at order (ties by id).
	Missing []zendeskRecord
	// Ranges sum Missing up: runs of missing records with no stored
	// record of the window between them.
	Ranges []missingRange
	// Duplicates are the ids the store holds more than once, ascending.
	Duplicates []duplicateID
	// Unknown are the ids the store holds that Zendesk does not have in
	// the window, ascending.
	Unknown []int64
}

// missingRange is a run of missing records, From and To their first and
// last created_at.
type missingRange struct {
	From, To time.Time
	Count    int
}

// duplicateID is an id the store holds Count (>= 2) times.
type duplicateID struct {
	ID    int64
	Count int
}

// DuplicateRecords is how many stored records are repeats.
func (r *idReport) DuplicateRecords() int { return r.StoreRecords - r.StoreCount }

// compareIDs compares zendesk (in created_at order, as the API lists
// them) with the ids a store holds (in any order, repeats included). It
// sorts store in place and keeps no reference to either slice.
func compareIDs(zendesk []zendeskRecord, store []int64) idReport {
	rep := idReport{StoreRecords: len(store)}

	// The store: sorted, repeats counted, then deduplicated in place.
	slices.Sort(store)
	distinct := store[:0]
	for i := 0; i < len(store); {
		j := i + 1
		for j < len(store) && store[j] == store[i] {
			j++
		}
		if j-i > 1 {
			rep.Duplicates = append(rep.Duplicates, duplicateID{ID: store[i], Count: j - i})
		}
		distinct = append(distinct, store[i])
		i = j
	}
	rep.StoreCount = len(distinct)

	// Zendesk's records in created_at order (ties by id), as the API
	// lists them; a record listed twice (a page boundary can cause it) is
	// then adjacent to itself, and kept once.
	if !slices.IsSortedFunc(zendesk, byCreatedAt) {
		zendesk = slices.Clone(zendesk)
		slices.SortFunc(zendesk, byCreatedAt)
	}
	zids := make([]int64, 0, len(zendesk))
	inRun := false
	for i, r := range zendesk {
		if i > 0 && r == zendesk[i-1] {
			continue
		}
		zids = append(zids, r.ID) // capacity is len(zendesk)
		if _, found := slices.BinarySearch(distinct, r.ID); found {
			inRun = false
			continue
		}
		rep.Missing = append(rep.Missing, r)
		t := time.Unix(r.CreatedAt, 0).UTC()
		if !inRun {
			rep.Ranges = append(rep.Ranges, missingRange{From: t})
			inRun = true
		}
		cur := &rep.Ranges[len(rep.Ranges)-1]
		cur.To = t
		cur.Count++
	}
	slices.Sort(zids)
	zids = slices.Compact(zids)
	rep.ZendeskCount = len(zids)

	// Unknown: stored ids Zendesk does not have (a merge of two sorted
	// lists).
	i := 0
	for _, id := range distinct {
		for i < len(zids) && zids[i] < id {
			i++
		}
		if i == len(zids) || zids[i] != id {
			rep.Unknown = append(rep.Unknown, id)
		}
	}
	return rep
}

func byCreatedAt(a, b zendeskRecord) int {
	return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

// missingIDs returns the ids of rep.Missing, sorted, for lookups.
func (r *idReport) missingIDs() []int64 {
	ids := make([]int64, len(r.Missing))
	for i, m := range r.Missing {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}
