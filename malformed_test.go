package zendeskauditlogsreceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadatatest"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// records returns every log record the sink received.
func records(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			out = append(out, lrs.At(i))
		}
	}
	return out
}

// Schema drift: records with a field of an unexpected JSON type (each kind
// of the simulator's) are delivered with that field's value, of its own
// type, under the usual attribute; they are counted and warned about (once:
// the warning is rate-limited), and the records after them are delivered as
// usual, each once.
func TestMistypedRecordsAreDeliveredCountedAndDoNotStopTheOthers(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{MistypedFraction: 0.2}, nil)
	now := time.Now()
	e.sim.Generate(600, now.Add(-2*time.Hour), now.Add(-time.Minute))
	mistyped := map[int64]string{} // id -> field
	for _, r := range e.sim.Records() {
		for field := range r.Extra {
			mistyped[r.ID] = field
		}
	}
	require.Greater(t, len(mistyped), 80)

	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e.set = metadatatest.NewSettings(tel)
	core, logs := observer.New(zapcore.InfoLevel)
	e.set.Logger = zap.New(core)

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	requireExactly(t, simIDs(e.sim), sink)
	require.NoError(t, r.Shutdown(context.Background()))

	wantType := map[string]pcommon.ValueType{
		convert.AttrActorID:       pcommon.ValueTypeStr,
		convert.AttrSourceID:      pcommon.ValueTypeStr,
		convert.AttrAction:        pcommon.ValueTypeSlice,
		convert.AttrClientAddress: pcommon.ValueTypeMap,
	}
	attrOf := map[string]string{
		"actor_id": convert.AttrActorID, "source_id": convert.AttrSourceID,
		"action": convert.AttrAction, "ip_address": convert.AttrClientAddress,
	}
	seen := map[string]int{}
	for _, lr := range records(sink) {
		id, _ := lr.Attributes().Get(convert.AttrID)
		field, drifted := mistyped[id.Int()]
		for attr, typ := range wantType {
			v, ok := lr.Attributes().Get(attr)
			if !ok {
				continue // a system actor has no ip_address
			}
			if drifted && attrOf[field] == attr {
				assert.Equal(t, typ, v.Type(), "record %d: %s keeps the type it was sent with", id.Int(), attr)
				seen[field]++
			} else if attr == convert.AttrActorID || attr == convert.AttrSourceID {
				assert.Equal(t, pcommon.ValueTypeInt, v.Type(), "record %d: %s", id.Int(), attr)
			} else {
				assert.NotEqual(t, typ, v.Type(), "record %d: %s", id.Int(), attr)
			}
		}
		assert.NotZero(t, lr.Timestamp(), "every field that decodes is mapped as usual")
	}
	for _, kind := range zendesksim.MistypedKinds() {
		assert.Positive(t, seen[kind.Field], "records with %s of type %s", kind.Field, kind.JSONType)
	}
	if v, ok := lookup(records(sink), mistypedOf(mistyped, "actor_id"), convert.AttrActorID); assert.True(t, ok) {
		assert.Equal(t, "system", v.Str())
	}
	if v, ok := lookup(records(sink), mistypedOf(mistyped, "ip_address"), convert.AttrClientAddress); assert.True(t, ok) {
		_, hasV4 := v.Map().Get("v4")
		assert.True(t, hasV4)
	}

	metadatatest.AssertEqualZendeskAuditLogsRecordsMalformed(t, tel,
		[]metricdata.DataPoint[int64]{{Attributes: e.metricAttrs(), Value: int64(len(mistyped))}}, metricdatatest.IgnoreTimestamp())

	warnings := logs.FilterMessageSnippet("unexpected JSON type").All()
	require.Len(t, warnings, 1, "one warning a minute at most")
	w := warnings[0].ContextMap()
	id, err := strconv.ParseInt(w["record_id"].(string), 10, 64)
	require.NoError(t, err)
	field := mistyped[id]
	require.NotEmpty(t, field, "the warning names a mistyped record")
	require.Len(t, w["fields"], 1)
	assert.Contains(t, w["fields"].([]any)[0], field+": "+kindOf(field)+", not ")
	text := fmt.Sprint(w)
	for _, rec := range e.sim.Records() {
		if rec.ID == id {
			assert.NotContains(t, text, rec.ActorName, "never the record's content")
			assert.NotContains(t, text, rec.SourceLabel, "never the record's content")
		}
	}
}

