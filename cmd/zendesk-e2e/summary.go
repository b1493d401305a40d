package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// comparison is the sink's content set against the simulator's ids.
type comparison struct {
	Expected   int // ids the simulator holds
	Delivered  int // log records with an id in the sink, repeats included
	Distinct   int // distinct ids in the sink
	Missing    int // expected ids the sink lacks
	Unknown    int // ids in the sink the simulator does not hold
	Duplicates int // Delivered - Distinct

	MissingIDs []int64 // ascending
	UnknownIDs []int64 // ascending
	// DupCounts maps a delivery count (2, 3, ...) to how many ids were
	// delivered that many times.
	DupCounts map[int]int
}

// compare sets the delivered ids (with repeats) against the expected ids.
func compare(expected, delivered []int64) comparison {
	want := make(map[int64]struct{}, len(expected))
	for _, id := range expected {
		want[id] = struct{}{}
	}
	got := make(map[int64]int, len(delivered))
	for _, id := range delivered {
		got[id]++
	}
	c := comparison{
		Expected:  len(want),
		Delivered: len(delivered),
		Distinct:  len(got),
		DupCounts: map[int]int{},
	}
	c.Duplicates = c.Delivered - c.Distinct
	for id := range want {
		if got[id] == 0 {
			c.MissingIDs = append(c.MissingIDs, id)
		}
	}
	for id, n := range got {
		if _, ok := want[id]; !ok {
			c.UnknownIDs = append(c.UnknownIDs, id)
		}
		if n > 1 {
			c.DupCounts[n]++
		}
	}
	slices.Sort(c.MissingIDs)
	slices.Sort(c.UnknownIDs)
	c.Missing, c.Unknown = len(c.MissingIDs), len(c.UnknownIDs)
	return c
}

// simStats is the simulator's GET /_sim/stats answer (the part used here).
type simStats struct {
	Requests             int            `json:"requests"`
	ByStatus             map[string]int `json:"by_status"`
	RetryAfterViolations int            `json:"retry_after_violations"`
	RetryAfterCrossings  int            `json:"retry_after_crossings"`
	OversizePageRequests int            `json:"oversize_page_requests"`
	ListRequests         int            `json:"list_requests"`
	RecordsServed        int            `json:"records_served"`
	TokenRequests        int            `json:"token_requests"`
	TokensIssued         int            `json:"tokens_issued"`
	ExpiredTokenRequests int            `json:"expired_token_requests"`
	RevokedTokenRequests int            `json:"revoked_token_requests"`
	MaxRefusalsPerToken  int            `json:"max_refusals_per_token"`
}

// summary is everything the one-line report says.
type summary struct {
	Variant string // the setup of the collector under test
	Seed    int64
	comparison
	// DupPerKill is how many duplicates one kill may cause in this
	// variant (variant.duplicatesPerKill).
	DupPerKill int
	NoID       int // log records in the sink without an id
	BadUID     int // log records whose log.record.uid is missing or not their id
	Kills      int // SIGKILLs of the collector under test
	// AckKills are the kills that landed after the sink accepted an export
	// and before the collector under test heard of it; AckIDs counts the
	// records of those exports. Each must be delivered again after the
	// restart: AckOnce lists those the sink holds only once.
	AckKills    int
	AckIDs      int
	AckOnce     []int64
	SinkOutages int
	Crashes     int // exits of the collector under test nobody asked for
	Stats       simStats
	// OAuth: the variant authenticates with client credentials, with
	// tokens of TokenLife; Starts and Elapsed bound the tokens it may ask
	// for.
	OAuth      bool
	TokenLife  time.Duration
	Starts     int
	Elapsed    time.Duration
	PeakRSSKiB int64
	Errors     []string // problems of the run itself (a stop that failed, ...)
	// Store is the variant store's part: what the store lost and what
	// reconcile did about it; nil in the other variants.
	Store *storeResult
	// ExtraDupBound is what the duplicate bound allows beyond the kills of
	// the collector (the store's own kill).
	ExtraDupBound int
}

