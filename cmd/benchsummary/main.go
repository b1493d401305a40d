// Command benchsummary measures the zendesk_audit_logs receiver and prints
// every figure as a line `name: value` (see package bench):
//
//	cd cmd && go run ./benchsummary --collector ../_build/otelcol-zendesk --sim ../bin/zendesk-sim [--quick]
//
// Figures go to stdout, progress to stderr. Every child process (the
// simulator, the collector) is stopped on the way out, also on Ctrl-C, and
// every wait is bounded. The exit status is 1 if a measurement failed
// (its line then says `error: ...`); whether a target is met does not
// change it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/bench"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// measurements are the names --only accepts, in the order they run.
var measurements = []string{"decode", "drain", "cpu", "budget", "idle", "rss", "accounts"}

type options struct {
	collector      string
	sim            string
	quick          bool
	records        int
	runs           int
	budgetRPM      int
	budgetDuration time.Duration
	budgetLatency  time.Duration
	drainDuration  time.Duration
	latencyRPMs    []int
	idlePolls      int
	rssSizes       []int
	timeout        time.Duration
	only           map[string]bool
	keep           bool
	accounts       []int
	accountsRecs   int
	accountsRPMs   []int
	accountsIdle   time.Duration
	accountsLimits bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("benchsummary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.collector, "collector", "", "built collector (_build/otelcol-zendesk) for the RSS figures; empty skips them")
	fs.StringVar(&o.sim, "sim", "", "simulator binary (bin/zendesk-sim); empty builds ./cmd/zendesk-sim into a temporary directory")
	fs.BoolVar(&o.quick, "quick", false, "smaller backlogs and shorter runs, for a fast check (about a minute)")
	fs.IntVar(&o.records, "records", 0, "backlog of the e2e and filelog drains (default 100000; quick 20000)")
	fs.IntVar(&o.runs, "runs", 0, "drains of each receiver, alternating; the median is reported (default 3; quick 1)")
	fs.IntVar(&o.budgetRPM, "budget-rpm", 600, "max_requests_per_minute of the budget run")
	fs.DurationVar(&o.budgetDuration, "budget-duration", 0, "length of each budget run (default 20s; quick 5s)")
	fs.DurationVar(&o.budgetLatency, "budget-latency", 300*time.Millisecond, "the simulator's answer time in the budget runs at latency")
	fs.DurationVar(&o.drainDuration, "budget-drain-duration", 0, "the budget runs at latency drain the backlog their budget reads in this time (default 40s; quick 10s)")
	latencyRPMs := fs.String("budget-latency-rpm", "700,2500", "comma-separated max_requests_per_minute of the budget runs at --budget-latency (empty: none)")
	fs.IntVar(&o.idlePolls, "idle-polls", 0, "idle polls watched, 1s apart (default 10; quick 3)")
	sizes := fs.String("rss-sizes", "", "comma-separated backlogs of the RSS runs; the first is the baseline (default 10000,1000000; quick 10000,50000)")
	only := fs.String("only", "", "comma-separated subset of the measurements to run: decode, drain, cpu, budget, idle, rss, accounts (default all)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound of the whole run")
	accounts := fs.String("accounts", "", "comma-separated numbers of accounts (receivers in one collector) of the capacity runs (default 1,10,100,300; quick 1,10)")
	fs.IntVar(&o.accountsRecs, "accounts-records", 2000, "each account's backlog in the capacity runs (a day's records)")
	accountsRPMs := fs.String("accounts-rpm", "0,700", "comma-separated max_requests_per_minute of the capacity runs' backfills (0: the receiver's default, 100; idle figures come from that run)")
	fs.DurationVar(&o.accountsIdle, "accounts-idle", 30*time.Second, "how long the caught-up collector's CPU is watched in the capacity runs")
	fs.BoolVar(&o.accountsLimits, "accounts-shipped-memory", false, "run the capacity runs' collectors with the shipped StatefulSet's memory settings (memory_limiter, GOMEMLIMIT)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, configs, the JSON lines file)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	pick := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	pick(&o.records, 100_000, 20_000)
	pick(&o.idlePolls, 10, 3)
	pick(&o.runs, 3, 1)
	if o.budgetDuration == 0 {
		o.budgetDuration = 20 * time.Second
		if o.quick {
			o.budgetDuration = 5 * time.Second
		}
	}
	if o.drainDuration == 0 {
		o.drainDuration = 40 * time.Second
		if o.quick {
			o.drainDuration = 10 * time.Second
		}
	}
	if *sizes == "" {
		*sizes = "10000,1000000"
		if o.quick {
			*sizes = "10000,50000"
		}
	}
	for s := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("--rss-sizes: %q is not a positive number", s)
		}
		o.rssSizes = append(o.rssSizes, n)
	}
	if *accounts == "" {
		*accounts = "1,10,100,300"
		if o.quick {
			*accounts = "1,10"
		}
	}
	var err error
	if o.accounts, err = positiveInts("--accounts", *accounts, false); err != nil {
		return o, err
	}
	if o.accountsRPMs, err = positiveInts("--accounts-rpm", *accountsRPMs, true); err != nil {
		return o, err
	}
	for s := range strings.SplitSeq(*latencyRPMs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("--budget-latency-rpm: %q is not a positive number", s)
		}
		o.latencyRPMs = append(o.latencyRPMs, n)
	}
	if *only != "" {
		o.only = map[string]bool{}
		for m := range strings.SplitSeq(*only, ",") {
			m = strings.TrimSpace(m)
			if !slices.Contains(measurements, m) {
				return o, fmt.Errorf("--only: unknown measurement %q (known: %s)", m, strings.Join(measurements, ", "))
			}
			o.only[m] = true
		}
	}
	switch {
	case o.records <= 0:
		return o, errors.New("--records must be positive")
	case o.budgetRPM <= 0:
		return o, errors.New("--budget-rpm must be positive")
	case o.budgetDuration < time.Second:
		return o, errors.New("--budget-duration must be at least 1s")
	case o.budgetLatency <= 0:
		return o, errors.New("--budget-latency must be positive")
	case o.runs <= 0:
		return o, errors.New("--runs must be positive")
	case o.idlePolls <= 0:
		return o, errors.New("--idle-polls must be positive")
	}
	return o, nil
}

