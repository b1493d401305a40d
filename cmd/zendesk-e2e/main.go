// Command zendesk-e2e checks the delivery guarantee of the
// zendesk_audit_logs receiver end to end, under faults.
//
// It starts the Zendesk API simulator (bin/zendesk-sim) with a backlog,
// live arrivals and injected API faults; a SINK collector (OTLP/HTTP in,
// file out); and the collector UNDER TEST (zendesk_audit_logs with
// file_storage, otlp_http to the sink). During the live phase it SIGKILLs
// the collector under test at seeded random moments and starts it again
// on the same storage, and stops the sink for a few seconds once.
// One of the kills (--ack-kills) waits for the worst moment: a proxy
// between the collector and the sink holds back the sink's acceptance of
// an export and the runner kills the collector then, so the records of
// that export are delivered but not acknowledged; the check requires each
// of them to be delivered again after the restart. Another kill
// (--outage-kills) lands while the sink is down, when the pipeline holds
// the most the sink has not accepted.
// Then it stops live arrivals, waits until the sink has every record of
// the simulator (or a timeout), stops everything, and compares the ids in
// the sink's file with the simulator's.
//
// The collector under test runs in one or more variants (--variant), one
// after the other, each from a clean start with the same seed and fault
// schedule:
//
//   - sync: a synchronous exporter (no queue): ConsumeLogs returns once
//     the sink answered. A kill may repeat one page.
//   - queue: the README's production setup, the exporter's sending queue
//     persisted in file_storage, batching in the queue, memory_limiter.
//     A kill may repeat one page and the batches in flight.
//   - memory (not run by default): the batch processor and the default
//     in-memory sending queue, which acknowledge before anything is
//     durable. Expected to FAIL: it shows what a crash costs there.
//
// It prints one summary line per variant on stdout (progress goes to
// stderr):
//
//	e2e variant=sync seed=42 expected=N delivered=N distinct=N missing=0 unknown=0 duplicates=K duplicate_bound=300 kills=3 ack_kills=1 ... result=PASS
//
// A variant passes only if nothing is missing or unknown, no request broke
// a Retry-After or asked for an oversize page, duplicates stay within the
// variant's bound per kill, and every record of an export cut off by a
// kill at the acknowledgement was delivered again. The exit status is 0
// if every variant passed. The work directory (one subdirectory per
// variant: configs, file_storage, the sink's file, every process's log)
// is kept unless all passed.
//
// Usage (after make build; `make e2e` runs this):
//
//	cd cmd && go run ./zendesk-e2e --collector ../_build/otelcol-zendesk --sim ../bin/zendesk-sim \
//	    --config-dir ../e2e --seed 1 --duration 30s [--variant sync,queue,serial]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line flags.
type options struct {
	seed        int64
	seedSet     bool
	duration    time.Duration
	kills       int
	ackKills    int
	outageKills int
	sinkDown    time.Duration
	collector   string
	sim         string
	// victoriaLogs and zendeskAudit are the binaries of the variant store.
	victoriaLogs string
	zendeskAudit string
	workdir      string
	configDir    string
	keep         bool
	variants     []variant

	queueConsumers    int
	batchMinSize      int
	batchFlushTimeout time.Duration

	events       int
	backlog      time.Duration
	liveRate     float64
	lateFraction float64
	maxLate      time.Duration
	p429         float64
	p429NoRA     float64
	retryAfter   time.Duration
	p503         float64
	p500         float64
	pTruncated   float64
	pSlow        float64
	slow         time.Duration
	latency      time.Duration
	budget       int

	settleDelay    time.Duration
	maxRPM         int
	requestTimeout time.Duration
	drainTimeout   time.Duration
	stallTimeout   time.Duration
	varyEmail      bool
	tokenLifetime  time.Duration
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("zendesk-e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&o.seed, "seed", 0, "seed of the simulator's data and faults and of the kill schedule (default: random, printed)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "length of the live phase, during which kills and the sink outage happen")
	fs.IntVar(&o.kills, "kills", 3, "SIGKILLs of the collector under test during the live phase")
	fs.IntVar(&o.ackKills, "ack-kills", 1, "of the kills, how many land in the moment after the sink accepted an export and before the collector "+
		"under test heard of it (its records must then be delivered again)")
	fs.IntVar(&o.outageKills, "outage-kills", 1, "of the kills, how many land while the sink is down, when the pipeline holds the most the sink has not accepted")
	fs.DurationVar(&o.sinkDown, "sink-down", 4*time.Second, "length of the one sink outage (0: none)")
	fs.StringVar(&o.collector, "collector", "_build/otelcol-zendesk", "collector distribution binary (make build)")
	fs.StringVar(&o.sim, "sim", "bin/zendesk-sim", "simulator binary (make build)")
	fs.StringVar(&o.victoriaLogs, "victoria-logs", "bin/victoria-logs", "variant store: the VictoriaLogs binary (make build)")
	fs.StringVar(&o.zendeskAudit, "zendesk-audit", "bin/zendesk-audit", "variant store: the zendesk-audit binary, whose reconcile repairs the store (make build)")
	fs.StringVar(&o.workdir, "workdir", "", "work directory, must be empty or absent (default: a new temporary directory, removed if the check passes)")
	fs.StringVar(&o.configDir, "config-dir", "e2e", "directory of the config templates collector.yaml.tmpl and sink.yaml.tmpl")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory even if the check passes")
	variantList := fs.String("variant", defaultVariants, "setups of the collector under test to check, one after the other, comma-separated, of: "+
		variantNames()+" (memory is not crash-safe and expected to fail)")
	fs.IntVar(&o.queueConsumers, "queue-consumers", 1, "variant queue: the sending queue's num_consumers")
	fs.IntVar(&o.batchMinSize, "batch-min-size", 1000, "variant queue: the sending queue's batch::min_size (log records)")
	fs.DurationVar(&o.batchFlushTimeout, "batch-flush-timeout", time.Second, "variant queue: the sending queue's batch::flush_timeout")

	fs.IntVar(&o.events, "events", 12000, "simulator: backlog records (enough for the receiver to read it in time slices, several at once)")
	fs.DurationVar(&o.backlog, "backlog", 4*time.Hour, "simulator: time spread of the backlog")
	fs.Float64Var(&o.liveRate, "live-rate", 5, "simulator: live arrivals per second")
	fs.Float64Var(&o.lateFraction, "late-fraction", 0.2, "simulator: fraction of live records indexed late")
	fs.DurationVar(&o.maxLate, "max-late", 3*time.Second, "simulator: maximum lateness of late live records (< --settle-delay)")
	fs.Float64Var(&o.p429, "p429", 0.04, "simulator: probability of 429 with Retry-After")
	fs.Float64Var(&o.p429NoRA, "p429-no-retry-after", 0.03, "simulator: probability of 429 without Retry-After")
	fs.DurationVar(&o.retryAfter, "retry-after", time.Second, "simulator: Retry-After of 429/503 faults")
	fs.Float64Var(&o.p503, "p503", 0.03, "simulator: probability of 503 with an HTML body")
	fs.Float64Var(&o.p500, "p500", 0.03, "simulator: probability of 500")
	fs.Float64Var(&o.pTruncated, "p-truncated", 0.03, "simulator: probability of a truncated 200 body")
	fs.Float64Var(&o.pSlow, "p-slow", 0.05, "simulator: probability of a slow response")
	fs.DurationVar(&o.slow, "slow", 2*time.Second, "simulator: delay of slow responses")
	fs.DurationVar(&o.latency, "latency", 150*time.Millisecond, "simulator: time every answer takes (so that the receiver reads several time slices at once)")
	fs.DurationVar(&o.tokenLifetime, "token-lifetime", 4*time.Second, "simulator: lifetime of the OAuth access tokens it issues (variant oauth)")
	fs.IntVar(&o.budget, "budget", 120, "simulator: account requests per minute (0: unlimited)")

	fs.DurationVar(&o.settleDelay, "settle-delay", 5*time.Second, "receiver: settle_delay (> --max-late)")
	fs.IntVar(&o.maxRPM, "max-requests-per-minute", 600, "receiver: max_requests_per_minute")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 10*time.Second, "receiver: HTTP timeout (> --slow)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 3*time.Minute, "after the live phase, how long to wait for the sink to have every record")
	fs.DurationVar(&o.stallTimeout, "stall-timeout", 90*time.Second, "after the live phase, stop waiting once the sink got nothing new for this long "+
		"(more than the simulator's budget window of 1m)")
	fs.BoolVar(&o.varyEmail, "vary-email", true, "give each start of the collector under test its own letter case of the email, so the simulator "+
		"does not hold a new process to a Retry-After sent to a killed one")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			o.seedSet = true
		}
	})
	if !o.seedSet {
		o.seed = rand.Int64N(1_000_000_000)
	}
	vs, err := parseVariants(*variantList)
	if err != nil {
		return o, err
	}
	o.variants = vs
	return o, o.validate()
}

