package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// collectorConfig is the built collector's configuration for the RSS
// runs: the receiver draining the simulator with no budget, straight into
// the debug exporter at basic verbosity (one line per page), no storage
// (the checkpoint lives in memory) and no internal metrics.
var collectorConfig = template.Must(template.New("collector").Parse(`receivers:
  zendesk_audit_logs:
    endpoint: {{.URL}}
    email: {{.Email}}
    api_token: {{.APIToken}}
    poll_interval: 1s
    settle_delay: 0s
    initial_lookback: 24h
    page_size: 100
    max_requests_per_minute: 0
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [zendesk_audit_logs]
      exporters: [debug]
`))

// CollectorConfig renders the collector configuration for reading sim.
func CollectorConfig(sim Sim) (string, error) {
	var b bytes.Buffer
	if err := collectorConfig.Execute(&b, sim); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RSSResult is the collector's memory after draining a backlog.
type RSSResult struct {
	Records int
	// PeakRSS is VmHWM, the peak resident set size, in bytes; RSS is
	// VmRSS at the same moment.
	PeakRSS int64
	RSS     int64
	// Drain is the time from starting the collector until it had read
	// the whole backlog.
	Drain time.Duration
}

// CollectorRSS starts, under sup, the simulator binary simPath with a
// backlog of n records and the built collector collectorPath reading it
// (see [CollectorConfig]); once the collector has read the whole backlog and
// polled again (so it is done with the last page), it reads the
// collector's peak RSS. Both processes are stopped before it returns.
// Logs go to dir.
func CollectorRSS(ctx context.Context, sup *childproc.Supervisor, collectorPath, simPath string, n int, dir string) (RSSResult, error) {
	tag := strconv.Itoa(n)
	sim, err := StartSim(ctx, sup, simPath, n, filepath.Join(dir, "rss-sim-"+tag+".log"))
	if err != nil {
		return RSSResult{}, err
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()

	conf, err := CollectorConfig(sim.Sim)
	if err != nil {
		return RSSResult{}, err
	}
	confPath := filepath.Join(dir, "rss-collector-"+tag+".yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return RSSResult{}, err
	}
	t0 := time.Now()
	col, err := sup.Start("otelcol-zendesk", collectorPath, []string{"--config", confPath},
		filepath.Join(dir, "rss-collector-"+tag+".log"), nil)
	if err != nil {
		return RSSResult{}, err
	}
	defer func() { _ = col.Stop(15 * time.Second) }()

	// Any exit of the collector while waiting is a failure.
	waitCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-col.Done():
			cancel(fmt.Errorf("the collector exited early (%s); its log ends:\n%s", col.ExitStatus(), col.LogTail(15)))
		case <-waitCtx.Done():
		}
	}()
	fail := func(err error) (RSSResult, error) {
		if cause := context.Cause(waitCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		return RSSResult{}, fmt.Errorf("collector draining %d records: %w", n, err)
	}

	served, err := sim.WaitStats(waitCtx, drainTimeout(n), func(st zendesksim.Stats) bool { return st.RecordsServed >= n })
	if err != nil {
		return fail(err)
	}
	drain := time.Since(t0)
	// Polls are sequential: the next list request comes from the next
	// poll, after the last page was delivered to the exporter.
	if _, err := sim.WaitStats(waitCtx, 30*time.Second, func(st zendesksim.Stats) bool {
		return st.ListRequests > served.ListRequests
	}); err != nil {
		return fail(fmt.Errorf("waiting for the poll after the backlog: %w", err))
	}
	if col.Exited() {
		return fail(errors.New("the collector exited"))
	}
	rss, err := childproc.ReadRSS(col.Pid())
	if err != nil {
		return fail(fmt.Errorf("peak RSS is read from /proc (Linux only): %w", err))
	}
	return RSSResult{Records: n, PeakRSS: rss.Peak, RSS: rss.Current, Drain: drain}, nil
}

// RSSGrowthResult is the built collector's memory before and after
// pulling a backlog.
type RSSGrowthResult struct {
	Records int
	// Start is VmRSS once the collector started, before it read
	// anything; Peak is VmHWM once it read the whole backlog.
	Start, Peak int64
	// Drain is how long it took to read the whole backlog once the API
	// answered.
	Drain time.Duration
}

// CollectorRSSGrowth is [CollectorRSS] for a receiver with a budget of
// rpm requests a minute: while the simulator answers every request with
// a 503, the collector starts and settles, and its RSS is read; then the
// receiver reads the backlog of n records, and the collector's peak RSS
// is read once it polled again.
func CollectorRSSGrowth(ctx context.Context, sup *childproc.Supervisor, collectorPath, simPath string, n, rpm int, dir string) (RSSGrowthResult, error) {
	tag := fmt.Sprintf("%d-%drpm", n, rpm)
	sim, err := StartSim(ctx, sup, simPath, n, filepath.Join(dir, "rssgrowth-sim-"+tag+".log"))
	if err != nil {
		return RSSGrowthResult{}, err
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	base, err := holdAPI(ctx, sim.Sim)
	if err != nil {
		return RSSGrowthResult{}, err
	}
	conf, err := CollectorConfig(sim.Sim)
	if err != nil {
		return RSSGrowthResult{}, err
	}
	conf = strings.Replace(conf, "max_requests_per_minute: 0", "max_requests_per_minute: "+strconv.Itoa(rpm), 1)
	col, err := startCollector(sup, collectorPath, dir, "rssgrowth-collector-"+tag, conf)
	if err != nil {
		return RSSGrowthResult{}, err
	}
	defer func() { _ = col.Stop(15 * time.Second) }()
	fail := func(err error) (RSSGrowthResult, error) {
		return RSSGrowthResult{}, fmt.Errorf("collector reading %d records at %d requests a minute: %w", n, rpm, col.explain(err))
	}
	// Started: it asked at least once (and got a 503), and its CPU settled.
	if _, err := sim.WaitStats(ctx, 30*time.Second, func(st zendesksim.Stats) bool { return st.Requests > base.Requests }); err != nil {
		return fail(err)
	}
	if _, err := settledCPU(ctx, col.Pid()); err != nil {
		return fail(err)
	}
	start, err := childproc.ReadRSS(col.Pid())
	if err != nil {
		return fail(err)
	}
	released := time.Now()
	if err := releaseAndDrain(ctx, sim.Sim, base, n); err != nil {
		return fail(err)
	}
	drain := time.Since(released)
	end, err := childproc.ReadRSS(col.Pid())
	if err != nil {
		return fail(err)
	}
	return RSSGrowthResult{Records: n, Start: start.Current, Peak: end.Peak, Drain: drain}, nil
}
