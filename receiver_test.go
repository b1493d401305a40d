package zendeskauditlogsreceiver

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadatatest"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	testEmail = "admin@example.com"
	testToken = "s3cr3t-api-token"
)

// env is a simulator, a receiver config pointing at it, and settings that
// stay the same across restarts (the storage key depends on the ID).
type env struct {
	sim  *zendesksim.Server
	url  string
	cfg  *Config
	set  receiver.Settings
	logs *observer.ObservedLogs
	// now is the instant the test's records are placed from (see
	// testtime_test.go).
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, zendesksim.Options{}, nil)
}

// newEnvWith is newEnv with simulator options (credentials are set here,
// and the seed unless given) and, unless nil, a handler wrapped around
// the simulator.
func newEnvWith(t *testing.T, opts zendesksim.Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	opts.Email, opts.APIToken = testEmail, testToken
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	sim := zendesksim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = srv.URL
	cfg.Email = testEmail
	cfg.APIToken = testToken
	cfg.PollInterval = time.Hour // only the poll at start, unless a test says otherwise
	now := time.Now()
	setTestTimes(cfg, now)
	cfg.MaxRequestsPerMinute = 0
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 50 * time.Millisecond
	require.NoError(t, cfg.Validate())

	core, logs := observer.New(zapcore.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	return &env{sim: sim, url: srv.URL, cfg: cfg, set: set, logs: logs, now: now}
}

func (e *env) start(t *testing.T, next consumer.Logs, host component.Host) *logsReceiver {
	t.Helper()
	r, err := newLogsReceiver(e.cfg, e.set, next, newReadAheadPool(defaultReadAheadPages))
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	return r
}

func ids(ld []plog.Logs) []int64 {
	var out []int64
	for _, l := range ld {
		rls := l.ResourceLogs()
		for i := range rls.Len() {
			sls := rls.At(i).ScopeLogs()
			for j := range sls.Len() {
				lrs := sls.At(j).LogRecords()
				for k := range lrs.Len() {
					v, _ := lrs.At(k).Attributes().Get(convert.AttrID)
					out = append(out, v.Int())
				}
			}
		}
	}
	return out
}

func simIDs(sim *zendesksim.Server) []int64 {
	var out []int64
	for _, r := range sim.Records() {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s []int64) []int64 { s = slices.Clone(s); slices.Sort(s); return s }

// requireExactly asserts every record of the simulator was delivered once.
func requireExactly(t *testing.T, want []int64, sink *consumertest.LogsSink) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, len(want), sink.LogRecordCount())
	}, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, want, sorted(ids(sink.AllLogs())), "each record exactly once")
}

func TestDrainsBacklogExactlyOnceInTheFirstPoll(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 1200, 2*time.Hour, time.Minute)
	e.sim.GenerateBurst(350, e.ago(t, 90*time.Minute)) // a second with more records than 3 pages

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	// poll_interval is an hour: everything arrives in the poll at start.
	requireExactly(t, simIDs(e.sim), sink)
	for _, ld := range sink.AllLogs() {
		assert.LessOrEqual(t, ld.LogRecordCount(), e.cfg.PageSize, "one ConsumeLogs per page")
	}
	assert.Zero(t, e.sim.Stats().OversizePageRequests)
}

// Every record delivered holds its own fields, whatever the receiver
// decodes later: the pages it reads are decoded into pages it delivered
// before (zendesk.Client.Recycle), and nothing of a later page may show in
// a record handed on.
func TestEveryDeliveredRecordKeepsItsOwnFields(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 1500, 2*time.Hour, time.Minute)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)

	byID := map[int64]zendesksim.Record{}
	for _, rec := range e.sim.Records() {
		byID[rec.ID] = rec
	}
	str := func(m pcommon.Map, k string) string { v, _ := m.Get(k); return v.Str() }
	checked := 0
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			lr := lrs.At(i)
			id, _ := lr.Attributes().Get(convert.AttrID)
			want := byID[id.Int()]
			assert.Equal(t, want.ChangeDescription, lr.Body().Str(), "record %d", want.ID)
			assert.Equal(t, want.Action, str(lr.Attributes(), convert.AttrAction), "record %d", want.ID)
			assert.Equal(t, want.ActorName, str(lr.Attributes(), convert.AttrActorName), "record %d", want.ID)
			assert.Equal(t, want.SourceLabel, str(lr.Attributes(), convert.AttrSourceLabel), "record %d", want.ID)
			assert.Equal(t, strconv.FormatInt(want.ID, 10), str(lr.Attributes(), convert.AttrLogRecordUID), "record %d", want.ID)
			checked++
		}
	}
	assert.Equal(t, 1500, checked)
}

