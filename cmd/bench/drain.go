package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	zendeskreceiver "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"
)

// Counter is a logs consumer that counts log records and signals when a
// target count is reached.
type Counter struct {
	n      atomic.Int64
	target int64
	once   sync.Once
	done   chan struct{}
}

// NewCounter returns a Counter that closes Done once target records
// arrived.
func NewCounter(target int) *Counter {
	return &Counter{target: int64(target), done: make(chan struct{})}
}

// ConsumeLogs counts the records of ld.
func (c *Counter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	if c.n.Add(int64(ld.LogRecordCount())) >= c.target {
		c.once.Do(func() { close(c.done) })
	}
	return nil
}

// Capabilities says the counter does not mutate data.
func (*Counter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// Count is the number of records consumed so far.
func (c *Counter) Count() int { return int(c.n.Load()) }

// Done is closed once the target count is reached.
func (c *Counter) Done() <-chan struct{} { return c.done }

// DrainResult is one measured drain of a backlog.
type DrainResult struct {
	Records int
	// CPU is this process's CPU time (user+system) from creating the
	// receiver until the last record was consumed.
	CPU  time.Duration
	Wall time.Duration
}

// RecordsPerCPUSecond is records ÷ CPU seconds.
func (r DrainResult) RecordsPerCPUSecond() float64 {
	if r.CPU <= 0 {
		return 0
	}
	return float64(r.Records) / r.CPU.Seconds()
}

// drainTimeout bounds a drain of n records.
func drainTimeout(n int) time.Duration { return time.Minute + time.Duration(n)*time.Millisecond }

// measureDrain creates and starts a receiver with create, waits until it
// delivered n records to a counting consumer (bounded by timeout), and
// measures this process's CPU time and the wall time over that span.
func measureDrain(ctx context.Context, n int, timeout time.Duration, create func(context.Context, consumer.Logs) (component.Component, error)) (DrainResult, error) {
	counter := NewCounter(n)
	runtime.GC() // leave earlier garbage out of the measurement
	cpu0, err := ProcessCPU()
	if err != nil {
		return DrainResult{}, err
	}
	t0 := time.Now()
	rcv, err := create(ctx, counter)
	if err != nil {
		return DrainResult{}, err
	}
	if err := rcv.Start(ctx, componenttest.NewNopHost()); err != nil {
		return DrainResult{}, err
	}
	var waitErr error
	select {
	case <-counter.Done():
	case <-time.After(timeout):
		waitErr = fmt.Errorf("timed out after %s with %d of %d records", timeout, counter.Count(), n)
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	wall := time.Since(t0)
	cpu1, cpuErr := ProcessCPU()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	shutErr := rcv.Shutdown(shutCtx)
	if err := errors.Join(waitErr, cpuErr, shutErr); err != nil {
		return DrainResult{}, err
	}
	return DrainResult{Records: counter.Count(), CPU: cpu1 - cpu0, Wall: wall}, nil
}

// ReceiverOptions configure the zendesk_audit_logs receiver for a run.
type ReceiverOptions struct {
	// RequestsPerMinute is max_requests_per_minute; 0 means no budget.
	RequestsPerMinute int
	// PollInterval defaults to 1s, the least the receiver accepts.
	PollInterval time.Duration
	// MaxConcurrentRequests is max_concurrent_requests; 0 keeps the
	// factory's default.
	MaxConcurrentRequests int
}

// ReceiverConfig is the receiver's configuration for reading sim: the
// factory's defaults with settle_delay 0 and an initial_lookback of 24h,
// which covers the simulator's backlog.
func ReceiverConfig(sim Sim, opts ReceiverOptions) *zendeskreceiver.Config {
	cfg := zendeskreceiver.NewFactory().CreateDefaultConfig().(*zendeskreceiver.Config)
	cfg.Endpoint = sim.URL
	cfg.Email = sim.Email
	cfg.APIToken = configopaque.String(sim.APIToken)
	cfg.PollInterval = opts.PollInterval
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	cfg.SettleDelay = 0
	cfg.InitialLookback = 24 * time.Hour
	cfg.PageSize = 100
	cfg.MaxRequestsPerMinute = opts.RequestsPerMinute
	if opts.MaxConcurrentRequests > 0 {
		cfg.MaxConcurrentRequests = opts.MaxConcurrentRequests
	}
	return cfg
}

// createReceiver creates the zendesk_audit_logs receiver with the factory,
// as a collector does.
func createReceiver(ctx context.Context, sim Sim, opts ReceiverOptions, next consumer.Logs) (component.Component, error) {
	f := zendeskreceiver.NewFactory()
	cfg := ReceiverConfig(sim, opts)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return f.CreateLogs(ctx, receivertest.NewNopSettings(f.Type()), cfg, next)
}

// DrainReceiver measures the zendesk_audit_logs receiver reading a backlog
// of n records from sim with no request budget.
func DrainReceiver(ctx context.Context, sim Sim, n int) (DrainResult, error) {
	return measureDrain(ctx, n, drainTimeout(n), func(ctx context.Context, next consumer.Logs) (component.Component, error) {
		return createReceiver(ctx, sim, ReceiverOptions{}, next)
	})
}

// FilelogConfig is contrib's filelog receiver reading path from its
// beginning, each line parsed as JSON with created_at as the timestamp.
func FilelogConfig(path string) (component.Config, error) {
	cfg := filelogreceiver.NewFactory().CreateDefaultConfig()
	cm := confmap.NewFromStringMap(map[string]any{
		"include":  []any{path},
		"start_at": "beginning",
		"operators": []any{
			map[string]any{
				"type": "json_parser",
				"timestamp": map[string]any{
					"parse_from":  "attributes.created_at",
					"layout_type": "strptime",
					"layout":      "%Y-%m-%dT%H:%M:%SZ",
				},
			},
		},
	})
	if err := cm.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("filelog config: %w", err)
	}
	if v, ok := cfg.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("filelog config: %w", err)
		}
	}
	return cfg, nil
}

// DrainFilelog measures contrib's filelog receiver reading the n JSON
// lines of path (see [Sim.DumpJSONLines]).
func DrainFilelog(ctx context.Context, path string, n int) (DrainResult, error) {
	cfg, err := FilelogConfig(path)
	if err != nil {
		return DrainResult{}, err
	}
	return measureDrain(ctx, n, drainTimeout(n), func(ctx context.Context, next consumer.Logs) (component.Component, error) {
		f := filelogreceiver.NewFactory()
		return f.CreateLogs(ctx, receivertest.NewNopSettings(f.Type()), cfg, next)
	})
}
