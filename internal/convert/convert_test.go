package convert

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var settings = Settings{
	Resource:     resource(map[string]any{"zendesk.subdomain": "acme", "server.address": "acme.zendesk.com"}),
	ScopeName:    "github.com/zendesk-audit-otel/zendeskauditlogsreceiver",
	ScopeVersion: "1.2.3",
	Detector:     mustDetector(),
}

func resource(attrs map[string]any) pcommon.Resource {
	r := pcommon.NewResource()
	if err := r.Attributes().FromRaw(attrs); err != nil {
		panic(err)
	}
	return r
}

// mustDetector is the receiver's default: every rule on.
func mustDetector() *detect.Detector {
	d, err := detect.New(nil)
	if err != nil {
		panic(err)
	}
	return d
}

var observed = time.Date(2024, 5, 1, 11, 35, 0, 0, time.UTC)

func readPage(t *testing.T) []zendesk.AuditLog {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "page.json"))
	require.NoError(t, err)
	page, err := zendesk.DecodeCursorPage(b)
	require.NoError(t, err)
	return page.AuditLogs
}

func TestLogsGolden(t *testing.T) {
	got := Logs(readPage(t), settings, observed)
	path := filepath.Join("testdata", "expected.yaml")
	if *update {
		require.NoError(t, golden.WriteLogs(t, path, got))
	}
	want, err := golden.ReadLogs(path)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))
}

func TestLogsMapping(t *testing.T) {
	ld := Logs(readPage(t), settings, observed)
	require.Equal(t, 1, ld.ResourceLogs().Len())
	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{"zendesk.subdomain": "acme", "server.address": "acme.zendesk.com"}, rl.Resource().Attributes().AsRaw())
	assert.Equal(t, "https://opentelemetry.io/schemas/1.38.0", rl.SchemaUrl())
	sl := rl.ScopeLogs().At(0)
	assert.Equal(t, settings.ScopeName, sl.Scope().Name())
	lrs := sl.LogRecords()
	require.Equal(t, 3, lrs.Len())

	first := lrs.At(0)
	assert.Equal(t, EventName, first.EventName())
	assert.Equal(t, time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC), first.Timestamp().AsTime())
	assert.Equal(t, observed, first.ObservedTimestamp().AsTime())
	assert.Equal(t, "Role changed from Administrator to End User", first.Body().Str())
	assert.Equal(t, map[string]any{
		"zendesk.audit_log.id":           int64(498483000001),
		"log.record.uid":                 "498483000001",
		"zendesk.audit_log.action":       "update",
		"zendesk.audit_log.action_label": "Updated",
		"zendesk.audit_log.actor.id":     int64(1234),
		"zendesk.audit_log.actor.name":   "Sameer Patel",
		"zendesk.audit_log.source.id":    int64(3456),
		"zendesk.audit_log.source.type":  "user",
		"zendesk.audit_log.source.label": "John Doe",
		"client.address":                 "209.119.38.228",
		"zendesk.audit_log.url":          "https://acme.zendesk.com/api/v2/audit_logs/498483000001.json",
	}, first.Attributes().AsRaw())

	system := lrs.At(1)
	_, hasIP := system.Attributes().Get("client.address")
	assert.False(t, hasIP, "a null ip_address (system actor) is left out")
	assert.Equal(t, pcommon.ValueTypeStr, system.Body().Type(), "an empty description is still a string body")
	assert.Empty(t, system.Body().Str())

	unknown := lrs.At(2).Attributes().AsRaw()
	assert.Equal(t, int64(12), unknown["zendesk.audit_log.ticket_count"])
	assert.Equal(t, 0.5, unknown["zendesk.audit_log.ratio"])
	assert.Equal(t, true, unknown["zendesk.audit_log.flagged"])
	assert.Equal(t, map[string]any{"from": "a", "to": []any{"b", "c"}}, unknown["zendesk.audit_log.details"])
	assert.NotContains(t, unknown, "zendesk.audit_log.nothing", "null unknown fields are left out")
	assert.NotContains(t, unknown, "zendesk.audit_log.url", "absent fields are left out")
	assert.Equal(t, "line one\nline two", lrs.At(2).Body().Str())
}

func TestEveryRecordWithAnIDHasItAsLogRecordUID(t *testing.T) {
	records := readPage(t)
	records = append(records, zendesk.AuditLog{}) // no id: nothing to name it by
	lrs := Logs(records, settings, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 4, lrs.Len())
	for i := range 3 {
		id, ok := lrs.At(i).Attributes().Get(AttrID)
		require.True(t, ok)
		uid, ok := lrs.At(i).Attributes().Get(AttrLogRecordUID)
		require.True(t, ok, "record %d", i)
		assert.Equal(t, pcommon.ValueTypeStr, uid.Type())
		assert.Equal(t, strconv.FormatInt(id.Int(), 10), uid.Str())
	}
	_, ok := lrs.At(3).Attributes().Get(AttrLogRecordUID)
	assert.False(t, ok, "a record without id has no log.record.uid")
}

