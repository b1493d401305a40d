package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// AccountsOptions describe one capacity run: one collector, one receiver
// per simulated account, every account backfilling at once.
type AccountsOptions struct {
	// Accounts is how many receivers (and simulated accounts).
	Accounts int
	// Records is each account's backlog, spread over the day before.
	Records int
	// RequestsPerMinute is each receiver's max_requests_per_minute; 0
	// keeps the receiver's default (100).
	RequestsPerMinute int
	// Latency is the simulator's answer time.
	Latency time.Duration
	// ShippedMemory runs the collector with the memory settings of the
	// shipped StatefulSet (see ShippedMemoryLimiterMiB): a memory_limiter
	// before the exporter, and GOMEMLIMIT.
	ShippedMemory bool
	// Idle, when positive, is how long the collector's CPU is watched
	// once every account is caught up (polling every minute, the
	// default poll_interval).
	Idle time.Duration
}

// AccountsResult is one capacity run.
type AccountsResult struct {
	Records int // in all accounts
	// CaughtUp is the time from starting the collector until the
	// simulator served every account its whole backlog.
	CaughtUp time.Duration
	// PeakRSS is the collector's VmHWM when every account was caught up.
	PeakRSS int64
	// IdleCPU is the collector's CPU over Idle; IdleRSS its VmRSS at the
	// end of it.
	IdleCPU time.Duration
	IdleRSS int64
	// Refusals counts the memory_limiter's log lines saying it refused
	// data (with ShippedMemory), by the time every account was caught up.
	Refusals int
}

// The memory settings of the shipped StatefulSet (deploy/kubernetes:
// configmap.yaml's memory_limiter, statefulset.yaml's GOMEMLIMIT and
// memory limit), for capacity runs with AccountsOptions.ShippedMemory;
// cmd/deploytest checks them against the manifests.
const (
	ShippedMemoryLimiterMiB      = 400
	ShippedMemoryLimiterSpikeMiB = 100
	ShippedGOMEMLIMIT            = "450MiB"
	ShippedMemoryLimit           = "512Mi"
)

// memoryRefusedLog is what the memory_limiter (v0.165) logs each time it
// refuses data.
const memoryRefusedLog = "Memory usage is above soft limit. Refusing data."

// accountsCollectorConfig is the collector of a capacity run: a receiver
// per account with the receiver's defaults but for the budget and an
// initial_lookback that covers the backlog, all into the debug exporter
// at basic verbosity; no storage, no internal metrics.
func accountsCollectorConfig(urls []string, o AccountsOptions) string {
	var b strings.Builder
	b.WriteString("receivers:\n")
	names := make([]string, len(urls))
	for i, u := range urls {
		names[i] = fmt.Sprintf("zendesk_audit_logs/a%03d", i)
		fmt.Fprintf(&b, "  %s:\n    endpoint: %s\n    email: %s\n    api_token: %s\n    initial_lookback: 25h\n", names[i], u, SimEmail, SimAPIToken)
		if o.RequestsPerMinute > 0 {
			fmt.Fprintf(&b, "    max_requests_per_minute: %d\n", o.RequestsPerMinute)
		}
	}
	processors := ""
	if o.ShippedMemory {
		fmt.Fprintf(&b, "processors:\n  memory_limiter:\n    check_interval: 1s\n    limit_mib: %d\n    spike_limit_mib: %d\n",
			ShippedMemoryLimiterMiB, ShippedMemoryLimiterSpikeMiB)
		processors = "      processors: [memory_limiter]\n"
	}
	fmt.Fprintf(&b, `exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [%s]
%s      exporters: [debug]
`, strings.Join(names, ", "), processors)
	return b.String()
}

// SimAccount is one account of a simulator started with --accounts.
type SimAccount struct {
	URL   string           `json:"url"`
	Stats zendesksim.Stats `json:"stats"`
}

// Accounts lists every account of the simulator at s (GET /_sim/accounts).
func (s Sim) Accounts(ctx context.Context) ([]SimAccount, error) {
	var out []SimAccount
	err := s.get(ctx, "/_sim/accounts", false, &out)
	return out, err
}

