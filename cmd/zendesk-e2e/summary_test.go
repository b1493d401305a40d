package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCompare(t *testing.T) {
	c := compare([]int64{5, 1, 2, 3, 4}, []int64{1, 2, 2, 2, 3, 9, 3, 8})
	assert.Equal(t, 5, c.Expected)
	assert.Equal(t, 8, c.Delivered)
	assert.Equal(t, 5, c.Distinct) // 1 2 3 9 8
	assert.Equal(t, 3, c.Duplicates)
	assert.Equal(t, []int64{4, 5}, c.MissingIDs)
	assert.Equal(t, 2, c.Missing)
	assert.Equal(t, []int64{8, 9}, c.UnknownIDs)
	assert.Equal(t, 2, c.Unknown)
	assert.Equal(t, map[int]int{3: 1, 2: 1}, c.DupCounts)

	c = compare([]int64{1, 2}, []int64{2, 1})
	assert.Zero(t, c.Missing+c.Unknown+c.Duplicates)
	assert.Empty(t, c.DupCounts)
}

func passing() summary {
	return summary{
		Variant:    "queue",
		Seed:       42,
		comparison: compare([]int64{1, 2, 3}, []int64{1, 2, 3, 3}),
		DupPerKill: 1199,
		Kills:      3,
		AckKills:   1,
		AckIDs:     1,
		Stats: simStats{ByStatus: map[string]int{
			"200": 900, "503": 7, "429": 30, "500": 8, "499": 1,
		}},
		SinkOutages: 1,
		PeakRSSKiB:  80 * 1024,
	}
}

func TestVerdictPass(t *testing.T) {
	s := passing()
	assert.Empty(t, s.verdict())
	assert.Equal(t, "e2e variant=queue seed=42 expected=3 delivered=4 distinct=3 missing=0 unknown=0 duplicates=1 duplicate_bound=3597 kills=3 ack_kills=1 ack_records=1 ack_redelivered=1 sink_outages=1 crashes=0"+
		" requests={200:900,429:30,499:1,500:8,503:7} retry_after_violations=0 retry_after_crossings=0 oversize_pages=0 peak_rss_mib=80.0 result=PASS", s.line())
}

func TestVerdictFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		mod  func(*summary)
		want string
	}{
		"missing":             {func(s *summary) { s.comparison = compare([]int64{1, 2}, []int64{1}) }, "1 ids were never delivered"},
		"unknown":             {func(s *summary) { s.comparison = compare([]int64{1}, []int64{1, 7}) }, "unknown to the simulator"},
		"violations":          {func(s *summary) { s.Stats.RetryAfterViolations = 1 }, "Retry-After"},
		"oversize":            {func(s *summary) { s.Stats.OversizePageRequests = 2 }, "over 100 records"},
		"no id":               {func(s *summary) { s.NoID = 1 }, "no zendesk.audit_log.id"},
		"bad uid":             {func(s *summary) { s.BadUID = 2 }, "2 log records carry no log.record.uid equal to their zendesk.audit_log.id"},
		"crash":               {func(s *summary) { s.Crashes = 1 }, "on its own"},
		"empty":               {func(s *summary) { s.comparison = compare(nil, nil) }, "nothing was checked"},
		"run error":           {func(s *summary) { s.Errors = []string{"sink did not stop"} }, "sink did not stop"},
		"ack not redelivered": {func(s *summary) { s.AckIDs, s.AckOnce = 2, []int64{2} }, "1 of the 2 records whose export a kill cut off"},
	} {
		t.Run(name, func(t *testing.T) {
			s := passing()
			tc.mod(&s)
			why := s.verdict()
			if assert.Len(t, why, 1) {
				assert.Contains(t, why[0], tc.want)
			}
			assert.True(t, strings.HasSuffix(s.line(), " result=FAIL"), s.line())
		})
	}
}

func TestVerdictDuplicateBound(t *testing.T) {
	ids := make([]int64, 0, 400)
	for i := range int64(300) {
		ids = append(ids, i)
	}
	dups := append(append([]int64{}, ids...), ids...) // 300 duplicates
	s := summary{comparison: compare(ids, dups), Kills: 3, DupPerKill: 100}
	assert.Empty(t, s.verdict(), "300 duplicates with 3 kills is within 100 per kill")
	s.comparison = compare(ids, append(dups, 0))
	assert.Contains(t, strings.Join(s.verdict(), ";"), "301 duplicates exceed the bound of 300")
	s.Kills = 0
	s.comparison = compare(ids, append(append([]int64{}, ids...), 5))
	assert.Contains(t, strings.Join(s.verdict(), ";"), "1 duplicates exceed the bound of 0")
}

