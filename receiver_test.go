package zendeskauditlogsreceiver

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
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
	"go.opentelemetry.io/collector/extension/xextension/storage"
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
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, zendesksim.Options{}, nil)
}

// newEnvWith is newEnv with simulator options (credentials and seed are
// set here) and, unless nil, a handler wrapped around the simulator.
func newEnvWith(t *testing.T, opts zendesksim.Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	opts.Email, opts.APIToken, opts.Seed = testEmail, testToken, 7
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
	cfg.SettleDelay = 0
	cfg.InitialLookback = 3 * time.Hour
	cfg.MaxRequestsPerMinute = 0
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 50 * time.Millisecond
	require.NoError(t, cfg.Validate())

	core, logs := observer.New(zapcore.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	return &env{sim: sim, url: srv.URL, cfg: cfg, set: set, logs: logs}
}

func (e *env) start(t *testing.T, next consumer.Logs, host component.Host) *logsReceiver {
	t.Helper()
	r, err := newLogsReceiver(e.cfg, e.set, next)
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
	now := time.Now()
	e.sim.Generate(1200, now.Add(-2*time.Hour), now.Add(-time.Minute))
	e.sim.GenerateBurst(350, now.Add(-90*time.Minute)) // a second with more records than 3 pages

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

func TestPollsAgainWithoutRepeating(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = time.Second
	now := time.Now()
	e.sim.Generate(300, now.Add(-time.Hour), now.Add(-10*time.Second))
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
	e.sim.Generate(200, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))

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
	now := time.Now()
	e.sim.Generate(450, now.Add(-time.Hour), now.Add(-time.Minute))
	next := &flakyConsumer{failures: 5, err: errors.New("memory limiter: data refused")}
	r := e.start(t, next, componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireExactly(t, simIDs(e.sim), &next.LogsSink)
	assert.Equal(t, 5, next.refused)
	assert.NotEmpty(t, e.logs.FilterMessageSnippet("retryable error").All())
}

func TestPermanentConsumerErrorDropsThePageAndSaysSo(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.sim.Generate(250, now.Add(-time.Hour), now.Add(-time.Minute))
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
	now := time.Now()
	e.sim.Generate(400, now.Add(-2*time.Hour), now.Add(-time.Hour))
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

func TestShutdownMidDrainThenRestartLosesAndRepeatsNothing(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	now := time.Now()
	e.sim.Generate(900, now.Add(-2*time.Hour), now.Add(-time.Minute))
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
	now := time.Now()
	e.sim.Generate(150, now.Add(-time.Hour), now.Add(-time.Minute))
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

func TestCorruptCheckpointFallsBackToTheConfiguredStart(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.sim.Generate(120, now.Add(-time.Hour), now.Add(-time.Minute))
	host := withFileStorage(e, t.TempDir())
	ext := host.GetExtensions()[*e.cfg.StorageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), checkpoint.Key, []byte(`{"version":9}`)))
	require.NoError(t, client.Close(context.Background()))

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)
	bad := e.logs.FilterMessageSnippet("stored checkpoint cannot be used").All()
	require.Len(t, bad, 1)
	assert.Equal(t, zapcore.ErrorLevel, bad[0].Level)
	assert.Contains(t, bad[0].ContextMap()["error"], "version 9 is not supported")
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
	e.sim.Generate(50, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	e.sim.SetFaults(zendesksim.Faults{P429: 1, RetryAfter: 60 * time.Second})
	r := e.start(t, new(consumertest.LogsSink), componenttest.NewNopHost())
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[429] > 0 }, 5*time.Second, 10*time.Millisecond)
	began := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestShutdownDuringConsumerBackoffIsPrompt(t *testing.T) {
	e := newEnv(t)
	e.sim.Generate(50, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	e.cfg.BackOffConfig.InitialInterval = time.Minute
	e.cfg.BackOffConfig.MaxInterval = time.Minute
	next := &flakyConsumer{failures: 1, err: errors.New("try later")}
	r := e.start(t, next, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return len(e.logs.FilterMessageSnippet("retryable error").All()) > 0 }, 5*time.Second, 10*time.Millisecond)
	began := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestStatusRecoverableOnAuthFailureThenOKOnRecovery(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = time.Second
	e.sim.Generate(30, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	e.sim.SetCredentials(testEmail, "rotated-token", "")
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[401] >= 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses(), "reported once, on change")
	assert.Equal(t, 2, e.sim.Stats().ByStatus[401], "a 401 is not retried in a loop: once per poll")
	failed := e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()
	require.NotEmpty(t, failed)
	assert.Contains(t, failed[0].ContextMap()["error"], "check the email and API token")
	requireNoSecret(t, e.logs, host)

	e.sim.SetCredentials(testEmail, testToken, "")
	requireExactly(t, simIDs(e.sim), sink)
	require.Eventually(t, func() bool {
		s := host.statuses()
		return len(s) == 2 && s[1] == componentstatus.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}

func TestTelemetryCountsRequestsAndAcceptedRecords(t *testing.T) {
	e := newEnv(t)
	e.sim.Generate(250, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e.set = metadatatest.NewSettings(tel)
	e.set.Logger = zap.New(zapcore.NewNopCore())

	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	requireExactly(t, simIDs(e.sim), sink)
	require.NoError(t, r.Shutdown(context.Background()))

	metadatatest.AssertEqualZendeskAuditLogsAPIRequests(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.Int("http.response.status_code", 200)),
		Value:      int64(e.sim.Stats().ListRequests),
	}}, metricdatatest.IgnoreTimestamp())
	accepted, err := tel.GetMetric("otelcol_receiver_accepted_log_records")
	require.NoError(t, err)
	sum := accepted.Data.(metricdata.Sum[int64])
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(250), sum.DataPoints[0].Value)
	lag, err := tel.GetMetric("otelcol_zendesk_audit_logs_checkpoint_lag")
	require.NoError(t, err)
	g := lag.Data.(metricdata.Gauge[float64])
	require.Len(t, g.DataPoints, 1)
	assert.GreaterOrEqual(t, g.DataPoints[0].Value, 0.0)
	assert.Less(t, g.DataPoints[0].Value, 5.0, "caught up: the position is the end of the last window, not the newest record")
}

// requireNoSecret asserts that no log line (message or field, at any level)
// and no status event holds the token, the email/token pair or its base64.
func requireNoSecret(t *testing.T, logs *observer.ObservedLogs, host *storageHost) {
	t.Helper()
	pair := testEmail + "/token:" + testToken
	secrets := []string{testToken, pair, base64.StdEncoding.EncodeToString([]byte(pair))}
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
		r, err := newLogsReceiver(cfg, set, sink)
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
