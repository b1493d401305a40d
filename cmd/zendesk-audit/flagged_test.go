package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// flaggedRecords are records the detection rules flag (2001-2003) and a
// near miss (2004), after the hand records.
func flaggedRecords() []zendesksim.Record {
	rec := func(id int64, minute int, action, typ, label, desc string) zendesksim.Record {
		return zendesksim.Record{
			ID: id, CreatedAt: base.Add(time.Duration(minute) * time.Minute),
			Action: action, ActionLabel: "Updated", ActorID: 501, ActorName: "Sameer Patel", IPAddress: ptr("203.0.113.17"),
			SourceType: typ, SourceID: 7000 + id, SourceLabel: label, ChangeDescription: desc,
		}
	}
	return []zendesksim.Record{
		rec(2001, 10, "create", "api_token", "API token", ""),
		rec(2002, 11, "update", "user", "John Doe", "Explore role changed from not set to Admin\nGuide role changed from Viewer to Agent"),
		rec(2003, 12, "update", "account_setting", "Two-Factor authentication for all admins and agents", "Disabled"),
		rec(2004, 13, "update", "user", "John Doe", "Role changed from Administrator to End User"),
	}
}

func newFlaggedAPI(t *testing.T) *testAPI {
	a := newHandAPI(t)
	a.sim.Add(flaggedRecords()...)
	return a
}

func TestListFlaggedListsOnlyFlaggedRecords(t *testing.T) {
	a := newFlaggedAPI(t)
	r := a.run(t, "list", "--flagged", "--sort", "asc")
	require.Equal(t, 0, r.code, r.stderr)
	recs := parseLines(t, r.stdout)
	assert.Equal(t, []int64{2001, 2002, 2003}, ids(recs), "the demotion (2004) and the hand records are not flagged")

	type flagged struct{ rule, severity string }
	var got []flagged
	for _, rec := range recs {
		sr, ok := rec["security_rule"].(map[string]any)
		require.True(t, ok, "a flagged line carries its rule: %v", rec)
		got = append(got, flagged{sr["name"].(string), rec["severity"].(string)})
		assert.Contains(t, sr["reference"], "README.md#"+sr["name"].(string))
		assert.NotEmpty(t, sr["category"])
	}
	assert.Equal(t, []flagged{{"api_token_created", "ERROR"}, {"admin_role_assigned", "WARN"}, {"two_factor_disabled", "ERROR"}}, got)
	// The record's own members stay as the API sent them.
	assert.Equal(t, "api_token", recs[0]["source_type"])
	assert.Equal(t, "", recs[0]["change_description"])
}

func TestListJSONLinesCarrySeverity(t *testing.T) {
	a := newFlaggedAPI(t)
	r := a.run(t, "list", "--sort", "asc")
	require.Equal(t, 0, r.code, r.stderr)
	recs := parseLines(t, r.stdout)
	require.Len(t, recs, 12)
	for _, rec := range recs {
		id := int64(rec["id"].(float64))
		if id >= 2001 && id <= 2003 {
			assert.Contains(t, rec, "security_rule")
			continue
		}
		assert.Equal(t, "INFO", rec["severity"], "record %d", id)
		assert.NotContains(t, rec, "security_rule", "record %d", id)
	}
}

func TestListFlaggedTableGolden(t *testing.T) {
	a := newFlaggedAPI(t)
	r := a.run(t, "list", "--flagged", "--output", "table")
	require.Equal(t, 0, r.code, r.stderr)
	checkGolden(t, "list_table_flagged.golden", r.stdout)
}

func TestListFlaggedLimitCountsFlaggedRecords(t *testing.T) {
	a := newFlaggedAPI(t)
	r := a.run(t, "list", "--flagged", "--sort", "asc", "--limit", "2", "--max-requests-per-minute", "0")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []int64{2001, 2002}, ids(parseLines(t, r.stdout)))
	assert.Equal(t, 1, a.sim.Stats().ListRequests, "the page size is not cut to the limit: most records are not flagged")
}

// What dangerous changes happened in the last 7 days?
func TestListFlaggedSince7d(t *testing.T) {
	a := newTestAPI(t, zendesksim.Options{Seed: 1})
	now := time.Now().UTC()
	a.sim.Add(
		zendesksim.Record{ID: 1, Action: "create", SourceType: "apitoken", CreatedAt: now.Add(-8 * 24 * time.Hour)},
		zendesksim.Record{ID: 2, Action: "update", SourceType: "account", ChangeDescription: "Owner changed from A to B", CreatedAt: now.Add(-6 * 24 * time.Hour)},
		zendesksim.Record{ID: 3, Action: "update", SourceType: "user", ChangeDescription: "Name changed from A to B", CreatedAt: now.Add(-time.Hour)},
		zendesksim.Record{ID: 4, Action: "update", SourceType: "user_setting", ChangeDescription: "Unsuspended", CreatedAt: now.Add(-time.Hour)},
	)
	r := a.run(t, "list", "--flagged", "--since", "7d", "--sort", "asc")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []int64{2, 4}, ids(parseLines(t, r.stdout)), "flagged, and inside the 7 days")
}

// show says what list says of a record: the severity the receiver gives it
// and the rule that flags it, in JSON and in the table.
func TestShowCarriesSeverityAndRule(t *testing.T) {
	a := newFlaggedAPI(t)

	r := a.run(t, "show", "2001")
	require.Equal(t, 0, r.code, r.stderr)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, "ERROR", rec["severity"])
	sr, ok := rec["security_rule"].(map[string]any)
	require.True(t, ok, "a flagged record carries its rule: %v", rec)
	assert.Equal(t, "api_token_created", sr["name"])
	assert.Contains(t, sr["reference"], "README.md#api_token_created")
	assert.Equal(t, "api_token", rec["source_type"], "the record's own members stay")

	r = a.run(t, "show", "2004") // the near miss: a demotion
	require.Equal(t, 0, r.code, r.stderr)
	rec = nil
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, "INFO", rec["severity"])
	assert.NotContains(t, rec, "security_rule")

	r = a.run(t, "show", "2002", "--output", "table")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "SEVERITY     WARN\n")
	assert.Contains(t, r.stdout, "RULE         admin_role_assigned (")
	r = a.run(t, "show", "2004", "--output", "table")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "SEVERITY     INFO\nRULE         -\n")
}