func TestPollsAgainWithoutRepeating(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = time.Second
	e.backlog(t, 300, time.Hour, 10*time.Second)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)

	// New records while it polls: some in the second the position is in,
	// more in later seconds.
	for range 3 {
		e.sim.GenerateBurst(5, time.Now())
		requireExactly(t, simIDs(e.sim), sink)
	}

	// Caught up: later polls deliver nothing more.
	before := e.sim.Stats().ListRequests
	require.Eventually(t, func() bool { return e.sim.Stats().ListRequests >= before+2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, len(simIDs(e.sim)), sink.LogRecordCount())
}

func TestLateArrivalsInsideSettleDelayAreNotMissed(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = time.Second
	e.cfg.SettleDelay = 3 * time.Second
	e.backlog(t, 200, time.Hour, time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	// Half the live records are indexed up to 2s after their created_at.
	e.sim.StartLive(ctx, 40, 0.5, 2*time.Second)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return len(e.sim.Records()) > 300 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	e.sim.Wait()
	requireExactly(t, simIDs(e.sim), sink)
}

// flakyConsumer refuses the first n pages with err, then delivers to sink.
type flakyConsumer struct {
	consumertest.LogsSink
	mu       sync.Mutex
	failures int
	err      error
	refused  int
}

func (f *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	f.mu.Lock()
	if f.refused < f.failures {
		f.refused++
		f.mu.Unlock()
		return f.err
	}
	f.mu.Unlock()
	return f.LogsSink.ConsumeLogs(ctx, ld)
}

func TestRetryableConsumerErrorLosesAndRepeatsNothing(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 450, time.Hour, time.Minute)
	next := &flakyConsumer{failures: 5, err: errors.New("memory limiter: data refused")}
	r := e.start(t, next, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireExactly(t, simIDs(e.sim), &next.LogsSink)
	assert.Equal(t, 5, next.refused)
	assert.NotEmpty(t, e.logs.FilterMessageSnippet("retryable error").All())
}

func TestPermanentConsumerErrorDropsThePageAndSaysSo(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 250, time.Hour, time.Minute)
	tel := withTelemetry(t, e)
	next := &flakyConsumer{failures: 1, err: consumererror.NewPermanent(errors.New("bad data"))}
	r := e.start(t, next, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	all := simIDs(e.sim)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, len(all)-100, next.LogRecordCount())
	}, 10*time.Second, 10*time.Millisecond)
	dropped := e.logs.FilterMessageSnippet("Dropping audit logs").All()
	require.Len(t, dropped, 1)
	assert.Equal(t, int64(100), dropped[0].ContextMap()["dropped_records"])
	metadatatest.AssertEqualZendeskAuditLogsRecordsDropped(t, tel,
		[]metricdata.DataPoint[int64]{{Value: 100, Attributes: e.metricAttrs()}}, metricdatatest.IgnoreTimestamp())
	got := ids(next.AllLogs())
	assert.Len(t, got, len(all)-100)
	assert.Subset(t, all, got)
}

// storageHost offers one storage extension and records status events.
type storageHost struct {
	*storagetest.StorageHost
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *storageHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *storageHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []componentstatus.Status
	for _, ev := range h.events {
		out = append(out, ev.Status())
	}
	return out
}

func withFileStorage(e *env, dir string) *storageHost {
	id := storagetest.NewStorageID("zendesk")
	e.cfg.StorageID = &id
	return &storageHost{StorageHost: storagetest.NewStorageHost().WithFileBackedStorageExtension("zendesk", dir)}
}

