package zendeskauditlogsreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zapcore"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// storedPosition reads the receiver's checkpoint from host's storage
// extension, once the receiver is shut down.
func storedPosition(t *testing.T, e *env, host *storageHost) (checkpoint.Position, bool) {
	t.Helper()
	ext := host.GetExtensions()[*e.cfg.StorageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	pos, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	return pos, found
}

// endlessChain answers every request that follows a cursor with has_more
// and no records: each time a new cursor ("new"), or A, B, A, ... ("cycle").
// The first page of a chain comes from the simulator. After giveUp such
// answers it ends the chain (has_more false), so that code that follows a
// chain forever still ends.
type endlessChain struct {
	mode   string
	giveUp int

	mu       sync.Mutex
	answered int
}

func (e *endlessChain) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := r.URL.Query().Get("page[after]")
		if after == "" {
			next.ServeHTTP(w, r)
			return
		}
		e.mu.Lock()
		e.answered++
		n := e.answered
		e.mu.Unlock()
		cursor := fmt.Sprintf("c%d", n)
		if e.mode == "cycle" {
			cursor = "A"
			if after == "A" {
				cursor = "B"
			}
		}
		more := n < e.giveUp
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"audit_logs":[],"meta":{"has_more":%t,"after_cursor":%q,"before_cursor":null}}`, more, cursor)
	})
}

func (e *endlessChain) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.answered
}

// A cursor chain the API never ends (has_more with no records, with a new
// cursor every time or a cycle A, B, A) fails the poll within a bounded
// number of requests, with an error that says what the API did and a
// recoverable error status; the checkpoint stays before what was not
// read, and the next poll tries again.
func TestEndlessCursorChainFailsThePollAndKeepsTheCheckpoint(t *testing.T) {
	for _, mode := range []string{"new", "cycle"} {
		t.Run(mode, func(t *testing.T) {
			chain := &endlessChain{mode: mode, giveUp: 2000}
			e := newEnvWith(t, zendesksim.Options{}, chain.wrap)
			e.backlog(t, 600, 2*time.Hour, time.Minute)
			e.cfg.PollInterval = 300 * time.Millisecond
			host := withFileStorage(e, t.TempDir())
			r := e.start(t, new(consumertest.LogsSink), host)

			require.Eventually(t, func() bool {
				return len(e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()) >= 2
			}, 20*time.Second, 10*time.Millisecond, "the poll fails, and the next one too")
			require.NoError(t, r.Shutdown(context.Background()))

			failed := e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()
			msg := fmt.Sprint(failed[0].ContextMap()["error"])
			assert.Contains(t, msg, zendesk.ErrEndlessChain.Error())
			if mode == "cycle" {
				assert.Contains(t, msg, "a cycle")
			} else {
				assert.Contains(t, msg, "pages in a row")
			}
			// At most two slices read at once without a budget, each
			// followed for MaxEmptyPages pages: a few dozen requests a
			// poll, not thousands.
			polls := len(failed) + 1
			assert.LessOrEqual(t, chain.count(), polls*4*zendesk.MaxEmptyPages, "requests per poll are bounded")
			assert.Contains(t, host.statuses(), componentstatus.StatusRecoverableError)

			// The checkpoint did not move past what was not read.
			pos, found := storedPosition(t, e, host)
			require.True(t, found, "the first page was delivered and saved")
			undone := 0
			for _, rec := range e.sim.Records() {
				if !pos.Done(rec.ID, rec.CreatedAt) {
					undone++
				}
			}
			assert.Positive(t, undone, "records the chain did not read are not marked done")
		})
	}
}

// A stored checkpoint that cannot be used (an unknown format version, a
// second before the floor, which the CLI used to accept) is never replaced
// by the configured start, which would skip what lies between: the
// receiver reads nothing, reports a permanent error that names the fix,
// and leaves the stored value as it was. Its checkpoint lag counts from
// its start and grows, so that the alert on a stalled trail fires for it.
func TestUnusableCheckpointStopsPollingWithAPermanentErrorNamingTheFix(t *testing.T) {
	for name, value := range map[string]string{
		"unknown version": `{"version":9}`,
		"year 0000":       `{"version":1,"second":"0000-01-01T00:00:00Z","ids":[]}`,
		"before 2007":     `{"version":1,"second":"1970-01-01T00:00:00Z","ids":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.backlog(t, 120, time.Hour, time.Minute)
			tel := withTelemetry(t, e)
			host := withFileStorage(e, t.TempDir())
			ext := host.GetExtensions()[*e.cfg.StorageID].(storage.Extension)
			client, err := ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
			require.NoError(t, err)
			require.NoError(t, client.Set(context.Background(), checkpoint.Key, []byte(value)))
			require.NoError(t, client.Close(context.Background()))

			sink := new(consumertest.LogsSink)
			started := time.Now()
			r := e.start(t, sink, host)
			statuses := host.statuses()
			lag := func() float64 {
				m, err := tel.GetMetric("otelcol_zendesk_audit_logs_checkpoint_lag")
				require.NoError(t, err, "the lag is reported")
				g := m.Data.(metricdata.Gauge[float64])
				require.Len(t, g.DataPoints, 1)
				assert.Equal(t, e.metricAttrs(), g.DataPoints[0].Attributes)
				return g.DataPoints[0].Value
			}
			first := lag()
			assert.LessOrEqual(t, first, time.Since(started).Seconds(), "counted from the start")
			require.Eventually(t, func() bool { return lag() > first }, 10*time.Second, 10*time.Millisecond, "and growing")
			require.NoError(t, r.Shutdown(context.Background()))

			require.Contains(t, statuses, componentstatus.StatusPermanentError, "reported by Start")
			var permanent error
			for _, ev := range host.events {
				if ev.Status() == componentstatus.StatusPermanentError {
					permanent = ev.Err()
				}
			}
			require.Error(t, permanent)
			for _, fix := range []string{"checkpoint show", "checkpoint set", "checkpoint reset", e.set.ID.String()} {
				assert.Contains(t, permanent.Error(), fix)
			}
			assert.Len(t, e.logs.FilterMessageSnippet("Not polling: the stored checkpoint cannot be used").All(), 1)
			assert.Zero(t, e.sim.Stats().Requests, "nothing was read")
			assert.Zero(t, sink.LogRecordCount())

			client, err = ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
			require.NoError(t, err)
			stored, err := client.Get(context.Background(), checkpoint.Key)
			require.NoError(t, err)
			require.NoError(t, client.Close(context.Background()))
			assert.Equal(t, value, string(stored), "the stored checkpoint is left for the operator")
		})
	}
}