func (o options) validate() error {
	var errs []error
	if o.duration < 5*time.Second {
		errs = append(errs, fmt.Errorf("--duration must be at least 5s, got %s", o.duration))
	}
	if o.kills < 0 {
		errs = append(errs, fmt.Errorf("--kills must not be negative"))
	}
	if o.ackKills < 0 || o.ackKills > max(o.kills, 0) {
		errs = append(errs, fmt.Errorf("--ack-kills must be between 0 and --kills (%d), got %d", o.kills, o.ackKills))
	}
	if o.outageKills < 0 || o.outageKills+max(o.ackKills, 0) > max(o.kills, 0) {
		errs = append(errs, fmt.Errorf("--outage-kills must be between 0 and --kills minus --ack-kills (%d), got %d", o.kills-o.ackKills, o.outageKills))
	}
	if o.outageKills > 0 && o.sinkDown <= 2*outageKillMargin {
		errs = append(errs, fmt.Errorf("--outage-kills needs a --sink-down longer than %s", 2*outageKillMargin))
	}
	if o.settleDelay <= o.maxLate {
		errs = append(errs, fmt.Errorf("--settle-delay (%s) must exceed --max-late (%s), or late records are skipped by design", o.settleDelay, o.maxLate))
	}
	if o.requestTimeout <= o.slow {
		errs = append(errs, fmt.Errorf("--request-timeout (%s) must exceed --slow (%s)", o.requestTimeout, o.slow))
	}
	if o.events < 0 || o.liveRate < 0 || o.budget < 0 || o.maxRPM < 0 {
		errs = append(errs, errors.New("--events, --live-rate, --budget and --max-requests-per-minute must not be negative"))
	}
	if p := o.p429 + o.p429NoRA + o.p503 + o.p500 + o.pTruncated; p > 1 {
		errs = append(errs, fmt.Errorf("the error fault probabilities add up to %.2f > 1", p))
	}
	if o.drainTimeout <= 0 || o.stallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--drain-timeout and --stall-timeout must be positive"))
	}
	if o.tokenLifetime < time.Second {
		errs = append(errs, fmt.Errorf("--token-lifetime must be at least 1s, got %s", o.tokenLifetime))
	}
	if o.queueConsumers <= 0 || o.batchMinSize <= 0 || o.batchFlushTimeout <= 0 {
		errs = append(errs, errors.New("--queue-consumers, --batch-min-size and --batch-flush-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// crossingWindow is how soon after a Retry-After was sent a request of
// the collector counts as having crossed it on the wire (sent before the
// collector read the 429) rather than as a violation: half the
// Retry-After. The simulator's default, 50 ms, assumes an idle machine: in
// a run beside a -race test loop the collector read a 429 about 85 ms
// after it was written (its next request came 1.09 s after the 429, as a
// hold of 1 s from then), and a request one of its readers sent
// meanwhile arrived 88 ms after the 429 and failed the run. Within one
// process the client's holds are checked exactly, by the send time it
// stamps, in TestRetryAfterDuringConcurrentReadingIsHonouredByEveryRequest;
// here a collector that ignored Retry-After would still send in the
// window's second half.
func (o options) crossingWindow() time.Duration {
	return max(o.retryAfter/2, 50*time.Millisecond) // the simulator's default
}

// simArgs are the simulator's flags.
func (o options) simArgs(email, token string) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []string{
		"--oauth-client-id", strings.Join(oauthClientIDs(), ","),
		"--oauth-client-secret", e2eClientSecret,
		"--token-lifetime", o.tokenLifetime.String(),
		"--listen", "127.0.0.1:0",
		"--seed", strconv.FormatInt(o.seed, 10),
		"--events", strconv.Itoa(o.events),
		"--backlog", o.backlog.String(),
		"--email", email,
		"--api-token", token,
		"--live-rate", f(o.liveRate),
		"--late-fraction", f(o.lateFraction),
		"--max-late", o.maxLate.String(),
		"--p429", f(o.p429),
		"--p429-no-retry-after", f(o.p429NoRA),
		"--retry-after", o.retryAfter.String(),
		"--retry-after-crossing-window", o.crossingWindow().String(),
		"--p503", f(o.p503),
		"--p500", f(o.p500),
		"--p-truncated", f(o.pTruncated),
		"--p-slow", f(o.pSlow),
		"--slow", o.slow.String(),
		"--latency", o.latency.String(),
		"--budget", strconv.Itoa(o.budget),
		"--verbose",
	}
}

// run is the whole command; it returns the exit status: 0 if every
// variant passed, 1 if one failed, 2 if one could not be checked.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "zendesk-e2e:", err)
		return 2
	}

	workdir, tempWorkdir, err := prepareWorkdir(o.workdir)
	if err != nil {
		fmt.Fprintln(stderr, "zendesk-e2e:", err)
		for _, v := range o.variants {
			fmt.Fprintln(stdout, errorLine(v, o.seed, err))
		}
		return 2
	}
	for i, v := range o.variants {
		dir := workdir
		if len(o.variants) > 1 {
			// Each variant starts from an empty storage and sink file.
			dir = filepath.Join(workdir, v.Name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				fmt.Fprintln(stdout, errorLine(v, o.seed, err))
				code = 2
				continue
			}
		}
		code = max(code, runVariant(ctx, o, v, dir, stdout, stderr))
		if ctx.Err() != nil {
			for _, rest := range o.variants[i+1:] {
				fmt.Fprintln(stdout, errorLine(rest, o.seed, fmt.Errorf("not run: interrupted")))
			}
			break
		}
	}
	if code == 0 && tempWorkdir && !o.keep {
		_ = os.RemoveAll(workdir)
	} else {
		fmt.Fprintf(stderr, "[e2e] work directory kept: %s\n", workdir)
	}
	return code
}