func TestRestartResumesExactlyFromTheStoredCheckpoint(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.backlog(t, 400, 2*time.Hour, time.Hour)
	first := new(consumertest.LogsSink)
	r := e.start(t, first, withFileStorage(e, dir))
	requireExactly(t, simIDs(e.sim), first)
	require.NoError(t, r.Shutdown(context.Background()))
	delivered := ids(first.AllLogs())

	// While it was down: a burst, and records spread since it stopped.
	stopped := time.Now()
	require.Eventually(t, func() bool { return time.Since(stopped) > 1100*time.Millisecond }, 3*time.Second, 10*time.Millisecond)
	e.sim.GenerateBurst(120, time.Now())
	e.sim.Generate(200, stopped.Add(time.Second), time.Now())

	second := new(consumertest.LogsSink)
	r = e.start(t, second, withFileStorage(e, dir))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return slices.Contains(delivered, id) })
	requireExactly(t, want, second)
	assert.NotEmpty(t, e.logs.FilterMessageSnippet("Resuming from the stored checkpoint").All())
}

// blockingConsumer accepts n pages, then refuses (retryably) until its
// context ends, as an exporter whose backend is down.
type blockingConsumer struct {
	consumertest.LogsSink
	accept int
}

func (b *blockingConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if len(b.AllLogs()) < b.accept {
		return b.LogsSink.ConsumeLogs(ctx, ld)
	}
	<-ctx.Done()
	return ctx.Err()
}

// slowConsumer accepts its first pages at once; the one after them takes
// a while, as a backend storing a page does, unless its context ends
// first.
type slowConsumer struct {
	consumertest.LogsSink
	fast     int
	inFlight chan struct{} // closed when the slow call began
	once     sync.Once
}

func (c *slowConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if len(c.AllLogs()) < c.fast {
		return c.LogsSink.ConsumeLogs(ctx, ld)
	}
	c.once.Do(func() { close(c.inFlight) })
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(300 * time.Millisecond):
		return c.LogsSink.ConsumeLogs(ctx, ld)
	}
}

// A ConsumeLogs call in flight that does not finish (a backend that holds
// the export) has shutdownGrace, 5 s, then its context is cancelled and
// Shutdown returns: the collector's shutdown is not held longer by it.
func TestShutdownCancelsAConsumeLogsCallInFlightAfterItsGrace(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 100, time.Hour, time.Minute)
	var called atomic.Bool
	cancelled := make(chan time.Time, 1)
	next, err := consumer.NewLogs(func(ctx context.Context, _ plog.Logs) error {
		if called.Swap(true) {
			return errors.New("a second call")
		}
		<-ctx.Done()
		cancelled <- time.Now()
		return ctx.Err()
	})
	require.NoError(t, err)
	r := e.start(t, next, componenttest.NewNopHost())
	require.Eventually(t, called.Load, 10*time.Second, 10*time.Millisecond)

	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(context.Background()) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace + 30*time.Second):
		t.Fatal("Shutdown did not return after the grace period")
	}
	at := <-cancelled
	assert.GreaterOrEqual(t, at.Sub(began), shutdownGrace, "the call in flight was cancelled before its grace ended")
}

// A graceful shutdown lets the ConsumeLogs call in flight finish and
// checkpoints its page: after the restart that page is not read again.
func TestShutdownLetsTheDeliveryInFlightFinish(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.backlog(t, 900, 2*time.Hour, time.Minute)
	first := &slowConsumer{fast: 3, inFlight: make(chan struct{})}
	r := e.start(t, first, withFileStorage(e, dir))
	select {
	case <-first.inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the fourth page never reached the consumer")
	}
	require.NoError(t, r.Shutdown(context.Background()))
	require.Len(t, first.AllLogs(), 4, "the page in flight at shutdown was delivered")

	second := new(consumertest.LogsSink)
	r = e.start(t, second, withFileStorage(e, dir))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return slices.Contains(ids(first.AllLogs()), id) })
	requireExactly(t, want, second)
}

func TestShutdownMidDrainThenRestartLosesAndRepeatsNothing(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.backlog(t, 900, 2*time.Hour, time.Minute)
	first := &blockingConsumer{accept: 4}
	r := e.start(t, first, withFileStorage(e, dir))
	require.Eventually(t, func() bool { return len(first.AllLogs()) == 4 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	second := new(consumertest.LogsSink)
	r = e.start(t, second, withFileStorage(e, dir))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return slices.Contains(ids(first.AllLogs()), id) })
	requireExactly(t, want, second)
}