func kindOf(field string) string {
	for _, k := range zendesksim.MistypedKinds() {
		if k.Field == field {
			return k.JSONType
		}
	}
	return ""
}

func mistypedOf(mistyped map[int64]string, field string) int64 {
	for id, f := range mistyped {
		if f == field {
			return id
		}
	}
	return 0
}

func lookup(lrs []plog.LogRecord, id int64, attr string) (pcommon.Value, bool) {
	for _, lr := range lrs {
		if v, ok := lr.Attributes().Get(convert.AttrID); ok && v.Int() == id {
			return lr.Attributes().Get(attr)
		}
	}
	return pcommon.Value{}, false
}

// A record whose id or created_at is of an unexpected type is delivered,
// counted, and does not move the checkpoint: the records around it do.
func TestRecordsWithoutUsableIDOrTimeAreDeliveredWithoutMovingTheCheckpoint(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	at := now.Add(-30 * time.Minute)
	e.sim.Add(
		zendesksim.Record{ID: 100, Action: "update", CreatedAt: at.Add(-time.Second)},
		zendesksim.Record{ID: 101, Action: "update", CreatedAt: at, Extra: map[string]any{"id": "n/a"}},
		zendesksim.Record{ID: 102, Action: "update", CreatedAt: at, Extra: map[string]any{"created_at": at.Unix()}},
		zendesksim.Record{ID: 103, Action: "update", CreatedAt: at.Add(time.Second)},
	)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e.set = metadatatest.NewSettings(tel)
	e.set.Logger = zap.New(zapcore.NewNopCore())

	sink := new(consumertest.LogsSink)
	r, err := newLogsReceiver(e.cfg, e.set, sink, newReadAheadPool(defaultReadAheadPages))
	require.NoError(t, err)
	r.now = func() time.Time { return now }
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 4 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	lrs := records(sink)
	got := map[string]pcommon.Value{}
	for _, lr := range lrs {
		if v, ok := lr.Attributes().Get(convert.AttrID); ok && v.Type() == pcommon.ValueTypeStr {
			got["id"] = v
		}
		if v, ok := lr.Attributes().Get(convert.AttributePrefix + "created_at"); ok {
			got["created_at"] = v
			assert.Zero(t, lr.Timestamp())
		}
	}
	assert.Equal(t, "n/a", got["id"].Str())
	assert.Equal(t, at.Unix(), got["created_at"].Int())
	metadatatest.AssertEqualZendeskAuditLogsRecordsMalformed(t, tel,
		[]metricdata.DataPoint[int64]{{Attributes: e.metricAttrs(), Value: 2}}, metricdatatest.IgnoreTimestamp())

	// The poll read its window to the end: the checkpoint is there, and
	// holds no id of the mistyped records.
	assert.Equal(t, now, r.pos.Second)
	assert.Empty(t, r.pos.IDs())
}

// A page that is not JSON (HTML with status 200, a body cut short) is a
// retryable error: nothing of it is delivered, and once the API answers
// properly every record arrives, once.
func TestNonJSONPageIsRetriedAndDeliversNothing(t *testing.T) {
	for name, spoil := range map[string]func([]byte) []byte{
		"HTML":      func([]byte) []byte { return []byte("<html><body>Maintenance</body></html>") },
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			s := &spoiler{spoil: spoil}
			e := newEnvWith(t, zendesksim.Options{}, s.wrap)
			e.sim.Generate(250, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
			sink := new(consumertest.LogsSink)
			r := e.start(t, sink, componenttest.NewNopHost())
			defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

			// The first page is delivered; the second is spoiled until the
			// client has retried it.
			require.Eventually(t, func() bool { return s.spoiled() >= 2 }, 10*time.Second, 10*time.Millisecond)
			assert.Equal(t, 100, sink.LogRecordCount(), "nothing of the spoiled page")
			s.stop()
			requireExactly(t, simIDs(e.sim), sink)
		})
	}
}

// spoiler spoils every list response after the first while it is on.
type spoiler struct {
	spoil func([]byte) []byte
	mu    sync.Mutex
	lists int
	n     int
	off   bool
}

func (s *spoiler) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		s.mu.Lock()
		if strings.HasPrefix(r.URL.Path, "/api/v2/audit_logs") && rec.Code == http.StatusOK {
			s.lists++
			if s.lists > 1 && !s.off {
				body = s.spoil(body)
				s.n++
			}
		}
		s.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func (s *spoiler) spoiled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *spoiler) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off = true
}