// errorLine is the summary line of a variant that could not be checked.
func errorLine(v variant, seed int64, err error) string {
	return fmt.Sprintf("e2e variant=%s seed=%d result=ERROR error=%q", v.Name, seed, err.Error())
}

// runVariant checks one variant in dir and prints its summary line; it
// returns the exit status of that variant alone.
func runVariant(ctx context.Context, o options, v variant, dir string, stdout, stderr io.Writer) (code int) {
	r := &runner{
		opts:    o,
		variant: v,
		workdir: dir,
		sup:     childproc.NewSupervisor("zendesk-e2e"),
		log:     stderr,
		start:   time.Now(),
		rng:     rand.New(rand.NewPCG(uint64(o.seed), 0x5eed)),
	}
	r.logf("variant %s (%s), seed=%d workdir=%s", v.Name, v.Setup, o.seed, dir)

	defer func() {
		if rec := recover(); rec != nil {
			r.sup.KillAll()
			fmt.Fprintf(stderr, "zendesk-e2e: panic: %v\n%s", rec, debug.Stack())
			fmt.Fprintln(stdout, errorLine(v, o.seed, fmt.Errorf("panic: %v", rec)))
			code = 2
		}
		if code != 0 {
			r.logf("variant %s: logs in %s (sim.log, sink.log, collector.log; configs; storage/; sink/)", v.Name, dir)
		}
	}()

	sum, err := r.execute(ctx)
	r.sup.KillAll()
	if err != nil {
		r.logf("ERROR: %v", err)
		fmt.Fprintln(stdout, errorLine(v, o.seed, err))
		return 2
	}
	for _, why := range sum.verdict() {
		r.logf("FAIL: %s", why)
	}
	fmt.Fprintln(stdout, sum.line())
	if len(sum.verdict()) > 0 {
		return 1
	}
	return 0
}

