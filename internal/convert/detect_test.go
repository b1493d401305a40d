package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

func newDetector(t testing.TB, disabled ...string) *detect.Detector {
	t.Helper()
	d, err := detect.New(disabled)
	require.NoError(t, err)
	return d
}

// readFlagged returns an API token created (high), an admin role given in
// another product (medium) and a demotion from admin (no rule).
func readFlagged(t *testing.T) []zendesk.AuditLog {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "flagged.json"))
	require.NoError(t, err)
	var page struct {
		AuditLogs []zendesk.AuditLog `json:"audit_logs"`
	}
	require.NoError(t, json.Unmarshal(b, &page))
	return page.AuditLogs
}

func TestFlaggedGolden(t *testing.T) {
	got := Logs(readFlagged(t), settings, observed)
	path := filepath.Join("testdata", "expected_flagged.yaml")
	if *update {
		require.NoError(t, golden.WriteLogs(t, path, got))
	}
	want, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))
}

func TestSeverityAndSecurityRule(t *testing.T) {
	lrs := Logs(readFlagged(t), settings, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len())

	high := lrs.At(0)
	assert.Equal(t, plog.SeverityNumberError, high.SeverityNumber())
	assert.Equal(t, int32(17), int32(high.SeverityNumber()))
	assert.Equal(t, "ERROR", high.SeverityText())
	attrs := high.Attributes().AsRaw()
	assert.Equal(t, "api_token_created", attrs["security_rule.name"])
	assert.Equal(t, "zendesk_audit_logs", attrs["security_rule.ruleset.name"])
	assert.Equal(t, "Credential Access", attrs["security_rule.category"])
	assert.Equal(t, detect.ReferenceBase+"api_token_created", attrs["security_rule.reference"])
	assert.Equal(t, "api_token", attrs[AttrSourceType], "the record's own attributes stay")

	medium := lrs.At(1)
	assert.Equal(t, plog.SeverityNumberWarn, medium.SeverityNumber())
	assert.Equal(t, int32(13), int32(medium.SeverityNumber()))
	assert.Equal(t, "WARN", medium.SeverityText())
	assert.Equal(t, "admin_role_assigned", medium.Attributes().AsRaw()["security_rule.name"])

	requireInfoWithoutRule(t, lrs.At(2))
}

func TestDetectionsOffLeavesEveryRecordAtInfo(t *testing.T) {
	s := settings
	s.Detector = nil
	lrs := Logs(readFlagged(t), s, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len())
	for i := range lrs.Len() {
		requireInfoWithoutRule(t, lrs.At(i))
	}
}

func TestDisabledRuleLeavesItsRecordsAtInfo(t *testing.T) {
	s := settings
	s.Detector = newDetector(t, "api_token_created")
	lrs := Logs(readFlagged(t), s, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	requireInfoWithoutRule(t, lrs.At(0))
	assert.Equal(t, plog.SeverityNumberWarn, lrs.At(1).SeverityNumber(), "the other rules stay on")
}

func requireInfoWithoutRule(t *testing.T, lr plog.LogRecord) {
	t.Helper()
	assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
	assert.Equal(t, int32(9), int32(lr.SeverityNumber()))
	assert.Equal(t, "INFO", lr.SeverityText())
	for k := range lr.Attributes().All() {
		assert.NotContains(t, k, "security_rule.")
	}
}

// A flagged record's attributes are allocated once, the security_rule ones
// counted in: flagging a record costs the four attribute values and
// nothing more (no second, larger allocation of its attributes).
func TestAFlaggedRecordsAttributesAreAllocatedOnce(t *testing.T) {
	flagged := readFlagged(t)[:1] // api_token_created
	s := settings
	s.Detector = newDetector(t)
	require.Equal(t, "api_token_created", s.Detector.MatchAuditLog(&flagged[0]).Name)
	on := testing.AllocsPerRun(200, func() { Logs(flagged, s, observed) })
	s.Detector = nil
	off := testing.AllocsPerRun(200, func() { Logs(flagged, s, observed) })
	assert.Equal(t, float64(ruleAttrCount(&detect.Rule{})), on-off,
		"allocations of one flagged record beyond the same record unflagged")
}