// permanentError is the error of the last permanent error status host
// was given, nil if none.
func permanentError(host *storageHost) error {
	host.mu.Lock()
	defer host.mu.Unlock()
	var err error
	for _, ev := range host.events {
		if ev.Status() == componentstatus.StatusPermanentError {
			err = ev.Err()
		}
	}
	return err
}

// README, Guarantees: after an unusable stored checkpoint "The other
// receivers of the collector are not affected." Two receivers made by one
// factory, as a collector makes them (one read-ahead pool, spread first
// polls), share one storage extension, each under its own id, each with
// its own host for its status, as the collector gives each component. One
// finds an unusable checkpoint under its key: it reads nothing and reports
// a permanent error. The other delivers its whole backlog exactly once,
// reports OK and nothing else, and stores its checkpoint past the backlog.
func TestAnUnusableCheckpointDoesNotAffectTheOtherReceivers(t *testing.T) {
	dir := t.TempDir()
	id := storagetest.NewStorageID("zendesk")
	shared := storagetest.NewStorageHost().WithFileBackedStorageExtension("zendesk", dir)
	ext := shared.GetExtensions()[id].(storage.Extension)
	factory := NewFactory()

	// Each its own account (simulator), with records of its own.
	broken, healthy := newEnvWith(t, zendesksim.Options{Seed: 8}, nil), newEnv(t)
	broken.set.ID = component.MustNewIDWithName(metadata.Type.String(), "broken")
	healthy.set.ID = component.MustNewIDWithName(metadata.Type.String(), "healthy")
	broken.backlog(t, 300, time.Hour, time.Minute)
	healthy.backlog(t, 900, 2*time.Hour, time.Minute)
	for _, e := range []*env{broken, healthy} {
		e.cfg.StorageID = &id
		// The factory's second receiver makes its first poll 0.62 of
		// poll_interval after its start.
		e.cfg.PollInterval = 200 * time.Millisecond
	}
	const unusable = `{"version":9}`
	client, err := ext.GetClient(context.Background(), component.KindReceiver, broken.set.ID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), checkpoint.Key, []byte(unusable)))
	require.NoError(t, client.Close(context.Background()))

	brokenHost, healthyHost := &storageHost{StorageHost: shared}, &storageHost{StorageHost: shared}
	brokenSink, healthySink := new(consumertest.LogsSink), new(consumertest.LogsSink)
	rb, err := factory.CreateLogs(context.Background(), broken.set, broken.cfg, brokenSink)
	require.NoError(t, err)
	rh, err := factory.CreateLogs(context.Background(), healthy.set, healthy.cfg, healthySink)
	require.NoError(t, err)
	require.NoError(t, rb.Start(context.Background(), brokenHost))
	require.NoError(t, rh.Start(context.Background(), healthyHost))

	requireExactly(t, simIDs(healthy.sim), healthySink)
	// Polls after the backlog deliver nothing more.
	polls := healthy.sim.Stats().Requests
	require.Eventually(t, func() bool { return healthy.sim.Stats().Requests >= polls+3 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, rh.Shutdown(context.Background()))
	require.NoError(t, rb.Shutdown(context.Background()))
	assert.Equal(t, simIDs(healthy.sim), sorted(ids(healthySink.AllLogs())), "each record of the healthy receiver exactly once")

	assert.Equal(t, []componentstatus.Status{componentstatus.StatusOK}, healthyHost.statuses(), "the healthy receiver reports OK, and nothing else")
	assert.Empty(t, healthy.logs.FilterLevelExact(zapcore.ErrorLevel).All(), "the healthy receiver logs no error")
	pos, found := storedPosition(t, healthy, &storageHost{StorageHost: shared})
	require.True(t, found, "the healthy receiver stored its checkpoint")
	for _, rec := range healthy.sim.Records() {
		require.True(t, pos.Done(rec.ID, rec.CreatedAt), "record %d is past the healthy receiver's checkpoint", rec.ID)
	}

	require.Error(t, permanentError(brokenHost), "the broken receiver reports a permanent error")
	assert.Contains(t, permanentError(brokenHost).Error(), broken.set.ID.String())
	assert.Len(t, broken.logs.FilterMessageSnippet("Not polling: the stored checkpoint cannot be used").All(), 1)
	assert.Zero(t, broken.sim.Stats().Requests, "the broken receiver read nothing")
	assert.Zero(t, brokenSink.LogRecordCount())
	client, err = ext.GetClient(context.Background(), component.KindReceiver, broken.set.ID, "")
	require.NoError(t, err)
	stored, err := client.Get(context.Background(), checkpoint.Key)
	require.NoError(t, err)
	require.NoError(t, client.Close(context.Background()))
	assert.Equal(t, unusable, string(stored), "the unusable checkpoint is left for the operator")
}