// prepareWorkdir makes the work directory: a new temporary one, or dir,
// which must be empty or absent (a checkpoint or sink file from an
// earlier run would falsify the check).
func prepareWorkdir(dir string) (path string, temp bool, err error) {
	if dir == "" {
		path, err = os.MkdirTemp("", "zendesk-e2e-")
		return path, true, err
	}
	path, err = filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return path, false, os.MkdirAll(path, 0o755)
	case err != nil:
		return "", false, err
	case len(entries) > 0:
		return "", false, fmt.Errorf("--workdir %s is not empty: give a new or empty directory", path)
	}
	return path, false, nil
}

// Credentials the simulator accepts.
const (
	e2eEmail        = "e2e-audit@example.com"
	e2eToken        = "e2e-token"
	e2eClientSecret = "e2e-client-secret"
	// e2eClients is how many OAuth clients the simulator knows. As with
	// the email's letter case, each start of the collector under test
	// uses its own client: the simulator keeps Retry-After deadlines per
	// OAuth client, and a new process cannot know of one sent to a
	// killed process.
	e2eClients = 32
)

func oauthClientIDs() []string {
	ids := make([]string, e2eClients)
	for i := range ids {
		ids[i] = fmt.Sprintf("e2e-collector-%d", i)
	}
	return ids
}

// runner holds the state of one run.
type runner struct {
	opts    options
	variant variant
	workdir string
	sup     *childproc.Supervisor
	log     io.Writer
	start   time.Time
	rng     *rand.Rand

	simURL string
	admin  *simAdmin
	simP   *childproc.Process

	sinkPort int
	sinkFile string
	sinkP    *childproc.Process
	proxy    *ackProxy // between the collector under test and the sink

	ackKills int     // kills that landed between the sink's acceptance and the collector hearing of it
	ackIDs   []int64 // the ids of the exports whose acceptance those kills cut off

	// ackedBeforeStoreKill are the ids VictoriaLogs had accepted when it
	// was SIGKILLed (variant store), ascending.
	ackedBeforeStoreKill []int64

	collector   *childproc.Process
	starts      int // starts of the collector under test
	kills       int
	sinkOutages int
	crashes     int
	peakRSS     int64
	errors      []string
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "[e2e %s %6.1fs] %s\n", r.variant.Name, time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *runner) path(name string) string { return filepath.Join(r.workdir, name) }

