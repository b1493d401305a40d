package zendeskauditlogsreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// flaggable are records of the simulator: by id, what a rule makes of them
// (the rule's name, or "" for none).
var flaggable = []struct {
	rec  zendesksim.Record
	rule string
}{
	{zendesksim.Record{ID: 101, Action: "create", SourceType: "api_token", SourceLabel: "API token"}, "api_token_created"},
	{zendesksim.Record{ID: 102, Action: "create", SourceType: "apitoken", SourceLabel: "API token"}, "api_token_created"},
	{zendesksim.Record{ID: 103, Action: "destroy", SourceType: "apitoken", SourceLabel: "API token"}, ""},
	{zendesksim.Record{ID: 104, Action: "update", SourceType: "account", SourceLabel: "Account", ChangeDescription: "Owner changed from Bob Cat to Mountain Lion"}, "account_owner_changed"},
	{zendesksim.Record{ID: 105, Action: "update", SourceType: "account_setting", SourceLabel: "Two-Factor authentication for all admins and agents", ChangeDescription: "Disabled"}, "two_factor_disabled"},
	{zendesksim.Record{ID: 106, Action: "update", SourceType: "account_setting", SourceLabel: "Two-Factor authentication for all admins and agents", ChangeDescription: "Enabled"}, ""},
	{zendesksim.Record{ID: 107, Action: "update", SourceType: "user", SourceLabel: "Bob Cat", ChangeDescription: "Explore role changed from not set to Admin\nGuide role changed from Viewer to Agent"}, "admin_role_assigned"},
	{zendesksim.Record{ID: 108, Action: "update", SourceType: "user", SourceLabel: "Bob Cat", ChangeDescription: "Role changed from Administrator to End User"}, ""},
	{zendesksim.Record{ID: 109, Action: "update", SourceType: "user_setting", SourceLabel: "Suspension state: Bob Cat", ChangeDescription: "Unsuspended"}, "user_unsuspended"},
}

func addFlaggable(t *testing.T, e *env) {
	at := e.ago(t, time.Hour)
	for i, f := range flaggable {
		r := f.rec
		r.CreatedAt = at.Add(time.Duration(i) * time.Second)
		r.ActorID, r.ActorName = 1234, "Sameer Patel"
		e.sim.Add(r)
	}
}

// deliveredByID runs the receiver over the flaggable records and returns
// what it delivered, by audit log id.
func deliveredByID(t *testing.T, e *env) map[int64]plog.LogRecord {
	t.Helper()
	addFlaggable(t, e)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)

	out := map[int64]plog.LogRecord{}
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			id, _ := lrs.At(i).Attributes().Get(convert.AttrID)
			out[id.Int()] = lrs.At(i)
		}
	}
	return out
}

func TestDeliveredRecordsCarrySeverityAndSecurityRule(t *testing.T) {
	e := newEnv(t)
	got := deliveredByID(t, e)
	wantSeverity := map[string]plog.SeverityNumber{
		"api_token_created": plog.SeverityNumberError, "account_owner_changed": plog.SeverityNumberError,
		"two_factor_disabled": plog.SeverityNumberError, "admin_role_assigned": plog.SeverityNumberWarn,
		"user_unsuspended": plog.SeverityNumberWarn, "": plog.SeverityNumberInfo,
	}
	for _, f := range flaggable {
		lr := got[f.rec.ID]
		assert.Equal(t, wantSeverity[f.rule], lr.SeverityNumber(), "record %d", f.rec.ID)
		name, flagged := lr.Attributes().Get(convert.AttrSecurityRuleName)
		if f.rule == "" {
			assert.False(t, flagged, "record %d is a near miss", f.rec.ID)
			assert.Equal(t, "INFO", lr.SeverityText())
			continue
		}
		require.True(t, flagged, "record %d", f.rec.ID)
		assert.Equal(t, f.rule, name.Str(), "record %d", f.rec.ID)
		ruleset, _ := lr.Attributes().Get(convert.AttrSecurityRuleRulesetName)
		assert.Equal(t, "zendesk_audit_logs", ruleset.Str())
		ref, _ := lr.Attributes().Get(convert.AttrSecurityRuleReference)
		assert.Contains(t, ref.Str(), "README.md#"+f.rule)
		_, hasCategory := lr.Attributes().Get(convert.AttrSecurityRuleCategory)
		assert.True(t, hasCategory)
	}
}

func TestDetectionsDisabledDeliversEveryRecordAtInfo(t *testing.T) {
	e := newEnv(t)
	e.cfg.Detections.Enabled = false
	for id, lr := range deliveredByID(t, e) {
		assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber(), "record %d", id)
		assert.Equal(t, "INFO", lr.SeverityText())
		_, flagged := lr.Attributes().Get(convert.AttrSecurityRuleName)
		assert.False(t, flagged, "record %d", id)
	}
}

func TestDisabledRulesFlagNothing(t *testing.T) {
	e := newEnv(t)
	e.cfg.Detections.DisabledRules = []string{"api_token_created", "user_unsuspended"}
	got := deliveredByID(t, e)
	for _, id := range []int64{101, 102, 109} {
		assert.Equal(t, plog.SeverityNumberInfo, got[id].SeverityNumber(), "record %d", id)
	}
	assert.Equal(t, plog.SeverityNumberError, got[104].SeverityNumber(), "the other rules stay on")
}
