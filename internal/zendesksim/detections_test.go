package zendesksim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// The data sets of `make sim` (5000 records) and `make run` (2000), seed
// 1, hold records each detection rule flags, and near misses; flagged
// records stay a small share, as in a real account.
func TestGeneratedDataHoldsRecordsEachRuleFlags(t *testing.T) {
	d, err := detect.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	to := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range []int{2000, 5000} {
		recs := zendesksim.New(zendesksim.Options{Seed: 1}).Generate(n, to.Add(-6*time.Hour), to)
		flagged := map[string]int{}
		total := 0
		for _, r := range recs {
			rule := d.Match(detect.Event{Action: r.Action, SourceType: r.SourceType, SourceLabel: r.SourceLabel, Body: r.ChangeDescription})
			if rule != nil {
				flagged[rule.Name]++
				total++
			}
		}
		for _, name := range detect.Names() {
			assert.Positive(t, flagged[name], "%d records: %s flags none", n, name)
		}
		assert.Less(t, total, n/10, "%d records: %d flagged %v", n, total, flagged)
		t.Logf("%d records: %d flagged %v", n, total, flagged)
	}
}