// execute runs the check and returns its summary; an error means the
// check could not be carried out.
func (r *runner) execute(ctx context.Context) (summary, error) {
	o := r.opts
	bins := []string{o.collector, o.sim}
	if r.variant.Store {
		bins = append(bins, o.victoriaLogs, o.zendeskAudit)
	}
	for _, b := range bins {
		if st, err := os.Stat(b); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return summary{}, fmt.Errorf("%s is not an executable file: run `make build` first (or pass --collector/--sim/--victoria-logs/--zendesk-audit)", b)
		}
	}
	for _, t := range []string{r.variant.Template, sinkTemplate} {
		if _, err := os.Stat(filepath.Join(o.configDir, t)); err != nil {
			return summary{}, fmt.Errorf("config template: %w (run from the repository root or pass --config-dir)", err)
		}
	}
	acts, err := planSchedule(r.rng, o.duration, o.kills, o.sinkDown, o.outageKills, o.ackKills)
	if err != nil {
		return summary{}, err
	}
	markAckKills(r.rng, acts, o.ackKills)
	if err := os.MkdirAll(r.path("sink"), 0o755); err != nil {
		return summary{}, err
	}
	if err := os.MkdirAll(r.path("storage"), 0o755); err != nil {
		return summary{}, err
	}
	r.sinkFile = r.path("sink/logs.jsonl")

	if err := r.startSim(ctx); err != nil {
		return summary{}, err
	}
	if r.variant.Store {
		err = r.startVictoriaLogs(ctx)
	} else {
		err = r.startSinkFirst(ctx)
	}
	if err != nil {
		return summary{}, err
	}
	proxy, err := startAckProxy("http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(r.sinkPort)), r.variant.Store)
	if err != nil {
		return summary{}, err
	}
	r.proxy = proxy
	defer proxy.close()
	if err := r.startCollector(); err != nil {
		return summary{}, err
	}

	// Live phase: the fault schedule.
	phase := time.Now()
	r.logf("live phase: %s, schedule: %s", o.duration, describeActions(acts))
	for _, a := range acts {
		due := phase.Add(a.At)
		if err := r.pause(ctx, time.Until(due)); err != nil {
			return summary{}, err
		}
		if err := r.act(ctx, a); err != nil {
			return summary{}, err
		}
		// An action that took its time (a kill at the acknowledgement, or
		// the store's kill, waits for an export) moves the rest of the
		// schedule back by it, so that the actions after it keep their
		// planned distance: a collector killed in the outage 1.5 s after
		// the store's kill, not in the same millisecond, when its queue
		// may not have recorded yet that the store accepted the last
		// batch, and sends it again after the restart, repairing the
		// store's loss before reconcile could find it.
		phase = phase.Add(time.Since(due))
	}
	if err := r.pause(ctx, time.Until(phase.Add(o.duration))); err != nil {
		return summary{}, err
	}

	// Drain: no more arrivals; wait for the sink to have everything.
	if err := r.admin.setLiveRate(ctx, 0); err != nil {
		return summary{}, err
	}
	stopped := time.Now()
	expected, err := r.admin.ids(ctx)
	if err != nil {
		return summary{}, err
	}
	r.logf("live arrivals stopped; the simulator holds %d records; waiting up to %s for the sink to have them all", len(expected), o.drainTimeout)
	if err := r.waitDelivered(ctx, expected, stopped.Add(o.drainTimeout)); err != nil {
		return summary{}, err
	}

	// Stop everything, gracefully.
	r.sampleRSS()
	r.logf("stopping the collector under test (SIGTERM)")
	if err := r.collector.Stop(30 * time.Second); err != nil {
		r.errors = append(r.errors, err.Error())
	}
	stats, err := r.admin.stats(ctx)
	if err != nil {
		return summary{}, err
	}
	r.logf("stopping the sink (SIGTERM)")
	if err := r.sinkP.Stop(30 * time.Second); err != nil {
		r.errors = append(r.errors, err.Error())
	}
	final, err := r.admin.ids(ctx)
	if err != nil {
		return summary{}, err
	}
	if len(final) != len(expected) {
		r.logf("note: the simulator held %d records after the drain, %d when live arrivals stopped; using the later list", len(final), len(expected))
	}
	var content sinkContent
	var store *storeResult
	if r.variant.Store {
		content, store, err = r.finishStore(ctx, final)
		if err != nil {
			return summary{}, err
		}
	} else if content, err = parseSinkFile(r.sinkFile); err != nil {
		return summary{}, fmt.Errorf("reading the sink's file: %w", err)
	}
	cmp := compare(final, content.IDs)
	s := summary{
		Variant:     r.variant.Name,
		Seed:        o.seed,
		DupPerKill:  r.variant.duplicatesPerKill(r.collectorParams("")),
		OAuth:       r.variant.OAuth,
		TokenLife:   o.tokenLifetime,
		comparison:  cmp,
		NoID:        content.NoID,
		BadUID:      content.BadUID,
		Kills:       r.kills,
		AckKills:    r.ackKills,
		AckIDs:      len(r.ackIDs),
		AckOnce:     r.ackOnce(content),
		SinkOutages: r.sinkOutages,
		Crashes:     r.crashes,
		Stats:       stats,
		Starts:      r.starts,
		Elapsed:     time.Since(r.start),
		PeakRSSKiB:  r.peakRSS,
		Errors:      r.errors,
		Store:       store,
	}
	if store != nil {
		// The SIGKILL of the store may repeat one batch in flight per
		// consumer, as a kill of the collector does.
		s.ExtraDupBound = r.opts.queueConsumers * (r.opts.batchMinSize + pageSize - 1)
	}
	r.diagnose(ctx, s)
	if err := r.simP.Stop(10 * time.Second); err != nil {
		r.logf("note: %v", err)
	}
	return s, nil
}