// formatStatuses writes {200:N,429:N,...} in numeric order.
func formatStatuses(by map[string]int) string {
	type kv struct {
		code int
		key  string
	}
	var keys []kv
	for k := range by {
		n, err := strconv.Atoi(k)
		if err != nil {
			n = 1 << 30
		}
		keys = append(keys, kv{n, k})
	}
	slices.SortFunc(keys, func(a, b kv) int {
		if a.code != b.code {
			return a.code - b.code
		}
		return strings.Compare(a.key, b.key)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k.key, by[k.key])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// verdict lists why the run failed; empty means it passed.
func (s summary) verdict() []string {
	var why []string
	if s.Missing > 0 {
		why = append(why, fmt.Sprintf("%d ids were never delivered", s.Missing))
	}
	if s.Unknown > 0 {
		why = append(why, fmt.Sprintf("%d delivered ids are unknown to the simulator", s.Unknown))
	}
	if s.Stats.RetryAfterViolations > 0 {
		why = append(why, fmt.Sprintf("%d requests came before a Retry-After expired", s.Stats.RetryAfterViolations))
	}
	if s.Stats.OversizePageRequests > 0 {
		why = append(why, fmt.Sprintf("%d requests asked for pages over 100 records", s.Stats.OversizePageRequests))
	}
	if limit := s.duplicateBound(); s.Duplicates > limit {
		why = append(why, fmt.Sprintf("%d duplicates exceed the bound of %d (%d per kill x %d kills + %d)",
			s.Duplicates, limit, s.DupPerKill, s.Kills, s.ExtraDupBound))
	}
	if len(s.AckOnce) > 0 {
		why = append(why, fmt.Sprintf("%d of the %d records whose export a kill cut off before the collector heard the sink accept it were not delivered again: "+
			"the checkpoint moved past records the pipeline had not confirmed (ids %s)", len(s.AckOnce), s.AckIDs, sampleIDs(s.AckOnce, 10)))
	}
	if s.NoID > 0 {
		why = append(why, fmt.Sprintf("%d log records carry no %s attribute", s.NoID, idAttribute))
	}
	if s.BadUID > 0 {
		why = append(why, fmt.Sprintf("%d log records carry no %s equal to their %s", s.BadUID, uidAttribute, idAttribute))
	}
	if s.Crashes > 0 {
		why = append(why, fmt.Sprintf("the collector under test exited %d times on its own", s.Crashes))
	}
	if s.OAuth {
		why = append(why, s.oauthVerdict()...)
	}
	if s.Expected == 0 {
		why = append(why, "the simulator holds no records: nothing was checked")
	}
	if s.Store != nil {
		why = append(why, s.Store.verdict()...)
	}
	return append(why, s.Errors...)
}

// oauthVerdict: every token refused at most once (no 401 storm), and no
// more tokens than renewals.
func (s summary) oauthVerdict() []string {
	var why []string
	st := s.Stats
	if st.TokensIssued == 0 {
		why = append(why, "no OAuth token was issued: the collector under test did not use client credentials")
	}
	if st.MaxRefusalsPerToken > 1 {
		why = append(why, fmt.Sprintf("an access token was refused %d times (besides requests that crossed its first refusal): the receiver sent a token again after the API refused it (a 401 storm)", st.MaxRefusalsPerToken))
	}
	if bound := s.tokenBound(); st.TokensIssued > bound {
		why = append(why, fmt.Sprintf("%d tokens were issued, more than the %d renewals the run needed at most: a token was asked for more than once per renewal", st.TokensIssued, bound))
	}
	return why
}

// tokenBound is the most tokens the run may ask for: one per start of the
// collector, one each time a token reaches the last quarter of its life
// (when it is renewed) while the run lasts, and one per refused request
// (each renews once).
func (s summary) tokenBound() int {
	renewEvery := s.TokenLife - s.TokenLife/4
	if renewEvery <= 0 {
		return 0
	}
	return s.Starts + int(s.Elapsed/renewEvery) + 1 + s.Stats.ExpiredTokenRequests + s.Stats.RevokedTokenRequests
}

// duplicateBound is the most duplicates the run's kills may cause.
func (s summary) duplicateBound() int { return s.DupPerKill*s.Kills + s.ExtraDupBound }

// line is the one-line summary.
func (s summary) line() string {
	result := "PASS"
	if len(s.verdict()) > 0 {
		result = "FAIL"
	}
	oauth := ""
	if s.OAuth {
		oauth = fmt.Sprintf(" token_lifetime=%s tokens_issued=%d token_bound=%d token_requests=%d expired_token_requests=%d max_refusals_per_token=%d",
			s.TokenLife, s.Stats.TokensIssued, s.tokenBound(), s.Stats.TokenRequests, s.Stats.ExpiredTokenRequests, s.Stats.MaxRefusalsPerToken)
	}
	return fmt.Sprintf("e2e variant=%s seed=%d expected=%d delivered=%d distinct=%d missing=%d unknown=%d duplicates=%d duplicate_bound=%d"+
		" kills=%d ack_kills=%d ack_records=%d ack_redelivered=%d sink_outages=%d crashes=%d requests=%s retry_after_violations=%d retry_after_crossings=%d oversize_pages=%d"+
		"%s peak_rss_mib=%.1f%s result=%s",
		s.Variant, s.Seed, s.Expected, s.Delivered, s.Distinct, s.Missing, s.Unknown, s.Duplicates, s.duplicateBound(),
		s.Kills, s.AckKills, s.AckIDs, s.AckIDs-len(s.AckOnce), s.SinkOutages, s.Crashes, formatStatuses(s.Stats.ByStatus), s.Stats.RetryAfterViolations, s.Stats.RetryAfterCrossings,
		s.Stats.OversizePageRequests, oauth, float64(s.PeakRSSKiB)/1024, s.storeFields(), result)
}

// storeFields are the variant store's part of the line.
func (s summary) storeFields() string {
	if s.Store == nil {
		return ""
	}
	return fmt.Sprintf(" store_lost=%d reconciled=%d missing_after=%d store_duplicates=%d",
		s.Store.Lost, s.Store.Reconciled, s.Store.MissingAfter, s.Store.StoreDuplicates)
}

// deliveredOnce returns the ids of want (ascending, each once) that occur
// fewer than twice in delivered.
func deliveredOnce(delivered, want []int64) []int64 {
	if len(want) == 0 {
		return nil
	}
	count := make(map[int64]int, len(want))
	for _, id := range want {
		count[id] = 0
	}
	for _, id := range delivered {
		if n, ok := count[id]; ok {
			count[id] = n + 1
		}
	}
	var once []int64
	for id, n := range count {
		if n < 2 {
			once = append(once, id)
		}
	}
	slices.Sort(once)
	return once
}

// sampleIDs formats at most n ids for a log line.
func sampleIDs(ids []int64, n int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == n {
			fmt.Fprintf(&b, " ... (%d more)", len(ids)-n)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
