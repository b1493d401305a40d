package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v7"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// dataFormat names what the receiver reads, for its obsreport metrics.
const dataFormat = "zendesk_audit_log"

// logsReceiver polls the audit log and hands each page to the next
// consumer, moving its checkpoint only after the consumer accepted the
// page.
type logsReceiver struct {
	cfg     *Config
	set     receiver.Settings
	next    consumer.Logs
	logger  *zap.Logger
	obsrecv *receiverhelper.ObsReport
	tb      *metadata.TelemetryBuilder
	// instance holds the attributes of every metric the receiver records
	// (instanceAttributes).
	instance metric.MeasurementOption
	convSet  convert.Settings
	now      func() time.Time

	malformed *malformedReporter
	// firstPoll is how long after Start the first poll runs (see
	// firstPollDelay).
	firstPoll time.Duration
	// readAhead is the factory's pool of read-ahead pages, and this
	// receiver's reserve (see readahead.go).
	readAhead *readAhead

	// Set by Start.
	client  *zendesk.Client
	storage storage.Client
	store   *checkpoint.Store
	status  *statusReporter
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// consumeCtx is the context of ConsumeLogs calls. Shutdown cancels it
	// only after the call in flight had shutdownGrace to finish (see
	// Shutdown).
	consumeCtx    context.Context
	cancelConsume context.CancelFunc

	// pos, clock and roundTrip (the API's answer time, a moving average)
	// are owned by the poll goroutine once it runs.
	pos       checkpoint.Position
	clock     apiClock
	roundTrip time.Duration
	// latency is the API's own answer time, the least of recent ones (see
	// latency.go), owned by the poll goroutine.
	latency minFilter
	// deliverTime is how long a page takes to deliver (a moving average),
	// owned by the poll goroutine.
	deliverTime time.Duration
	// pagesAhead is how many pages each slice's reader may hold ahead of
	// delivery now (see pagesAhead in slices.go): set by the poll
	// goroutine, read by the readers; zero bounds them by their buffer
	// alone.
	pagesAhead atomic.Int64
	// published is the second of the position (r.pos.Second, Unix
	// nanoseconds) as the poll goroutine last published it, for the
	// checkpoint lag measured when metrics are read; 0 before Start.
	published atomic.Int64
	// saveErr is the last save's error, nil once a save succeeded; owned
	// by the poll goroutine, then by Shutdown once the goroutine stopped.
	saveErr error
	// delivered and inPage are deliver's scratch, kept from page to page
	// (owned by the poll goroutine).
	delivered []checkpoint.Record
	inPage    map[int64]struct{}

	// afterSliceRead, when set (by tests only), runs in a slice's reader
	// goroutine after readSlice returned (the slice's channel is closed)
	// and before the reader wakes the poll loop: it forces the
	// interleaving of issue #20.
	afterSliceRead func(ctx context.Context)
}

func newLogsReceiver(cfg *Config, set receiver.Settings, next consumer.Logs, pool *readAheadPool) (*logsReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	detector, err := cfg.Detections.detector()
	if err != nil {
		return nil, fmt.Errorf("detections: %w", err)
	}
	instance := metric.WithAttributeSet(instanceAttributes(set.ID, cfg))
	return &logsReceiver{
		instance: instance,
		cfg:      cfg,
		set:      set,
		next:     next,
		logger:   set.Logger,
		obsrecv:  obsrecv,
		tb:       tb,
		convSet: convert.Settings{
			Resource:     newResource(cfg),
			ScopeName:    metadata.ScopeName,
			ScopeVersion: set.BuildInfo.Version,
			Detector:     detector,
		},
		now:       time.Now,
		malformed: &malformedReporter{logger: set.Logger, counter: tb.ZendeskAuditLogsRecordsMalformed, attrs: instance},
		readAhead: newReadAhead(pool),
		latency:   newMinFilter(latencyWindow),
	}, nil
}

// newResource is the resource of every record: the account's subdomain
// (when known) and the API host, each unless the user switched it off in
// resource_attributes.
func newResource(cfg *Config) pcommon.Resource {
	return convert.Resource(cfg.ResourceAttributes, cfg.baseURL())
}