// summary prints figures as they come and remembers failures.
type summary struct {
	out    io.Writer
	log    io.Writer
	failed bool
	values map[string]float64
}

func (s *summary) line(name string, value any) {
	switch v := value.(type) {
	case float64:
		fmt.Fprintf(s.out, "%s: %s\n", name, formatFloat(v))
		s.values[name] = v
	default:
		fmt.Fprintf(s.out, "%s: %v\n", name, v)
	}
}

func (s *summary) fail(name string, err error) {
	s.failed = true
	fmt.Fprintf(s.out, "%s: error: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " | "))
}

func (s *summary) progress(format string, args ...any) {
	fmt.Fprintf(s.log, "[benchsummary %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// target prints whether a target is met.
func (s *summary) target(name string, met bool, rule string) {
	verdict := "not met"
	if met {
		verdict = "met"
	}
	s.line("target_"+name, verdict+" ("+rule+")")
}

func formatFloat(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	procs := childproc.NewSupervisor("benchsummary")
	defer procs.StopAll(5 * time.Second)

	s := &summary{out: stdout, log: stderr, values: map[string]float64{}}
	dir, err := os.MkdirTemp("", "benchsummary-")
	if err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	if o.keep {
		s.progress("work directory %s (kept)", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	s.line("date", time.Now().UTC().Format(time.RFC3339))
	s.line("nproc", runtime.NumCPU())
	s.line("cpu_model", cpuModel())
	s.line("go_version", runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	s.line("commit", gitCommit(ctx))
	mode := "full"
	if o.quick {
		mode = "quick"
	}
	s.line("mode", mode)
	s.line("loadavg_start", loadAvg())

	simPath, err := findSim(ctx, o.sim, dir, s)
	if err != nil {
		fmt.Fprintln(stderr, "benchsummary:", err)
		return 1
	}
	s.line("sim_binary", describeBinary(simPath))
	if o.collector != "" {
		s.line("collector_binary", describeBinary(o.collector))
	}

	want := func(m string) bool { return o.only == nil || o.only[m] }
	if want("decode") {
		decodeConvert(s)
	}
	if want("drain") {
		drains(ctx, s, procs, simPath, dir, o.records, o.runs)
	}
	if want("cpu") {
		cpuRatio(ctx, s, procs, o.collector, simPath, dir, o.records, 2*o.runs) // pairs: each order as often
	}
	if want("budget") {
		budget(ctx, s, procs, simPath, dir, budgetRun{rpm: o.budgetRPM, d: o.budgetDuration})
		for _, rpm := range o.latencyRPMs {
			budget(ctx, s, procs, simPath, dir, budgetRun{rpm: rpm, d: o.drainDuration, latency: o.budgetLatency})
		}
	}
	if want("idle") {
		idle(ctx, s, procs, simPath, dir, o.idlePolls)
	}
	if want("rss") {
		rss(ctx, s, procs, o.collector, simPath, dir, o.rssSizes)
	}
	if want("accounts") {
		capacity(ctx, s, procs, o, simPath, dir)
	}

	s.line("loadavg_end", loadAvg())
	if ctx.Err() != nil {
		s.progress("stopped: %v", context.Cause(ctx))
		s.failed = true
	}
	if s.failed {
		if !o.keep {
			s.progress("a measurement failed; run again with --keep to look at the logs")
		}
		return 1
	}
	return 0
}

func findSim(ctx context.Context, flagSim, dir string, s *summary) (string, error) {
	if flagSim != "" {
		if _, err := os.Stat(flagSim); err != nil {
			return "", fmt.Errorf("--sim: %w (run `make build`)", err)
		}
		return flagSim, nil
	}
	s.progress("building ./cmd/zendesk-sim")
	mod, err := bench.ModuleDir(ctx)
	if err != nil {
		return "", err
	}
	return bench.BuildSim(ctx, mod, dir)
}

// decodeConvert runs the decode benchmarks five times each and reports
// the run with the median ns/record: zendesk.DecodeCursorPage alone
// (decode_ns_per_record), then with convert.Logs
// (decode_cursor_page_convert_ns_per_record: the receiver's path), then
// the same with the collector's pdata.useProtoPooling gate on (see
// bench.DecodeCursorPageConvertPagePooled): what is left of the
// allocations once pdata's own come from pools. They are figures, not
// targets: the decoder is a library (github.com/go-json-experiment/json),
// and at the API's ceiling its cost is a small share of a core (see
// docs/performance.md).
func decodeConvert(s *summary) {
	benchDecode(s, "decode", "decode_allocs_per_record", bench.DecodePage)
	benchDecode(s, "decode_cursor_page_convert", "decode_cursor_page_convert_allocs_per_record", bench.DecodeCursorPageConvertPage)
	benchDecode(s, "decode_cursor_page_convert_pooled", "decode_cursor_page_convert_pooled_allocs_per_record", bench.DecodeCursorPageConvertPagePooled)
}

// benchDecode reports the median run's ns and allocations per record.
func benchDecode(s *summary, name, allocsName string, f func(*testing.B)) {
	const runs = 5
	s.progress("%s of a 100-record page (testing.Benchmark, %d runs)", name, runs)
	type result struct{ ns, allocs float64 }
	var rs []result
	var each []string
	for range runs {
		r := testing.Benchmark(f)
		if r.N == 0 {
			s.fail(name+"_ns_per_record", errors.New("the benchmark failed"))
			s.fail(allocsName, errors.New("the benchmark failed"))
			return
		}
		records := float64(r.N * bench.PageRecords)
		rs = append(rs, result{ns: float64(r.T.Nanoseconds()) / records, allocs: float64(r.MemAllocs) / records})
		each = append(each, formatFloat(rs[len(rs)-1].ns))
	}
	s.line(name+"_runs_ns_per_record", strings.Join(each, " "))
	slices.SortFunc(rs, func(a, b result) int { return cmpFloat(a.ns, b.ns) })
	m := rs[runs/2]
	s.line(name+"_ns_per_record", m.ns)
	s.line(allocsName, m.allocs)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// drains measures the receiver and filelog on the same n records, in this
// process, the simulator in another: runs of each, alternating, and the
// median of each.
func drains(ctx context.Context, s *summary, procs *childproc.Supervisor, simPath, dir string, n, runs int) {
	fail := func(err error) {
		s.fail("e2e_records_per_cpu_second", err)
		s.fail("filelog_records_per_cpu_second", err)
	}
	s.progress("e2e: starting zendesk-sim with %d records", n)
	sim, err := bench.StartSim(ctx, procs, simPath, n, filepath.Join(dir, "e2e-sim.log"))
	if err != nil {
		fail(err)
		return
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	lines := filepath.Join(dir, "audit_logs.jsonl")
	s.progress("e2e: dumping the %d records as JSON lines to %s", n, lines)
	if err := bench.DumpFile(ctx, sim.Sim, lines, n); err != nil {
		fail(err)
		return
	}

	var ours, theirs []bench.DrainResult
	for i := range runs {
		s.progress("e2e run %d/%d: zendesk_audit_logs receiver draining %d records", i+1, runs, n)
		r, err := bench.DrainReceiver(ctx, sim.Sim, n)
		if err != nil {
			fail(err)
			return
		}
		ours = append(ours, r)
		s.progress("filelog run %d/%d: reading the same %d records from JSON lines", i+1, runs, n)
		r, err = bench.DrainFilelog(ctx, lines, n)
		if err != nil {
			fail(err)
			return
		}
		theirs = append(theirs, r)
	}
	o, t := median(ours), median(theirs)
	s.line("drain_runs", runs)
	s.line("e2e_records", o.Records)
	s.line("e2e_cpu_seconds", o.CPU.Seconds())
	s.line("e2e_wall_seconds", o.Wall.Seconds())
	s.line("e2e_runs_records_per_cpu_second", rates(ours))
	s.line("e2e_records_per_cpu_second", o.RecordsPerCPUSecond())
	s.line("filelog_records", t.Records)
	s.line("filelog_cpu_seconds", t.CPU.Seconds())
	s.line("filelog_wall_seconds", t.Wall.Seconds())
	s.line("filelog_runs_records_per_cpu_second", rates(theirs))
	s.line("filelog_records_per_cpu_second", t.RecordsPerCPUSecond())
	ratio := o.RecordsPerCPUSecond() / t.RecordsPerCPUSecond()
	s.line("ratio_vs_filelog", ratio)
}

// median is the run with the median records per CPU second (the lower
// middle one of an even number).
func median(rs []bench.DrainResult) bench.DrainResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b bench.DrainResult) int {
		return cmpFloat(a.RecordsPerCPUSecond(), b.RecordsPerCPUSecond())
	})
	return sorted[(len(sorted)-1)/2]
}

// rates lists each run's records per CPU second, in run order.
func rates(rs []bench.DrainResult) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = formatFloat(r.RecordsPerCPUSecond())
	}
	return strings.Join(parts, " ")
}

// budgetRun is one budget measurement: max_requests_per_minute rpm for d,
// against a simulator answering in latency.
type budgetRun struct {
	rpm     int
	d       time.Duration
	latency time.Duration
}

// names returns the prefix of the run's figures and the name of its
// utilization: the run without latency keeps the names it always had.
func (b budgetRun) names() (prefix, utilization string) {
	if b.latency == 0 {
		return "budget", "budget_utilization"
	}
	tag := fmt.Sprintf("%s_%drpm", strings.ReplaceAll(b.latency.String(), ".", "_"), b.rpm)
	return "budget_" + tag, "budget_utilization_" + tag
}

// maxConcurrent is the max_concurrent_requests of the run: the receiver's
// default (8, enough for 700 a minute at 300 ms) unless the budget needs
// more requests in flight at this latency (with the receiver's own margin
// and two to spare): 18 for 2,500 a minute at 300 ms. 0 keeps the default.
func (b budgetRun) maxConcurrent() int {
	need := int(math.Ceil(float64(b.rpm)/60*b.latency.Seconds()*1.25)) + 2
	if need <= 8 {
		return 0
	}
	return need
}

func budget(ctx context.Context, s *summary, procs *childproc.Supervisor, simPath, dir string, b budgetRun) {
	prefix, utilization := b.names()
	// Without latency: a fixed time against a backlog larger than the
	// budget reads in it. At latency: the time to drain a backlog the
	// budget reads in d, as a backfill is judged.
	backlog := bench.BudgetBacklog(b.rpm, b.d)
	if b.latency > 0 {
		backlog = bench.BudgetDrainBacklog(b.rpm, b.d)
	}
	s.progress("%s: %d requests/minute, %s, %d records answered in %s", prefix, b.rpm, b.d, backlog, b.latency)
	sim, err := bench.StartSim(ctx, procs, simPath, backlog, filepath.Join(dir, prefix+"-sim.log"), "--latency", b.latency.String())
	if err != nil {
		s.fail(utilization, err)
		return
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	opts := bench.ReceiverOptions{MaxConcurrentRequests: b.maxConcurrent()}
	var r bench.BudgetResult
	if b.latency > 0 {
		r, err = bench.BudgetDrain(ctx, sim.Sim, backlog, b.rpm, opts)
	} else {
		r, err = bench.Budget(ctx, sim.Sim, backlog, b.rpm, b.d, opts)
	}
	if err != nil {
		s.fail(utilization, err)
		return
	}
	s.line(prefix+"_requests_per_minute", b.rpm)
	if b.latency > 0 {
		s.line(prefix+"_latency_seconds", b.latency.Seconds())
		mc := b.maxConcurrent()
		if mc == 0 {
			mc = 8
		}
		s.line(prefix+"_max_concurrent_requests", mc)
	}
	s.line(prefix+"_elapsed_seconds", r.Elapsed.Seconds())
	s.line(prefix+"_requests_allowed", r.Allowed())
	s.line(prefix+"_requests_made", r.ListRequests)
	s.line(prefix+"_records", r.Records)
	s.line(prefix+"_peak_in_flight", r.PeakInFlight)
	s.line(utilization, r.Utilization())
	s.target(utilization, r.Utilization() >= 0.95, ">= 0.95")
}

func idle(ctx context.Context, s *summary, procs *childproc.Supervisor, simPath, dir string, polls int) {
	const backlog = 1000
	s.progress("idle: draining %d records, then watching %d polls (poll_interval 1s)", backlog, polls)
	sim, err := bench.StartSim(ctx, procs, simPath, backlog, filepath.Join(dir, "idle-sim.log"))
	if err != nil {
		s.fail("idle_requests_per_poll", err)
		return
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	r, err := bench.Idle(ctx, sim.Sim, backlog, polls, time.Second)
	if err != nil {
		s.fail("idle_requests_per_poll", err)
		return
	}
	s.line("idle_polls", r.Polls)
	s.line("idle_requests", r.Requests)
	s.line("idle_requests_per_poll", r.PerPoll())
	s.target("idle_requests_per_poll", r.Requests == r.Polls, "exactly 1")
}

func rss(ctx context.Context, s *summary, procs *childproc.Supervisor, collector, simPath, dir string, sizes []int) {
	if collector == "" {
		for _, n := range sizes {
			s.line("rss_mib_"+sizeName(n), "skipped (no --collector)")
		}
		return
	}
	if _, err := os.Stat(collector); err != nil {
		for _, n := range sizes {
			s.fail("rss_mib_"+sizeName(n), fmt.Errorf("--collector: %w (run `make build`)", err))
		}
		return
	}
	var peaks []float64
	for _, n := range sizes {
		name := "rss_mib_" + sizeName(n)
		s.progress("rss: %s draining %d records", collector, n)
		r, err := bench.CollectorRSS(ctx, procs, collector, simPath, n, dir)
		if err != nil {
			s.fail(name, err)
			continue
		}
		mib := float64(r.PeakRSS) / (1 << 20)
		s.line(name, mib)
		s.line("rss_drain_seconds_"+sizeName(n), r.Drain.Seconds())
		peaks = append(peaks, mib)
	}
	if len(peaks) == len(sizes) && len(peaks) > 1 {
		base, worst := peaks[0], 1.0
		for _, p := range peaks[1:] {
			if g := p / base; math.Abs(g-1) > math.Abs(worst-1) {
				worst = g
			}
		}
		s.line("rss_ratio_largest_deviation", worst)
		s.target("rss", math.Abs(worst-1) <= 0.10, "every size within 10% of rss_mib_"+sizeName(sizes[0]))
	}
	// A receiver with a very large budget reads as far ahead as the
	// collector lets it.
	const growthRecords, growthRPM = 100_000, 1_000_000
	s.progress("rss: %s reading %d records at max_requests_per_minute %d", collector, growthRecords, growthRPM)
	g, err := bench.CollectorRSSGrowth(ctx, procs, collector, simPath, growthRecords, growthRPM, dir)
	if err != nil {
		s.fail("rss_large_budget_growth", err)
		return
	}
	s.line("rss_large_budget_start_mib", float64(g.Start)/(1<<20))
	s.line("rss_large_budget_peak_mib_100k", float64(g.Peak)/(1<<20))
	s.line("rss_large_budget_drain_seconds_100k", g.Drain.Seconds())
	growth := float64(g.Peak) / float64(g.Start)
	s.line("rss_large_budget_growth", growth)
	s.target("rss_large_budget_growth", growth <= 1.5, "peak within 1.5x the RSS at start, 100k records at max_requests_per_minute 1000000")
}

// cpuRatio measures the built collector's CPU for the same n records
// pulled by the receiver and pushed to its OTLP/HTTP receiver as JSON (see
// bench.CPURatio), runs times, a fresh collector each run, and reports the
// median of the runs' ratios.
func cpuRatio(ctx context.Context, s *summary, procs *childproc.Supervisor, collector, simPath, dir string, n, runs int) {
	const name = "cpu_ratio_vs_otlp_ingest"
	if collector == "" {
		s.line(name, "skipped (no --collector)")
		return
	}
	var ratios, pulls, otlps []float64
	var each []string
	for i := range runs {
		s.progress("cpu: %s pulling and ingesting over OTLP/JSON %d records, run %d of %d", collector, n, i+1, runs)
		// Alternating which is measured first (see CPURatioResult).
		r, err := bench.CPURatio(ctx, procs, collector, simPath, n, dir, strconv.Itoa(i), i%2 == 1)
		if err != nil {
			s.fail(name, err)
			return
		}
		us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.Records) }
		ratios = append(ratios, r.Ratio())
		pulls = append(pulls, us(r.Pull))
		otlps = append(otlps, us(r.OTLP))
		order := "o"
		if r.PullFirst {
			order = "p"
		}
		each = append(each, fmt.Sprintf("%.2f/%.2f%s", us(r.Pull), us(r.OTLP), order))
	}
	s.line("cpu_records", n)
	s.line("cpu_runs_pull_over_otlp_us_per_record", strings.Join(each, " "))
	s.line("pull_cpu_us_per_record", medianOf(pulls))
	s.line("otlp_json_ingest_cpu_us_per_record", medianOf(otlps))
	ratio := medianOf(ratios)
	s.line(name, ratio)
	s.target(name, ratio <= 0.45, "<= 0.45")
}

// positiveInts parses a comma-separated list of numbers, positive or (with
// zero) also 0.
func positiveInts(flagName, list string, zero bool) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n == 0 && !zero {
			return nil, fmt.Errorf("%s: %q is not a positive number", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// capacity runs, for each number of accounts, one collector with a
// receiver per account, every account backfilling at once, at each budget
// (the first run, at the receiver's default budget, then watched caught
// up for the idle figures).
func capacity(ctx context.Context, s *summary, procs *childproc.Supervisor, o options, simPath, dir string) {
	if o.collector == "" {
		s.line("accounts", "skipped (no --collector)")
		return
	}
	s.line("accounts_records_each", o.accountsRecs)
	s.line("accounts_latency_ms", o.budgetLatency.Milliseconds())
	if o.accountsLimits {
		s.line("accounts_memory", fmt.Sprintf("shipped: memory_limiter limit_mib %d spike_limit_mib %d, GOMEMLIMIT=%s (container limit %s)",
			bench.ShippedMemoryLimiterMiB, bench.ShippedMemoryLimiterSpikeMiB, bench.ShippedGOMEMLIMIT, bench.ShippedMemoryLimit))
	}
	for _, n := range o.accounts {
		for i, rpm := range o.accountsRPMs {
			prefix := fmt.Sprintf("accounts_%d_", n)
			if rpm > 0 {
				prefix += fmt.Sprintf("%drpm_", rpm)
			}
			opts := bench.AccountsOptions{Accounts: n, Records: o.accountsRecs, RequestsPerMinute: rpm, Latency: o.budgetLatency, ShippedMemory: o.accountsLimits}
			if i == 0 {
				opts.Idle = o.accountsIdle
			}
			s.progress("accounts: %d receivers in one collector, %d records each, max_requests_per_minute %d (0: default), answers in %s", n, o.accountsRecs, rpm, o.budgetLatency)
			r, err := bench.CollectorAccounts(ctx, procs, o.collector, simPath, opts, dir)
			if err != nil {
				s.fail(prefix+"caught_up_s", err)
				continue
			}
			s.line(prefix+"backfill_peak_rss_mib", float64(r.PeakRSS)/(1<<20))
			s.line(prefix+"backfill_records_per_s", float64(r.Records)/r.CaughtUp.Seconds())
			s.line(prefix+"caught_up_s", r.CaughtUp.Seconds())
			if opts.ShippedMemory {
				s.line(prefix+"memory_limiter_refusals", r.Refusals)
			}
			if opts.Idle > 0 {
				s.line(prefix+"idle_cpu_ms_per_min", float64(r.IdleCPU.Milliseconds())*float64(time.Minute)/float64(opts.Idle))
				s.line(prefix+"idle_rss_mib", float64(r.IdleRSS)/(1<<20))
			}
		}
	}
}

// medianOf is the median of xs (the upper one of an even count).
func medianOf(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// sizeName is 10k for 10000, 1m for 1000000, 12345 for 12345.
func sizeName(n int) string {
	switch {
	case n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "m"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// describeBinary is the path and modification time of a binary: the
// RSS figures are those of the collector as last built.
func describeBinary(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return path + " (" + err.Error() + ")"
	}
	return path + " (modified " + fi.ModTime().UTC().Format(time.RFC3339) + ")"
}

// loadAvg is the 1, 5 and 15 minute load averages: the figures are only
// as good as the machine was quiet.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func gitCommit(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