func TestCheckpointMovesOnlyAfterDelivery(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 150, time.Hour, time.Minute)
	e.cfg.BackOffConfig.Enabled = false
	host := &storageHost{StorageHost: storagetest.NewStorageHost().WithInMemoryStorageExtension("mem")}
	id := storagetest.NewStorageID("mem")
	e.cfg.StorageID = &id

	next := &flakyConsumer{failures: 1 << 30, err: errors.New("exporter queue is full")}
	r := e.start(t, next, host)
	require.Eventually(t, func() bool { return len(e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()) > 0 }, 5*time.Second, 10*time.Millisecond)
	stored, err := r.storage.Get(context.Background(), checkpoint.Key)
	require.NoError(t, err)
	assert.Nil(t, stored, "nothing was delivered, so nothing is stored")
	require.NoError(t, r.Shutdown(context.Background()))

	next.failures = 0
	r = e.start(t, next, host)
	requireExactly(t, simIDs(e.sim), &next.LogsSink)
	require.Eventually(t, func() bool {
		b, err := r.storage.Get(context.Background(), checkpoint.Key)
		if err != nil || b == nil {
			return false
		}
		p, err := checkpoint.Decode(b, time.Now())
		if err != nil {
			return false
		}
		for _, rec := range e.sim.Records() {
			if !p.Done(rec.ID, rec.CreatedAt) {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond, "the stored checkpoint has every delivered record done")
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestWithoutStorageWarnsThatARestartRereads(t *testing.T) {
	e := newEnv(t)
	r := e.start(t, new(consumertest.LogsSink), componenttest.NewNopHost())
	require.NoError(t, r.Shutdown(context.Background()))
	warn := e.logs.FilterMessageSnippet("No storage extension configured").All()
	require.Len(t, warn, 1)
	assert.Equal(t, zapcore.WarnLevel, warn[0].Level)
}

func TestShutdownDuringRetryAfterIsPrompt(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	e.sim.SetFaults(zendesksim.Faults{P429: 1, RetryAfter: 60 * time.Second})
	r := e.start(t, new(consumertest.LogsSink), componenttest.NewNopHost())
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[429] > 0 }, 5*time.Second, 10*time.Millisecond)
	began := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestShutdownDuringConsumerBackoffIsPrompt(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	e.cfg.BackOffConfig.InitialInterval = time.Minute
	e.cfg.BackOffConfig.MaxInterval = time.Minute
	next := &flakyConsumer{failures: 1, err: errors.New("try later")}
	r := e.start(t, next, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return len(e.logs.FilterMessageSnippet("retryable error").All()) > 0 }, 5*time.Second, 10*time.Millisecond)
	began := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(began), 2*time.Second)
}

// listArrivals records when each list request reached the simulator.
type listArrivals struct {
	next http.Handler
	mu   sync.Mutex
	at   []time.Time
}

func (l *listArrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v2/audit_logs") && r.Method == http.MethodGet {
		l.mu.Lock()
		l.at = append(l.at, time.Now())
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

func (l *listArrivals) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.at)
}