// Start opens the API client and the checkpoint storage, loads the
// checkpoint and starts polling: the first poll runs after firstPoll (at
// once for a factory's first receiver).
func (r *logsReceiver) Start(ctx context.Context, host component.Host) error {
	httpClient, err := r.cfg.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("creating the HTTP client: %w", err)
	}
	// The storage first: it holds the refresh token the client starts with.
	r.storage, err = r.openStorage(ctx, host)
	if err != nil {
		return err
	}
	creds := r.cfg.credentials()
	if cc := creds.Client; cc != nil && cc.RefreshToken != "" {
		configured := cc.RefreshToken
		cc.RefreshToken = r.startRefreshToken(ctx, configured)
		// The storage client opened here, not r.storage: Shutdown clears
		// that field, and a rotation can outlive a Shutdown that gave up
		// at its deadline.
		st := r.storage
		cc.OnRefreshToken = func(current string) { r.saveRefreshToken(st, configured, current) }
	}
	r.client, err = zendesk.New(zendesk.Options{
		BaseURL:           r.cfg.baseURL(),
		HTTPClient:        httpClient,
		Credentials:       creds,
		RequestsPerMinute: r.cfg.MaxRequestsPerMinute,
		RequestTimeout:    r.cfg.Timeout,
		UserAgent:         "otelcol-zendesk_audit_logs/" + r.set.BuildInfo.Version,
		Hooks:             r.clientHooks(),
	})
	if err != nil {
		_ = r.storage.Close(ctx)
		r.storage = nil
		return err
	}
	r.store = checkpoint.NewStore(r.storage)
	r.status = &statusReporter{host: host, logger: r.logger}
	if r.pos, err = r.loadPosition(ctx); err != nil {
		// Nothing is read: reading from the configured start would skip
		// what lies between the stored position and it, for good.
		r.logger.Error("Not polling: the stored checkpoint cannot be used", zap.Error(err))
		componentstatus.ReportStatus(host, componentstatus.NewPermanentErrorEvent(err))
		// The checkpoint lag counts from now, the least the audit trail
		// is behind from here on: it grows like that of any receiver
		// that delivers nothing, and the alert on a stalled trail fires
		// for this one too.
		r.published.Store(r.now().UnixNano())
		return r.registerLag()
	}
	r.publishPosition()
	if err := r.registerLag(); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.consumeCtx, r.cancelConsume = context.WithCancel(context.Background())
	r.wg.Add(1)
	go r.run(runCtx)
	return nil
}

// shutdownGrace is how long Shutdown lets a ConsumeLogs call in flight
// finish before it cancels the call's context. A call cancelled midway
// (a synchronous exporter whose backend was storing the page) leaves the
// page to be read again after the restart: a duplicate that a graceful
// restart can avoid.
const shutdownGrace = 5 * time.Second

// Shutdown stops polling at once: no new request or retry starts, and no
// ConsumeLogs call starts (no page already read, by the poll or ahead by
// a time slice, is delivered: the next start reads it again). It lets
// the ConsumeLogs call in flight finish for up to shutdownGrace (or until
// ctx is done), saving the checkpoint after it, then waits for the poll
// goroutine and closes the storage client. If the last save failed, it is
// tried once more, and its error returned: a graceful restart would
// otherwise deliver again every record since the last good save. Every
// wait ends when ctx does (a storage that hangs cannot hold the collector
// past its deadline).
func (r *logsReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	stopped := true
	if r.cancel != nil {
		r.cancel()
		r.client.Close() // a token request in flight ends too
		grace := time.AfterFunc(shutdownGrace, r.cancelConsume)
		stop := context.AfterFunc(ctx, r.cancelConsume)
		stopped = within(ctx, func() error { r.wg.Wait(); return nil }) == nil
		grace.Stop()
		stop()
		r.cancelConsume()
		if !stopped {
			errs = append(errs, fmt.Errorf("the poll did not stop before the shutdown deadline (a checkpoint save or the next consumer did not return): %w", ctx.Err()))
		}
	}
	// Once the poll stopped, its position and its last save's outcome are
	// Shutdown's to read.
	if stopped && r.saveErr != nil {
		if err := within(ctx, func() error { return r.store.Save(ctx, r.pos) }); err != nil {
			errs = append(errs, fmt.Errorf("saving the checkpoint at shutdown failed twice; after a restart the records created since the last saved checkpoint are delivered again (position: second %s): %w",
				r.pos.Second.Format(time.RFC3339), err))
		} else {
			r.saveErr = nil
			r.logger.Info("The checkpoint was saved at shutdown, at the second attempt", zap.Time("second", r.pos.Second))
		}
	}
	if st := r.storage; st != nil {
		r.storage = nil
		if err := within(ctx, func() error { return st.Close(ctx) }); err != nil {
			errs = append(errs, fmt.Errorf("closing the checkpoint storage: %w", err))
		}
	}
	r.tb.Shutdown()
	return errors.Join(errs...)
}