func describeActions(acts []action) string {
	parts := make([]string, len(acts))
	for i, a := range acts {
		kind := a.Kind.String()
		switch {
		case a.AtAck:
			kind = "kill-at-ack"
		case a.InOutage:
			kind = "kill-in-outage"
		}
		parts[i] = fmt.Sprintf("%s@%.1fs", kind, a.At.Seconds())
	}
	return strings.Join(parts, " ")
}

// startSim starts the simulator and reads its URL.
func (r *runner) startSim(ctx context.Context) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	p, err := r.sup.Start("zendesk-sim", r.opts.sim, r.opts.simArgs(e2eEmail, e2eToken), r.path("sim.log"), pw)
	pw.Close()
	if err != nil {
		pr.Close()
		return err
	}
	r.simP = p
	line, err := childproc.ReadFirstLine(ctx, pr, io.Discard, 60*time.Second)
	if err != nil {
		return fmt.Errorf("zendesk-sim did not print its URL: %w; see %s", err, r.path("sim.log"))
	}
	u, err := url.Parse(line)
	if err != nil || u.Scheme != "http" || u.Host == "" || !isLoopbackURL(line) {
		return fmt.Errorf("zendesk-sim printed %q, not a loopback http URL", line)
	}
	r.simURL = line
	r.admin = newSimAdmin(line)
	r.logf("zendesk-sim at %s (pid %d), %d backlog records over %s, live %g/s", line, p.Pid(), r.opts.events, r.opts.backlog, r.opts.liveRate)
	return nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startSinkFirst starts the sink on a free port, trying other ports if
// the one drawn was taken meanwhile.
func (r *runner) startSinkFirst(ctx context.Context) error {
	var last error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		r.sinkPort = port
		if err := renderConfigFile(r.opts.configDir, sinkTemplate, sinkParams{
			Endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			File:     r.sinkFile,
		}, r.path("sink.yaml")); err != nil {
			return err
		}
		if last = r.startSink(ctx); last == nil {
			return nil
		}
		r.logf("sink did not start on port %d: %v; trying another port", port, last)
	}
	return last
}