func TestCredentialsRefusedTwiceIsAPermanentErrorAndFixedCredentialsRecover(t *testing.T) {
	e := newEnv(t)
	arrivals := &listArrivals{next: e.sim}
	srv := httptest.NewServer(arrivals)
	t.Cleanup(srv.Close)
	e.cfg.Endpoint = srv.URL
	e.cfg.PollInterval = 200 * time.Millisecond
	e.backlog(t, 30, time.Hour, time.Minute)
	e.sim.SetCredentials(testEmail, "rotated-token", "")
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	// The first refusal is recoverable; the second poll refused in a row
	// makes it permanent, with the hint.
	require.Eventually(t, func() bool { return len(host.statuses()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusPermanentError}, host.statuses())
	host.mu.Lock()
	permanent := host.events[1].Err().Error()
	host.mu.Unlock()
	assert.Contains(t, permanent, "401 Unauthorized")
	assert.Contains(t, permanent, "check the email and API token")
	require.Len(t, e.logs.FilterMessageSnippet("component status is now a permanent error").All(), 1)

	// Polling goes on, one request per poll and poll_interval apart: no
	// spin, no retry loop, no further status event.
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[401] >= 5 }, 5*time.Second, 10*time.Millisecond)
	at := arrivals.times()
	for i := 1; i < len(at); i++ {
		assert.GreaterOrEqual(t, at[i].Sub(at[i-1]), e.cfg.PollInterval, "request %d came %s after the one before", i, at[i].Sub(at[i-1]))
	}
	assert.Len(t, host.statuses(), 2, "a repeated refusal is not a new status")
	assert.Empty(t, sink.AllLogs())

	// Fixed credentials: delivery resumes without a restart, and OK is
	// reported.
	e.sim.SetCredentials(testEmail, testToken, "")
	requireExactly(t, simIDs(e.sim), sink)
	require.Eventually(t, func() bool { return len(host.statuses()) == 3 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusOK, host.statuses()[2])
	assert.Len(t, e.logs.FilterMessageSnippet("accepts the credentials again").All(), 1)
	requireNoSecret(t, e.logs, host)
}

func TestNoAuditLogAccessIsAPermanentErrorWithItsHint(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = 100 * time.Millisecond
	e.sim.SetForbidden(true)
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	r := e.start(t, new(consumertest.LogsSink), host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return len(host.statuses()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusPermanentError, host.statuses()[1])
	host.mu.Lock()
	defer host.mu.Unlock()
	assert.Contains(t, host.events[1].Err().Error(), "403 Forbidden")
	assert.Contains(t, host.events[1].Err().Error(), "Enterprise plan")
}

// The status follows each poll's outcome: only credentials refused in
// consecutive polls make a permanent error; any other outcome in between
// starts the count again.
func TestStatusReporterMakesOnlyConsecutiveRefusalsPermanent(t *testing.T) {
	refused := &zendesk.Error{Kind: zendesk.KindAuth, Op: "list", StatusCode: 401}
	forbidden := &zendesk.Error{Kind: zendesk.KindForbidden, Op: "list", StatusCode: 403}
	server := &zendesk.Error{Kind: zendesk.KindServer, Op: "list", StatusCode: 503}
	const (
		ok          = componentstatus.StatusOK
		recoverable = componentstatus.StatusRecoverableError
		permanent   = componentstatus.StatusPermanentError
	)
	for _, tc := range []struct {
		name  string
		polls []error // nil is a poll that succeeded
		want  []componentstatus.Status
	}{
		{"one refusal, then accepted", []error{refused, nil}, []componentstatus.Status{recoverable, ok}},
		{"two refusals in a row", []error{refused, refused}, []componentstatus.Status{recoverable, permanent}},
		{"401 then 403 count together", []error{refused, forbidden}, []componentstatus.Status{recoverable, permanent}},
		{"a success in between", []error{refused, nil, refused, nil}, []componentstatus.Status{recoverable, ok, recoverable, ok}},
		{"another failure in between", []error{refused, server, refused}, []componentstatus.Status{recoverable, recoverable, recoverable}},
		{"permanent, then repeated", []error{refused, refused, refused, refused}, []componentstatus.Status{recoverable, permanent}},
		{"permanent, then accepted", []error{forbidden, forbidden, nil}, []componentstatus.Status{recoverable, permanent, ok}},
		{"wrapped", []error{fmt.Errorf("listing: %w", refused), fmt.Errorf("listing: %w", refused)}, []componentstatus.Status{recoverable, permanent}},
		{"server errors stay recoverable", []error{server, server, server}, []componentstatus.Status{recoverable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := &storageHost{StorageHost: storagetest.NewStorageHost()}
			s := &statusReporter{host: host, logger: zap.NewNop()}
			for _, err := range tc.polls {
				if err == nil {
					s.ok()
				} else {
					s.failed(err)
				}
			}
			assert.Equal(t, tc.want, host.statuses())
		})
	}
}

func TestTelemetryCountsRequestsAndAcceptedRecords(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 250, time.Hour, time.Minute)
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e.set = metadatatest.NewSettings(tel)
	e.set.Logger = zap.New(zapcore.NewNopCore())

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	requireExactly(t, simIDs(e.sim), sink)
	// The poll ends after its last page was delivered: the lag falls to
	// the window's end then.
	lagValue := func() float64 {
		lag, err := tel.GetMetric("otelcol_zendesk_audit_logs_checkpoint_lag")
		if err != nil {
			return -1
		}
		g := lag.Data.(metricdata.Gauge[float64])
		if len(g.DataPoints) != 1 {
			return -1
		}
		return g.DataPoints[0].Value
	}
	require.Eventually(t, func() bool { v := lagValue(); return v >= 0 && v < 5 }, 10*time.Second, 10*time.Millisecond,
		"caught up: the position is the end of the last window, not the newest record")
	require.NoError(t, r.Shutdown(context.Background()))

	metadatatest.AssertEqualZendeskAuditLogsAPIRequests(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: e.metricAttrs(attribute.Int("http.response.status_code", 200)),
		Value:      int64(e.sim.Stats().ListRequests),
	}}, metricdatatest.IgnoreTimestamp())
	accepted, err := tel.GetMetric("otelcol_receiver_accepted_log_records")
	require.NoError(t, err)
	sum := accepted.Data.(metricdata.Sum[int64])
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(250), sum.DataPoints[0].Value)
	assert.Less(t, lagValue(), 5.0)
}