// The warning about mistyped records comes at most once a minute and says
// how many records it did not name; the metric counts every one.
func TestMalformedWarningIsRateLimited(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	tb, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	core, logs := observer.New(zapcore.InfoLevel)
	m := &malformedReporter{logger: zap.New(core), counter: tb.ZendeskAuditLogsRecordsMalformed, attrs: metric.WithAttributeSet(attribute.NewSet())}

	bad := func(id int64) zendesk.AuditLog {
		return zendesk.AuditLog{
			ID:       zendesk.Some(id),
			Extra:    map[string]jsontext.Value{"actor_id": jsontext.Value(`"system"`)},
			Mistyped: []zendesk.MistypedField{{Name: "actor_id", Got: "string", Want: "an integer"}},
		}
	}
	good := zendesk.AuditLog{ID: zendesk.Some(int64(9))}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()

	m.delivered(ctx, []zendesk.AuditLog{good}, t0)
	assert.Zero(t, logs.Len(), "nothing to say about well-typed records")
	m.delivered(ctx, []zendesk.AuditLog{good, bad(1), bad(2)}, t0)
	m.delivered(ctx, []zendesk.AuditLog{bad(3)}, t0.Add(30*time.Second))
	m.delivered(ctx, []zendesk.AuditLog{bad(4), good}, t0.Add(59*time.Second))
	require.Equal(t, 1, logs.Len())
	m.delivered(ctx, []zendesk.AuditLog{bad(5)}, t0.Add(61*time.Second))
	require.Equal(t, 2, logs.Len())

	first, second := logs.All()[0].ContextMap(), logs.All()[1].ContextMap()
	assert.Equal(t, "1", first["record_id"])
	assert.Equal(t, []any{"actor_id: string, not an integer"}, first["fields"])
	assert.EqualValues(t, 0, first["records_not_warned_about_since_last_warning"])
	assert.Equal(t, "5", second["record_id"])
	assert.EqualValues(t, 3, second["records_not_warned_about_since_last_warning"], "records 2, 3 and 4")
	assert.Equal(t, zapcore.WarnLevel, logs.All()[0].Level)

	metadatatest.AssertEqualZendeskAuditLogsRecordsMalformed(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())

	// An id of an unexpected type is named as sent, cut short.
	long := zendesk.AuditLog{Extra: map[string]jsontext.Value{"id": jsontext.Value(`"` + strings.Repeat("x", 100) + `"`)}}
	assert.Equal(t, `"`+strings.Repeat("x", 63)+"…", recordID(&long))
	assert.Equal(t, "absent", recordID(&zendesk.AuditLog{}))
}

// A page whose audit_logs holds an element that is not a JSON object (drift
// of the whole record) is JSON all the same: the element is delivered, its
// value the body, and counted; the records around it are delivered as
// usual, each once, and the receiver goes on.
func TestARecordThatIsNotAnObjectIsDeliveredAndDoesNotStopTheOthers(t *testing.T) {
	s := &spoiler{spoil: func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"audit_logs":[`, `"audit_logs":["drift",`, 1))
	}}
	e := newEnvWith(t, zendesksim.Options{}, s.wrap)
	e.sim.Generate(250, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e.set = metadatatest.NewSettings(tel)

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())

	// placed splits what was delivered: the records with an id, and the
	// number of those without (the drifted elements).
	placed := func() (got []int64, drifted int) {
		for _, lr := range records(sink) {
			if id, ok := lr.Attributes().Get(convert.AttrID); ok {
				got = append(got, id.Int())
				continue
			}
			assert.Equal(t, "drift", lr.Body().AsRaw())
			drifted++
		}
		return sorted(got), drifted
	}
	want := simIDs(e.sim)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, _ := placed()
		assert.Equal(c, want, got, "every record exactly once")
	}, 20*time.Second, 10*time.Millisecond)
	// The counter moves once ConsumeLogs returned: after the sink has the
	// page. Once the poll has stopped, both are final.
	require.NoError(t, r.Shutdown(context.Background()))
	_, drifted := placed()
	require.Positive(t, drifted, "the element that is not an object was delivered")
	metadatatest.AssertEqualZendeskAuditLogsRecordsMalformed(t, tel,
		[]metricdata.DataPoint[int64]{{Attributes: e.metricAttrs(), Value: int64(drifted)}}, metricdatatest.IgnoreTimestamp())
}