// within runs f and returns its error, or ctx's once ctx is done first (f
// then goes on alone).
func within(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		default:
			return ctx.Err()
		}
	}
}

func (r *logsReceiver) openStorage(ctx context.Context, host component.Host) (storage.Client, error) {
	if r.cfg.StorageID == nil {
		r.logger.Warn("No storage extension configured: the checkpoint lives in memory, and a restart reads again from start_time or initial_lookback",
			zap.Duration("initial_lookback", r.cfg.InitialLookback), zap.Time("start_time", r.cfg.StartTime))
		return storage.NewNopClient(), nil
	}
	ext, ok := host.GetExtensions()[*r.cfg.StorageID]
	if !ok {
		return nil, fmt.Errorf("storage extension %q is not configured in the service's extensions", r.cfg.StorageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", r.cfg.StorageID)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, r.set.ID, "")
	if err != nil {
		return nil, fmt.Errorf("opening storage extension %q: %w", r.cfg.StorageID, err)
	}
	return client, nil
}

// loadPosition returns the stored position, or the configured start when
// none is stored. A stored checkpoint that cannot be used (or cannot be
// read) is an error that names the fix: the receiver does not guess where
// to start, since starting anywhere after the lost position skips records.
func (r *logsReceiver) loadPosition(ctx context.Context) (checkpoint.Position, error) {
	// No audit log is older than the checkpoint's floor: an earlier start
	// reads the same records.
	start := checkpoint.Start(later(r.cfg.startTime(r.now()), checkpoint.MinSecond))
	pos, found, err := r.store.Load(ctx)
	switch {
	case err != nil:
		return checkpoint.Position{}, fmt.Errorf("the stored checkpoint of receiver %s cannot be used: %w; "+
			"nothing is read until it is fixed, since reading from start_time or initial_lookback would skip what lies between. "+
			"Stop the collector, then `zendesk-audit checkpoint show --storage-dir DIR --receiver %s` shows it; "+
			"`checkpoint set --time T` resumes from a time, `checkpoint reset` from start_time or initial_lookback", r.set.ID, err, r.set.ID)
	case !found:
		r.logger.Info("No checkpoint stored; reading from the configured start", zap.Time("start", start.Second))
		return start, nil
	}
	r.logger.Info("Resuming from the stored checkpoint",
		zap.Time("second", pos.Second), zap.Int("ids_delivered_in_second", len(pos.IDs())))
	return pos, nil
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func (r *logsReceiver) run(ctx context.Context) {
	defer r.wg.Done()
	timer := time.NewTimer(r.firstPoll) // the first receiver of a factory polls at start
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := r.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.logger.Error("Polling the Zendesk audit log failed; the checkpoint stays where it is and the next poll retries",
				zap.Error(err), zap.Duration("next_poll_in", r.cfg.PollInterval))
			r.status.failed(err)
		} else {
			r.status.ok()
		}
		r.publishPosition()
		timer.Reset(r.cfg.PollInterval)
	}
}

// deliver hands the records of one page that are not done yet to the next
// consumer and, once it accepted them, moves the checkpoint past them.
// It filters page in place: the caller gives it up.
func (r *logsReceiver) deliver(ctx context.Context, page []zendesk.AuditLog, observed time.Time) error {
	fresh := page[:0] // written at or behind the record being read
	delivered := r.delivered[:0]
	if r.inPage == nil {
		r.inPage = make(map[int64]struct{}, len(page))
	}
	inPage := r.inPage
	clear(inPage)
	for i := range page {
		a := &page[i]
		id, hasID := a.ID.Get()
		created, hasCreated := a.CreatedAt.Get()
		if hasID && hasCreated {
			if _, dup := inPage[id]; dup || r.pos.Done(id, created) {
				continue
			}
			inPage[id] = struct{}{}
			delivered = append(delivered, checkpoint.Record{ID: id, CreatedAt: created})
		}
		// A record without id or created_at cannot be placed: it is
		// delivered, and does not move the checkpoint.
		if len(fresh) == i {
			fresh = fresh[:i+1] // in place already: no copy
		} else {
			fresh = append(fresh, *a)
		}
	}
	r.delivered = delivered // Advance keeps none of it
	if len(fresh) == 0 {
		return nil
	}
	if err := r.consume(ctx, fresh, observed); err != nil {
		return err
	}
	r.malformed.delivered(ctx, fresh, r.now())
	r.pos = r.pos.Advance(delivered)
	r.save(ctx)
	r.publishPosition()
	return nil
}

// save stores the position; it runs even if shutdown began, since what it
// records was delivered. A failure is kept for Shutdown, which tries the
// last save again.
func (r *logsReceiver) save(ctx context.Context) {
	r.saveErr = r.store.Save(context.WithoutCancel(ctx), r.pos)
	if r.saveErr != nil {
		r.logger.Error("The checkpoint could not be saved; after a restart the records since the last saved checkpoint are delivered again",
			zap.Error(r.saveErr), zap.Time("second", r.pos.Second))
	}
}

// consume calls the next consumer until it accepts the page, retrying
// retryable errors as retry_on_failure says, the way exporterhelper's
// retry sender reads the same settings: cenkalti/backoff's exponential
// backoff, given up after max_elapsed_time (0: never), or at once when
// retries are disabled. A permanent error drops the page. It returns an
// error only when retries are exhausted or the receiver is shutting down;
// the page is then read again by the next poll.
func (r *logsReceiver) consume(ctx context.Context, records []zendesk.AuditLog, observed time.Time) error {
	cfg := r.cfg.BackOffConfig
	opts := []backoff.RetryOption{
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval:     cfg.InitialInterval,
			RandomizationFactor: cfg.RandomizationFactor,
			Multiplier:          cfg.Multiplier,
			MaxInterval:         cfg.MaxInterval,
		}),
		backoff.WithMaxElapsedTime(cfg.MaxElapsedTime),
		backoff.WithNotify(func(err error, wait time.Duration) {
			r.logger.Warn("The next consumer refused audit logs with a retryable error; retrying the same page",
				zap.Int("records", len(records)), zap.Error(err), zap.Duration("retry_in", wait))
		}),
	}
	if !cfg.Enabled {
		opts = append(opts, backoff.WithMaxTries(1))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		// Shutdown cancels ctx before anything else: from then on no
		// ConsumeLogs call starts (issue #20). The check is here, not
		// before Retry, because Retry runs its operation at least once,
		// whatever ctx says.
		if err := ctx.Err(); err != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, r.consumeOnce(ctx, records, observed)
	}, opts...)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("the next consumer refused %d audit logs and retries are over: %w", len(records), err)
	}
	return err
}