// requireNoSecret asserts that no log line (message or field, at any level)
// and no status event holds the token, the email/token pair or its base64.
func requireNoSecret(t *testing.T, logs *observer.ObservedLogs, host *storageHost) {
	t.Helper()
	pair := testEmail + "/token:" + testToken
	requireNoneOf(t, logs, host, testToken, pair, base64.StdEncoding.EncodeToString([]byte(pair)))
}

// requireNoneOf asserts that no log line (message or field, at any level)
// and no status event holds any of secrets.
func requireNoneOf(t *testing.T, logs *observer.ObservedLogs, host *storageHost, secrets ...string) {
	t.Helper()
	var texts []string
	for _, entry := range logs.All() {
		texts = append(texts, entry.Message, fmt.Sprint(entry.ContextMap()))
	}
	host.mu.Lock()
	for _, ev := range host.events {
		if ev.Err() != nil {
			texts = append(texts, ev.Err().Error())
		}
	}
	host.mu.Unlock()
	require.NotEmpty(t, texts)
	for _, text := range texts {
		for _, secret := range secrets {
			require.NotContains(t, text, secret)
		}
	}
}

func TestTLSSettingsAreHonoured(t *testing.T) {
	sim := zendesksim.New(zendesksim.Options{Email: testEmail, APIToken: testToken, Seed: 3})
	sim.Generate(40, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	srv := httptest.NewTLSServer(sim)
	defer srv.Close()

	newCfg := func() *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Endpoint = srv.URL // https://127.0.0.1:port, a certificate for 127.0.0.1
		cfg.Email, cfg.APIToken = testEmail, testToken
		cfg.PollInterval = time.Hour
		require.NoError(t, cfg.Validate())
		return cfg
	}
	run := func(cfg *Config) (*consumertest.LogsSink, *observer.ObservedLogs) {
		core, logs := observer.New(zapcore.InfoLevel)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Logger = zap.New(core)
		sink := new(consumertest.LogsSink)
		r, err := newLogsReceiver(cfg, set, sink, newReadAheadPool(defaultReadAheadPages))
		require.NoError(t, err)
		require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
		return sink, logs
	}

	// The test server's certificate is not in the system pool: refused,
	// at once (not retried), with a hint.
	_, logs := run(newCfg())
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Polling the Zendesk audit log failed").Len() > 0 }, 5*time.Second, 10*time.Millisecond)
	msg := logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()[0].ContextMap()["error"]
	assert.Contains(t, msg, "certificate")
	assert.Contains(t, msg, "check the tls settings")
	assert.Zero(t, sim.Stats().Requests, "no request got through the TLS handshake")

	// With the server's CA in tls.ca_pem: delivered.
	cfg := newCfg()
	cfg.TLS.CAPem = configopaque.String(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	sink, _ := run(cfg)
	requireExactly(t, simIDs(sim), sink)
}

func TestConsumerRetriesEndAtMaxElapsedTimeAndThePageStaysUnread(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	e.cfg.BackOffConfig.MaxElapsedTime = 300 * time.Millisecond
	next := &flakyConsumer{failures: 1 << 30, err: errors.New("memory limiter: data refused")}
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	r := e.start(t, next, host)

	require.Eventually(t, func() bool {
		return len(e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()) == 1
	}, 10*time.Second, 10*time.Millisecond)
	began := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(began), 2*time.Second)

	failed := e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()[0]
	assert.Contains(t, fmt.Sprint(failed.ContextMap()["error"]), "retries are over")
	assert.Contains(t, fmt.Sprint(failed.ContextMap()["error"]), "maximum elapsed time")
	retries := len(e.logs.FilterMessageSnippet("retryable error").All())
	assert.Greater(t, retries, 1, "retried until max_elapsed_time")
	assert.Equal(t, retries+1, next.refused, "each refusal but the last was retried; none after giving up")
	assert.Zero(t, next.LogRecordCount())
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses())
}

