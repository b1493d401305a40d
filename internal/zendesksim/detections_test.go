package zendesksim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// The data sets of `make sim` (5000 records) and `make run` (2000), seed
// 1, hold records each detection rule flags, and near misses (records of
// the rule's subject that it does not flag: an API token deleted, two-factor
// enabled, a role changed to agent); flagged records stay a small share,
// as in a real account.
func TestGeneratedDataHoldsRecordsEachRuleFlags(t *testing.T) {
	d, err := detect.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	to := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{2000, 5000} {
		recs := zendesksim.New(zendesksim.Options{Seed: 1}).Generate(n, to.Add(-6*time.Hour), to)
		flagged, near := map[string]int{}, map[string]int{}
		total := 0
		for _, r := range recs {
			rule := d.Match(detect.Event{Action: r.Action, SourceType: r.SourceType, SourceLabel: r.SourceLabel, Body: r.ChangeDescription})
			if rule != nil {
				flagged[rule.Name]++
				total++
				continue
			}
			for _, rule := range detect.Rules() {
				if sameSubject(rule, r) {
					near[rule.Name]++
				}
			}
		}
		for _, name := range detect.Names() {
			assert.Positive(t, flagged[name], "%d records: %s flags none", n, name)
			assert.Positive(t, near[name], "%d records: no near miss of %s (its subject, not flagged)", n, name)
		}
		assert.Less(t, total, n/10, "%d records: %d flagged %v", n, total, flagged)
		t.Logf("%d records: %d flagged %v; near misses %v", n, total, flagged, near)
	}
}

// sameSubject says whether r is about what rule watches: one of its source
// types and, when the rule names a label, that label.
func sameSubject(rule detect.Rule, r zendesksim.Record) bool {
	if !slices.ContainsFunc(rule.SourceTypes, func(v string) bool { return strings.EqualFold(v, r.SourceType) }) {
		return false
	}
	if len(rule.Label.Values) == 0 {
		return true
	}
	label := strings.ToLower(strings.TrimSpace(r.SourceLabel))
	return slices.ContainsFunc(rule.Label.Values, func(v string) bool {
		if rule.Label.Op == detect.Contains {
			return strings.Contains(label, v)
		}
		return label == v
	})
}