// consumeOnce hands the records to the next consumer once. A permanent
// error drops them (counted and logged): nil is returned, as nothing would
// change by asking again.
func (r *logsReceiver) consumeOnce(ctx context.Context, records []zendesk.AuditLog, observed time.Time) error {
	// A new plog.Logs for every call: once ConsumeLogs returns, the
	// pipeline may release what it was handed (with the collector's
	// pdata.useProtoPooling gate, its objects go back to pools).
	ld := convert.Logs(records, r.convSet, observed)
	// Not ctx: a call in flight at shutdown may finish (see Shutdown).
	opCtx := r.obsrecv.StartLogsOp(r.consumeCtx)
	err := r.next.ConsumeLogs(opCtx, ld)
	r.obsrecv.EndLogsOp(opCtx, dataFormat, len(records), err)
	if err != nil && consumererror.IsPermanent(err) {
		r.logger.Error("Dropping audit logs: the next consumer refused them with a permanent error",
			zap.Int("dropped_records", len(records)), zap.Error(err))
		r.tb.ZendeskAuditLogsRecordsDropped.Add(ctx, int64(len(records)), r.instance)
		return nil
	}
	return err
}

// publishPosition makes the position the one the checkpoint lag is
// measured from. Only the poll goroutine (or Start, before it runs) calls
// it.
func (r *logsReceiver) publishPosition() {
	r.published.Store(r.pos.Second.UnixNano())
}