// README, Guarantees: a stored checkpoint that cannot be read "is never
// replaced by start_time / initial_lookback": the receiver reads nothing,
// logs "Not polling: the stored checkpoint cannot be used" and reports a
// permanent error status whose message names the fix. Here the storage's
// Get of the checkpoint fails once (an I/O error), the stored checkpoint
// being a good one: nothing is polled however many poll intervals pass, the
// status and the log say so, with the storage's error, and the stored
// checkpoint is not overwritten.
func TestACheckpointThatCannotBeReadStopsPollingAndIsNotOverwritten(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 300, time.Hour, time.Minute)
	e.cfg.PollInterval = 20 * time.Millisecond
	host := withFaultyStorage(t, e)
	statusHost := &storageHost{} // the statuses reported; the extensions are host's
	good := checkpoint.At(e.ago(t, 30*time.Minute), nil)
	value, err := checkpoint.Encode(good)
	require.NoError(t, err)
	client, err := host.storage.Extension.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), checkpoint.Key, value))
	require.NoError(t, client.Close(context.Background()))

	host.storage.failGets.Store(1)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, &reportingFaultyHost{faultyHost: host, storageHost: statusHost})
	assert.Never(t, func() bool { return e.sim.Stats().Requests > 0 }, time.Second, 10*time.Millisecond,
		"nothing is polled in 50 poll intervals")
	require.NoError(t, r.Shutdown(context.Background()))

	assert.Equal(t, []componentstatus.Status{componentstatus.StatusPermanentError}, statusHost.statuses())
	permanent := permanentError(statusHost)
	require.Error(t, permanent)
	for _, want := range []string{"input/output error", "checkpoint show", "checkpoint set", "checkpoint reset", e.set.ID.String()} {
		assert.Contains(t, permanent.Error(), want)
	}
	notPolling := e.logs.FilterMessageSnippet("Not polling: the stored checkpoint cannot be used").All()
	require.Len(t, notPolling, 1)
	assert.Contains(t, fmt.Sprint(notPolling[0].ContextMap()["error"]), "input/output error")
	assert.Zero(t, sink.LogRecordCount())

	client, err = host.storage.Extension.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	stored, err := client.Get(context.Background(), checkpoint.Key)
	require.NoError(t, err)
	require.NoError(t, client.Close(context.Background()))
	assert.Equal(t, string(value), string(stored), "the stored checkpoint is not overwritten")
}