// startSink starts the sink with sink.yaml and waits until it listens.
func (r *runner) startSink(ctx context.Context) error {
	p, err := r.sup.Start("sink", r.opts.collector, []string{"--config", r.path("sink.yaml")}, r.path("sink.log"), nil)
	if err != nil {
		return err
	}
	r.sinkP = p
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.sinkPort))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			r.logf("sink listening on %s (pid %d)", addr, p.Pid())
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("the sink exited (%s) before listening on %s; see %s:\n%s", p.ExitStatus(), addr, r.path("sink.log"), logTail(p, 10))
		}
		if time.Now().After(deadline) {
			_ = p.Kill(5 * time.Second)
			return fmt.Errorf("the sink does not listen on %s after 30s; see %s", addr, r.path("sink.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startCollector renders a config for the next start of the collector
// under test and starts it.
func (r *runner) startCollector() error {
	r.starts++
	email := e2eEmail
	if r.opts.varyEmail {
		// Variant 0 (the email as given) is left for the runner's own
		// diagnostic requests.
		email = emailVariant(e2eEmail, r.starts%emailVariants(e2eEmail))
	}
	cfgPath := r.path(fmt.Sprintf("collector-%d.yaml", r.starts))
	params := r.collectorParams(email)
	params.OAuthClientID = oauthClientIDs()[r.starts%e2eClients]
	if err := renderConfigFile(r.opts.configDir, r.variant.Template, params, cfgPath); err != nil {
		return err
	}
	p, err := r.sup.Start("collector", r.opts.collector, []string{"--config", cfgPath}, r.path("collector.log"), nil)
	if err != nil {
		return err
	}
	r.collector = p
	r.logf("collector under test started (#%d, pid %d, %s)", r.starts, p.Pid(), filepath.Base(cfgPath))
	return nil
}

// collectorParams fill the template of the collector under test; email is
// the letter case of the credentials for this start.
func (r *runner) collectorParams(email string) collectorParams {
	p := collectorParams{
		StorageDir:            r.path("storage"),
		SimURL:                r.simURL,
		Email:                 email,
		APIToken:              e2eToken,
		OAuth:                 r.variant.OAuth,
		OAuthClientID:         oauthClientIDs()[0],
		OAuthClientSecret:     e2eClientSecret,
		RequestTimeout:        r.opts.requestTimeout,
		SettleDelay:           r.opts.settleDelay,
		InitialLookback:       r.opts.backlog + time.Hour,
		MaxRequestsPerMinute:  r.opts.maxRPM,
		MaxConcurrentRequests: r.variant.MaxConcurrentRequests,
		QueueConsumers:        r.opts.queueConsumers,
		BatchMinSize:          r.opts.batchMinSize,
		BatchFlushTimeout:     r.opts.batchFlushTimeout,
	}
	if r.proxy != nil {
		p.SinkURL = r.proxy.URL()
		if r.variant.Store {
			p.SinkURL += "/insert/opentelemetry" // VictoriaLogs' OTLP path; the exporter adds /v1/logs
		}
	}
	return p
}

// sampleRSS folds the collector's VmHWM into the peak.
func (r *runner) sampleRSS() {
	if r.collector == nil || r.collector.Exited() {
		return
	}
	rss, err := childproc.ReadRSS(r.collector.Pid())
	if err != nil {
		r.logf("note: reading the peak RSS of pid %d: %v", r.collector.Pid(), err)
		return
	}
	r.peakRSS = max(r.peakRSS, rss.Peak>>10)
}

// act carries out one step of the schedule.
func (r *runner) act(ctx context.Context, a action) error {
	switch a.Kind {
	case actKill:
		r.sampleRSS()
		pid := r.collector.Pid()
		how := "at a random moment"
		if a.InOutage {
			how = "while the sink is down"
		}
		if a.AtAck {
			acked, ok, err := r.killAtAck(ctx)
			if err != nil {
				return err
			}
			if ok {
				how = fmt.Sprintf("right after the sink accepted an export of %d records it never heard of", len(acked))
			} else {
				how = fmt.Sprintf("at once: no export reached the sink within %s of arming", ackWait)
			}
		} else if err := r.collector.Kill(10 * time.Second); err != nil {
			return err
		}
		r.kills++
		r.logf("SIGKILLed the collector under test %s (pid %d, kill %d of %d); starting it again in %s", how, pid, r.kills, r.opts.kills, a.RestartDelay.Round(time.Millisecond))
		if err := r.pause(ctx, a.RestartDelay); err != nil {
			return err
		}
		return r.startCollector()
	case actSinkStop:
		if r.variant.Store {
			r.sinkOutages++
			return r.killVictoriaLogs(ctx)
		}
		r.logf("stopping the sink (SIGTERM) for %s", r.opts.sinkDown)
		if err := r.sinkP.Stop(30 * time.Second); err != nil {
			r.errors = append(r.errors, err.Error())
			r.logf("WARNING: %v", err)
		}
		r.sinkOutages++
	case actSinkStart:
		if r.variant.Store {
			r.logf("starting victoria-logs again on its data (same port and directory)")
			return r.startVictoriaLogs(ctx)
		}
		r.logf("starting the sink again (same port and file)")
		return r.startSink(ctx)
	}
	return nil
}

// ackWait bounds the wait for an export to intercept; after it the kill
// happens at once.
const ackWait = 15 * time.Second

// killAtAck arms the proxy, waits for the sink to accept an export, and
// SIGKILLs the collector under test before it hears of it. ok is false if
// no export came within ackWait; the collector is killed at once then.
func (r *runner) killAtAck(ctx context.Context) (ids []int64, ok bool, err error) {
	h := r.proxy.arm()
	defer close(h.release)
	t := time.NewTimer(ackWait)
	defer t.Stop()
	var acked ackedExport
	select {
	case acked = <-h.acked:
	case <-t.C:
		if r.proxy.disarm(h) {
			return nil, false, r.collector.Kill(10 * time.Second)
		}
		acked = <-h.acked // taken just now
	case <-ctx.Done():
		r.proxy.disarm(h)
		return nil, false, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if err := r.collector.Kill(10 * time.Second); err != nil {
		return nil, false, err
	}
	if acked.Err != nil {
		return nil, false, fmt.Errorf("reading the ids of the export the sink accepted: %w", acked.Err)
	}
	r.ackKills++
	r.ackIDs = append(r.ackIDs, acked.IDs...)
	return acked.IDs, true, nil
}

// maxCrashes ends the run when the collector under test keeps exiting on
// its own (a config it refuses, a crash at start).
const maxCrashes = 5

// pause waits d, restarting the collector under test if it exits on its
// own meanwhile (counted as a crash); any other child exiting on its own
// ends the run.
func (r *runner) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case <-t.C:
			return nil
		case p := <-r.sup.Unexpected():
			switch p {
			case r.collector:
				r.crashes++
				r.logf("ERROR: the collector under test (pid %d) exited on its own: %s; last lines of its log:\n%s",
					p.Pid(), p.ExitStatus(), logTail(p, 20))
				if r.crashes >= maxCrashes {
					return fmt.Errorf("the collector under test exited on its own %d times; see %s", r.crashes, r.path("collector.log"))
				}
				if err := r.startCollector(); err != nil {
					return err
				}
			case r.sinkP:
				return fmt.Errorf("the sink exited on its own (%s); see %s:\n%s", p.ExitStatus(), r.path("sink.log"), logTail(p, 20))
			case r.simP:
				return fmt.Errorf("zendesk-sim exited on its own (%s); see %s:\n%s", p.ExitStatus(), r.path("sim.log"), logTail(p, 20))
			default:
				if p.Name() == "collector" {
					// An earlier start of the collector under test that
					// exited on its own just before the runner killed it.
					r.crashes++
					r.logf("ERROR: an earlier collector under test (pid %d) exited on its own: %s", p.Pid(), p.ExitStatus())
				} else {
					r.logf("note: an earlier %s (pid %d) exited on its own: %s", p.Name(), p.Pid(), p.ExitStatus())
				}
			}
		}
	}
}

// waitDelivered polls the sink's file until it holds every expected id or
// the deadline passes (then the comparison reports what is missing). The
// records of an export cut off by a kill at the acknowledgement are
// waited for twice: once before the kill, once after the restart.
func (r *runner) waitDelivered(ctx context.Context, expected []int64, deadline time.Time) error {
	var tail delivery = newSinkTail(r.sinkFile)
	if r.variant.Store {
		tail = r.proxy // what VictoriaLogs accepted
	}
	lastReport := time.Time{}
	lastMissing, lastProgress := -1, time.Now()
	for {
		if err := tail.update(); err != nil {
			return fmt.Errorf("reading the sink's file: %w", err)
		}
		missing := tail.missing(expected, 1) + tail.missing(r.ackIDs, 2)
		if missing == 0 {
			r.logf("the sink has all %d records, and those of the exports cut off at the acknowledgement (%d) twice", len(expected), len(r.ackIDs))
			return nil
		}
		if missing != lastMissing {
			lastMissing, lastProgress = missing, time.Now()
		}
		if time.Now().After(deadline) {
			r.logf("timeout: the sink still lacks %d of %d records", missing, len(expected))
			return nil
		}
		if time.Since(lastProgress) > r.opts.stallTimeout {
			r.logf("giving up: the sink still lacks %d of %d records and got none of them for %s", missing, len(expected), r.opts.stallTimeout)
			return nil
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			r.logf("waiting: the sink lacks %d of %d records", missing, len(expected))
		}
		if err := r.pause(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// ackOnce returns the ids of the exports cut off at the acknowledgement
// that were delivered only once. In the variant store it counts what the
// store accepted (the proxy's count), not what it holds at the end: its
// own SIGKILL may lose both copies, which reconcile then sends once more.
func (r *runner) ackOnce(content sinkContent) []int64 {
	if !r.variant.Store {
		return deliveredOnce(content.IDs, r.ackIDs)
	}
	return r.proxy.acceptedFewerThan(r.ackIDs, 2)
}

// delivery counts how often each id reached the sink.
type delivery interface {
	update() error
	missing(want []int64, times int) int
}

// diagnose logs what helps find the cause of a failure.
func (r *runner) diagnose(ctx context.Context, s summary) {
	if s.Duplicates > 0 {
		r.logf("duplicates by delivery count: %v", s.DupCounts)
	}
	if s.Unknown > 0 {
		r.logf("unknown ids: %s", sampleIDs(s.UnknownIDs, 20))
	}
	if s.Missing == 0 {
		return
	}
	r.logf("missing ids: %s", sampleIDs(s.MissingIDs, 30))
	for i, id := range s.MissingIDs {
		if i == 10 {
			break
		}
		var created string
		var err error
		for range 5 { // the simulator's faults apply to this lookup too
			if created, err = r.admin.createdAt(ctx, e2eEmail, e2eToken, id); err == nil {
				break
			}
			time.Sleep(1100 * time.Millisecond)
		}
		if err != nil {
			r.logf("  missing id %d: created_at unknown (%v)", id, err)
		} else {
			r.logf("  missing id %d: created_at %s", id, created)
		}
	}
}

// logTail is the last n lines of p's log, indented, for messages.
func logTail(p *childproc.Process, n int) string {
	tail := p.LogTail(n)
	if tail == "" {
		return "    (" + p.LogPath() + " is empty or unreadable)"
	}
	return "    " + strings.Join(strings.Split(tail, "\n"), "\n    ")
}