// registerLag reports the checkpoint lag from now on (see observeLag).
func (r *logsReceiver) registerLag() error {
	if err := r.tb.RegisterZendeskAuditLogsCheckpointLagCallback(r.observeLag); err != nil {
		return fmt.Errorf("registering the checkpoint lag metric: %w", err)
	}
	return nil
}

// observeLag reports the checkpoint lag when the metrics are read: the
// time since the published position, so that the lag keeps growing while
// the poll goroutine is stuck (an API that does not answer, a consumer
// that retries for ever), and an alert on it fires.
func (r *logsReceiver) observeLag(_ context.Context, o metric.Float64Observer) error {
	if ns := r.published.Load(); ns != 0 {
		o.Observe(r.now().Sub(time.Unix(0, ns)).Seconds(), r.instance)
	}
	return nil
}

// refusedPollsForPermanent is how many polls in a row must end with the
// credentials refused (401 or 403) before the status becomes a permanent
// error. One refusal may be a moment's inconsistency (a token rotated a
// little before the collector's secret), and the collector's status state
// machine makes a permanent error final; a refusal that lasted a whole
// poll_interval needs a person, and waiting longer only delays the alert.
const refusedPollsForPermanent = 2

// statusReporter reports component status on change only. It is used by
// the poll goroutine alone.
type statusReporter struct {
	host   component.Host
	logger *zap.Logger
	last   string
	// refused counts the polls in a row that ended with the credentials
	// refused.
	refused int
}

func (s *statusReporter) ok() {
	if s.refused >= refusedPollsForPermanent {
		// Collector v0.165 makes a permanent error final: it ignores this
		// OK, and shows the error until it restarts.
		s.logger.Info("Zendesk accepts the credentials again; polling resumed " +
			"(the collector may keep showing the permanent error status until it restarts)")
	}
	s.refused = 0
	if s.last != "ok" {
		s.last = "ok"
		componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// failed reports a recoverable error, or a permanent one once the
// credentials were refused in refusedPollsForPermanent polls in a row; a
// new kind of failure is a change, a repeat of the same kind is not.
func (s *statusReporter) failed(err error) {
	if zendesk.OAuthClientRefused(err) {
		// The token endpoint's refusal is no moment's inconsistency: it
		// needs someone in Admin Center now.
		s.refused = refusedPollsForPermanent
		if s.last != "permanent" {
			s.last = "permanent"
			s.logger.Error("Zendesk refused the OAuth client: the component status is now a permanent error. "+
				"The receiver keeps polling every poll_interval and resumes once the client is accepted",
				zap.Error(err))
			componentstatus.ReportStatus(s.host, componentstatus.NewPermanentErrorEvent(err))
		}
		return
	}
	kind := zendesk.KindOf(err)
	if kind == zendesk.KindAuth || kind == zendesk.KindForbidden {
		s.refused++
	} else {
		s.refused = 0
	}
	if s.refused >= refusedPollsForPermanent {
		if s.last != "permanent" {
			s.last = "permanent"
			s.logger.Error("Zendesk refused the credentials in consecutive polls: the component status is now a permanent error. "+
				"The receiver keeps polling every poll_interval and resumes once the credentials are accepted",
				zap.Int("refused_polls", s.refused), zap.Error(err))
			componentstatus.ReportStatus(s.host, componentstatus.NewPermanentErrorEvent(err))
		}
		return
	}
	key := "error:" + kind.String()
	if s.last != key {
		s.last = key
		componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(err))
	}
}