// faultyStorage is a storage extension whose clients' Get or Set fails, or
// Set hangs, when told to.
type faultyStorage struct {
	storage.Extension
	failGets atomic.Int32 // the next n Gets fail
	failSets atomic.Int32 // the next n Sets fail
	hang     atomic.Bool  // Sets block until release is closed, whatever their context
	release  chan struct{}
	unhang   func()       // closes release, once
	closed   atomic.Int32 // clients closed
}

func (f *faultyStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := f.Extension.GetClient(ctx, kind, id, name)
	if err != nil {
		return nil, err
	}
	return &faultyClient{Client: c, f: f}, nil
}

type faultyClient struct {
	storage.Client
	f *faultyStorage
}

func (c *faultyClient) Get(ctx context.Context, key string) ([]byte, error) {
	if c.f.failGets.Add(-1) >= 0 {
		return nil, errors.New("input/output error")
	}
	return c.Client.Get(ctx, key)
}

func (c *faultyClient) Set(ctx context.Context, key string, value []byte) error {
	if c.f.hang.Load() {
		<-c.f.release
	}
	if c.f.failSets.Add(-1) >= 0 {
		return errors.New("disk full")
	}
	return c.Client.Set(ctx, key, value)
}

func (c *faultyClient) Close(ctx context.Context) error {
	err := c.Client.Close(ctx)
	c.f.closed.Add(1)
	return err
}

// faultyHost offers one faultyStorage over file-backed test storage.
type faultyHost struct {
	*storagetest.StorageHost
	id      component.ID
	storage *faultyStorage
}

func (h *faultyHost) GetExtensions() map[component.ID]component.Component {
	exts := h.StorageHost.GetExtensions()
	exts[h.id] = h.storage
	return exts
}

// reportingFaultyHost is a faultyHost that keeps the statuses reported to
// it in storageHost.
type reportingFaultyHost struct {
	*faultyHost
	*storageHost
}