func TestLogsCopiesTheResource(t *testing.T) {
	s := settings
	s.Resource = resource(map[string]any{"server.address": "acme.zendesk.com"})
	ld := Logs(nil, s, observed)
	got := ld.ResourceLogs().At(0).Resource()
	assert.Equal(t, map[string]any{"server.address": "acme.zendesk.com"}, got.Attributes().AsRaw())
	got.Attributes().PutStr("changed", "by a processor")
	assert.Equal(t, 1, s.Resource.Attributes().Len(), "each plog.Logs has its own copy")
	assert.Zero(t, ld.LogRecordCount())

	s.Resource = pcommon.Resource{}
	assert.Zero(t, Logs(nil, s, observed).ResourceLogs().At(0).Resource().Attributes().Len(), "the zero Resource is an empty one")
}

// A field of an unexpected JSON type keeps its value, with that value's
// own type, under the attribute the field always has; everything else of
// the record is mapped as usual.
func TestMistypedFieldsKeepTheirValueUnderTheirAttribute(t *testing.T) {
	const base = `"id":498483000001,"action":"update","actor_id":1234,"source_id":3456,"ip_address":"192.0.2.1",` +
		`"url":"https://acme.zendesk.com/api/v2/audit_logs/498483000001.json","change_description":"d","created_at":"2024-05-01T11:32:44Z"`
	for _, tc := range []struct {
		name, member, value, attr string
		want                      any
	}{
		{"actor_id as a string", "actor_id", `"system"`, AttrActorID, "system"},
		{"source_id as a string", "source_id", `"n/a"`, AttrSourceID, "n/a"},
		{"action as an array", "action", `["update","bulk"]`, AttrAction, []any{"update", "bulk"}},
		{"ip_address as an object", "ip_address", `{"v4":"203.0.113.9"}`, AttrClientAddress, map[string]any{"v4": "203.0.113.9"}},
		{"id as a string", "id", `"498483000001"`, AttrID, "498483000001"},
		{"id as a fraction", "id", `1.5`, AttrID, 1.5},
		{"id beyond int64", "id", `9223372036854775808`, AttrID, 9223372036854775808.0},
		{"url as a boolean", "url", `false`, AttrURL, false},
		{"created_at as a number", "created_at", `1714563164`, AttributePrefix + "created_at", int64(1714563164)},
		{"created_at unparseable", "created_at", `"yesterday"`, AttributePrefix + "created_at", "yesterday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[{` + base + `,"` + tc.member + `":` + tc.value + `}]}`))
			require.NoError(t, err)
			require.Len(t, page.AuditLogs[0].Mistyped, 1)
			lr := Logs(page.AuditLogs, settings, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			attrs := lr.Attributes().AsRaw()
			assert.Equal(t, tc.want, attrs[tc.attr])
			want := 6 // id, action, actor, source, ip_address and url
			if tc.member != "id" {
				want++ // log.record.uid, made only of an integer id
			} else {
				assert.NotContains(t, attrs, AttrLogRecordUID)
			}
			if tc.member == "created_at" {
				want++ // created_at, which is no attribute when it is a time
			}
			assert.Len(t, attrs, want, "every other field is there: %v", attrs)
			if tc.attr != AttributePrefix+tc.member {
				assert.NotContains(t, attrs, AttributePrefix+tc.member, "not under the JSON name")
			}
			assert.Equal(t, "d", lr.Body().Str())
			if tc.member == "created_at" {
				assert.Zero(t, lr.Timestamp(), "no time to set")
			} else {
				assert.Equal(t, time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC), lr.Timestamp().AsTime())
			}
		})
	}

	t.Run("change_description as an object is the body", func(t *testing.T) {
		page, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[{` + base + `,"change_description":{"before":"a","after":["b",1]}}]}`))
		require.NoError(t, err)
		lr := Logs(page.AuditLogs, settings, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		assert.Equal(t, pcommon.ValueTypeMap, lr.Body().Type())
		assert.Equal(t, map[string]any{"before": "a", "after": []any{"b", int64(1)}}, lr.Body().Map().AsRaw())
		assert.NotContains(t, lr.Attributes().AsRaw(), AttributePrefix+"change_description")
	})
}

// A record that is not a JSON object is delivered: its value, with its own
// type, is the body, and it has no attributes.
func TestARecordThatIsNotAnObjectIsTheBody(t *testing.T) {
	page, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":["user 7 deleted",[{"v":1},2],3]}`))
	require.NoError(t, err)
	lrs := Logs(page.AuditLogs, settings, observed).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, lrs.Len())
	for i, want := range []any{"user 7 deleted", []any{map[string]any{"v": int64(1)}, int64(2)}, int64(3)} {
		lr := lrs.At(i)
		assert.Equal(t, want, lr.Body().AsRaw(), "record %d", i)
		assert.Zero(t, lr.Attributes().Len(), "record %d", i)
		assert.Zero(t, lr.Timestamp(), "record %d", i)
		assert.Equal(t, EventName, lr.EventName())
	}
}