// refusingConsumer accepts the first page, then refuses every page
// (retryably) until released, and keeps the ids it refused.
type refusingConsumer struct {
	consumertest.LogsSink
	mu       sync.Mutex
	calls    int
	released bool
	refused  map[int64]bool
}

func (c *refusingConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	c.mu.Lock()
	c.calls++
	if c.calls > 1 && !c.released {
		for _, id := range ids([]plog.Logs{ld}) {
			c.refused[id] = true
		}
		c.mu.Unlock()
		return errors.New("memory limiter: data refused")
	}
	c.mu.Unlock()
	return c.LogsSink.ConsumeLogs(ctx, ld)
}

// A page the next consumer refuses (retryably) past max_elapsed_time ends
// the poll without moving the checkpoint past it, and the next poll (100
// ms later) reads it again: once the consumer accepts again, the records
// it refused arrive, and every record arrives exactly once, nothing
// skipped. The README's "past max_elapsed_time the next poll reads the
// page again".
func TestConsumerRefusedPastMaxElapsedTimeTheNextPollReadsThePageAgain(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 450, time.Hour, time.Minute) // several pages
	e.cfg.BackOffConfig.MaxElapsedTime = 300 * time.Millisecond
	e.cfg.PollInterval = 100 * time.Millisecond
	next := &refusingConsumer{refused: map[int64]bool{}}
	r := e.start(t, next, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	// A poll gave up on the second page and ended; the polls after it,
	// until the release, give up on the page after the checkpoint too.
	require.Eventually(t, func() bool {
		return len(e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()) > 0
	}, 10*time.Second, 10*time.Millisecond)
	failed := e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()[0]
	assert.Contains(t, fmt.Sprint(failed.ContextMap()["error"]), "retries are over")
	assert.Contains(t, fmt.Sprint(failed.ContextMap()["error"]), "maximum elapsed time")
	next.mu.Lock()
	accepted := next.AllLogs()
	refused := maps.Clone(next.refused)
	next.released = true
	next.mu.Unlock()
	require.Len(t, accepted, 1, "only the first page was accepted")
	require.NotEmpty(t, refused)
	for _, id := range ids(accepted) {
		require.False(t, refused[id], "an accepted record is not read again")
	}

	// Every record exactly once: the refused ones, read again, among them.
	requireExactly(t, simIDs(e.sim), &next.LogsSink)
}

func TestConsumerRetriesDisabledLeaveThePageToTheNextPoll(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	e.cfg.BackOffConfig.Enabled = false
	e.cfg.PollInterval = 100 * time.Millisecond
	next := &flakyConsumer{failures: 1, err: errors.New("memory limiter: data refused")}
	r := e.start(t, next, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireExactly(t, simIDs(e.sim), &next.LogsSink)
	assert.Equal(t, 1, next.refused)
	assert.Empty(t, e.logs.FilterMessageSnippet("retryable error").All(), "no retry within the poll")
	assert.Len(t, e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All(), 1)
}