func (h *reportingFaultyHost) GetExtensions() map[component.ID]component.Component {
	return h.faultyHost.GetExtensions()
}

func withFaultyStorage(t *testing.T, e *env) *faultyHost {
	id := storagetest.NewStorageID("faulty")
	e.cfg.StorageID = &id
	inner := storagetest.NewStorageHost().WithFileBackedStorageExtension("faulty", t.TempDir())
	fs := &faultyStorage{Extension: inner.GetExtensions()[id].(storage.Extension), release: make(chan struct{})}
	fs.unhang = sync.OnceFunc(func() { close(fs.release) })
	fs.failGets.Store(-1 << 30)
	fs.failSets.Store(-1 << 30)
	t.Cleanup(fs.unhang)
	return &faultyHost{StorageHost: inner, id: id, storage: fs}
}

// stored reads the checkpoint the faulty storage holds, past its faults.
func (h *faultyHost) stored(t *testing.T, e *env) checkpoint.Position {
	t.Helper()
	client, err := h.storage.Extension.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	pos, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	require.True(t, found)
	return pos
}

// startSlowDelivery starts a receiver whose fourth page is in flight when
// it returns (see slowConsumer).
func startSlowDelivery(t *testing.T, e *env, host component.Host) (*logsReceiver, *slowConsumer) {
	t.Helper()
	e.backlog(t, 900, 2*time.Hour, time.Minute)
	next := &slowConsumer{fast: 3, inFlight: make(chan struct{})}
	r := e.start(t, next, host)
	select {
	case <-next.inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the fourth page never reached the consumer")
	}
	return r, next
}

// The save after the page in flight at shutdown fails once: Shutdown tries
// it again, and the stored checkpoint has that page, so a graceful restart
// does not read it again.
func TestShutdownRetriesAFailedLastSave(t *testing.T) {
	e := newEnv(t)
	host := withFaultyStorage(t, e)
	r, next := startSlowDelivery(t, e, host)
	host.storage.failSets.Store(1)
	require.NoError(t, r.Shutdown(context.Background()))

	require.Len(t, next.AllLogs(), 4)
	pos := host.stored(t, e)
	delivered := ids(next.AllLogs())
	for _, rec := range e.sim.Records() {
		if slices.Contains(delivered, rec.ID) {
			assert.True(t, pos.Done(rec.ID, rec.CreatedAt), "record %d was delivered before shutdown and is in the stored checkpoint", rec.ID)
		}
	}
	assert.Len(t, e.logs.FilterMessageSnippet("at the second attempt").All(), 1)
}

// A last save that fails again is Shutdown's error, not only a log line.
func TestShutdownReturnsTheErrorOfTheLastSave(t *testing.T) {
	e := newEnv(t)
	host := withFaultyStorage(t, e)
	r, _ := startSlowDelivery(t, e, host)
	host.storage.failSets.Store(2)
	err := r.Shutdown(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	assert.Contains(t, err.Error(), "failed twice")
}

// A storage whose Set hangs (and ignores its context) cannot hold Shutdown
// past the shutdown context's deadline.
func TestShutdownWithAHangingStorageEndsWithItsContext(t *testing.T) {
	e := newEnv(t)
	host := withFaultyStorage(t, e)
	r, _ := startSlowDelivery(t, e, host)
	host.storage.hang.Store(true)
	// Shutdown gives up on the poll, and closes the storage in a goroutine
	// of its own (the file-backed test storage writes its file then): once
	// the test is done, let the save go on, and wait for the poll to end
	// and the storage to be closed before the storage's directory is
	// removed (on a loaded machine the file could appear after).
	t.Cleanup(func() {
		host.storage.unhang()
		r.wg.Wait()
		assert.Eventually(t, func() bool { return host.storage.closed.Load() == 1 }, 10*time.Second, time.Millisecond,
			"Shutdown closes the storage, even when it gave up on the poll")
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "did not stop before the shutdown deadline")
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return 29 s after its context ended")
	}
}