// CollectorAccounts starts, under sup, one simulator process serving
// o.Accounts accounts of o.Records records each (the day before, answers
// taking o.Latency) and the built collector with a receiver for each,
// then waits until every account was served its backlog and reads the
// collector's peak RSS; with o.Idle it then watches the caught-up
// collector's CPU. Both processes are stopped before it returns.
func CollectorAccounts(ctx context.Context, sup *childproc.Supervisor, collectorPath, simPath string, o AccountsOptions, dir string) (AccountsResult, error) {
	tag := fmt.Sprintf("%d-%d", o.Accounts, o.RequestsPerMinute)
	r, w, err := os.Pipe()
	if err != nil {
		return AccountsResult{}, err
	}
	args := []string{"--listen", "127.0.0.1:0", "--accounts", strconv.Itoa(o.Accounts), "--events", strconv.Itoa(o.Records),
		"--backlog", "24h", "--seed", "1", "--budget", strconv.Itoa(SimAccountBudget), "--latency", o.Latency.String()}
	sim, err := sup.Start("zendesk-sim", simPath, args, filepath.Join(dir, "accounts-sim-"+tag+".log"), w)
	w.Close()
	if err != nil {
		r.Close()
		return AccountsResult{}, err
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	first, err := childproc.ReadFirstLine(ctx, r, io.Discard, time.Minute+time.Duration(o.Accounts*o.Records)*20*time.Microsecond)
	if err != nil {
		return AccountsResult{}, fmt.Errorf("zendesk-sim did not print its URLs: %w; its log ends:\n%s", err, sim.LogTail(10))
	}
	s := Sim{URL: first}
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return AccountsResult{}, err
	}
	urls := make([]string, len(accounts))
	for i, a := range accounts {
		urls[i] = a.URL
	}
	t0 := time.Now()
	var env []string
	if o.ShippedMemory {
		env = []string{"GOMEMLIMIT=" + ShippedGOMEMLIMIT}
	}
	col, err := startCollector(sup, collectorPath, dir, "accounts-collector-"+tag, accountsCollectorConfig(urls, o), env...)
	if err != nil {
		return AccountsResult{}, err
	}
	defer func() { _ = col.Stop(15 * time.Second) }()
	fail := func(err error) (AccountsResult, error) {
		return AccountsResult{}, fmt.Errorf("%d accounts: %w", o.Accounts, col.explain(err))
	}

	// Caught up: every account served its whole backlog (a slice's shared
	// second is served twice, so served >= records; the last page is
	// delivered within milliseconds of being served).
	deadline := t0.Add(10*time.Minute + time.Duration(o.Accounts*o.Records)*100*time.Microsecond)
	var behind int
	for {
		if col.Exited() {
			return fail(fmt.Errorf("%d accounts not caught up", behind))
		}
		accounts, err := s.Accounts(ctx)
		if err != nil {
			return fail(err)
		}
		behind = 0
		for _, a := range accounts {
			if a.Stats.RecordsServed < o.Records {
				behind++
			}
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("%d of %d accounts not caught up after %s", behind, o.Accounts, time.Since(t0).Round(time.Second)))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	res := AccountsResult{Records: o.Accounts * o.Records, CaughtUp: time.Since(t0)}
	rss, err := childproc.ReadRSS(col.Pid())
	if err != nil {
		return fail(err)
	}
	res.PeakRSS = rss.Peak
	if o.ShippedMemory {
		log, err := os.ReadFile(col.LogPath())
		if err != nil {
			return fail(err)
		}
		res.Refusals = bytes.Count(log, []byte(memoryRefusedLog))
	}
	if o.Idle <= 0 {
		return res, nil
	}
	// Let the last pages of the backfill through; the polls that follow
	// are each one request, a minute apart, spread over the minute.
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(3 * time.Second):
	}
	cpu0, err := childproc.ReadCPU(col.Pid())
	if err != nil {
		return fail(err)
	}
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(o.Idle):
	}
	cpu1, err := childproc.ReadCPU(col.Pid())
	if err != nil {
		return fail(err)
	}
	rss, err = childproc.ReadRSS(col.Pid())
	if err != nil {
		return fail(err)
	}
	res.IdleCPU, res.IdleRSS = cpu1-cpu0, rss.Current
	return res, nil
}