func TestDeliveredOnce(t *testing.T) {
	assert.Nil(t, deliveredOnce([]int64{1, 1}, nil))
	assert.Equal(t, []int64{2, 4}, deliveredOnce([]int64{1, 3, 2, 1, 3, 3, 9}, []int64{4, 3, 2, 1, 1}))
	assert.Empty(t, deliveredOnce([]int64{5, 5}, []int64{5}))
}

func TestFormatStatuses(t *testing.T) {
	assert.Equal(t, "{}", formatStatuses(nil))
	assert.Equal(t, "{200:1,429:2,x:3}", formatStatuses(map[string]int{"x": 3, "429": 2, "200": 1}))
}

func TestSampleIDs(t *testing.T) {
	assert.Equal(t, "", sampleIDs(nil, 3))
	assert.Equal(t, "1 2", sampleIDs([]int64{1, 2}, 3))
	assert.Equal(t, "1 2 3 ... (2 more)", sampleIDs([]int64{1, 2, 3, 4, 5}, 3))
}

func TestOAuthVerdict(t *testing.T) {
	s := summary{Variant: "oauth", OAuth: true, TokenLife: 4 * time.Second, Starts: 4, Elapsed: 30 * time.Second,
		comparison: comparison{Expected: 10}}
	s.Stats.TokensIssued, s.Stats.ExpiredTokenRequests, s.Stats.MaxRefusalsPerToken = 12, 1, 1
	// 4 starts + 30s / 3s renewals + 1 + 1 refused request.
	assert.Equal(t, 16, s.tokenBound())
	assert.Empty(t, s.verdict())
	assert.Contains(t, s.line(), "tokens_issued=12 token_bound=16")

	storm := s
	storm.Stats.MaxRefusalsPerToken = 3
	assert.Contains(t, strings.Join(storm.verdict(), "; "), "refused 3 times")
	tooMany := s
	tooMany.Stats.TokensIssued = 17
	assert.Contains(t, strings.Join(tooMany.verdict(), "; "), "more than once per renewal")
	none := s
	none.Stats.TokensIssued = 0
	assert.Contains(t, strings.Join(none.verdict(), "; "), "no OAuth token was issued")
	notOAuth := summary{Variant: "sync", comparison: comparison{Expected: 10}}
	assert.Empty(t, notOAuth.verdict(), "other variants are not judged on tokens")
	assert.NotContains(t, notOAuth.line(), "tokens_issued")
}

func TestVerdictStore(t *testing.T) {
	s := passing()
	s.Variant = "store"
	s.Store = &storeResult{Lost: 889, Found: 889, Reconciled: 889, Codes: [2]int{3, 0}, StoreDuplicates: 1}
	s.ExtraDupBound = 1099
	assert.Empty(t, s.verdict())
	assert.Contains(t, s.line(), " duplicate_bound=4696 ")
	assert.True(t, strings.HasSuffix(s.line(), " store_lost=889 reconciled=889 missing_after=0 store_duplicates=1 result=PASS"), s.line())

	for name, tc := range map[string]struct {
		mod  func(*storeResult)
		want string
	}{
		"nothing lost":     {func(r *storeResult) { *r = storeResult{} }, "lost nothing: reconcile was not put to the test"},
		"found fewer":      {func(r *storeResult) { r.Found = 888 }, "reconcile found 888 missing records where the store lost 889"},
		"resent fewer":     {func(r *storeResult) { r.Reconciled = 10 }, "re-sent 10 records where the store lost 889"},
		"exit 0 on a loss": {func(r *storeResult) { r.Codes[0] = 0 }, "the first reconcile exited 0, want 3"},
		"still missing":    {func(r *storeResult) { r.MissingAfter = 2; r.Codes[1] = 3 }, "the second reconcile found 2 records missing (exit 3)"},
		"unexplained loss": {func(r *storeResult) { r.LostUnexplained = 4 }, "4 records lost by the store had not been accepted by it"},
		"unreadable acks":  {func(r *storeResult) { r.AckErrors = 1 }, "could not be read for ids"},
	} {
		t.Run(name, func(t *testing.T) {
			s := passing()
			s.Store = &storeResult{Lost: 889, Found: 889, Reconciled: 889, Codes: [2]int{3, 0}}
			tc.mod(s.Store)
			assert.Contains(t, strings.Join(s.verdict(), "\n"), tc.want)
			assert.True(t, strings.HasSuffix(s.line(), "result=FAIL"))
		})
	}
}
