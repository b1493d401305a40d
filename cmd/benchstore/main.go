// Command benchstore measures a backfill into the reference log store:
// the built collector, with the README's VictoriaLogs exporter (otlp_http,
// its sending queue persisted in file_storage and batching), reads a
// backlog of --records from the simulator as fast as it answers (no
// latency, no client-side budget, an account limit of --account-limit
// requests a minute, which the receiver paces by), and VictoriaLogs stores
// it. It prints, as lines
// `name: value`: the records per second from the collector's start until
// VictoriaLogs holds them all, and the CPU seconds the collector and
// VictoriaLogs spent on it (user plus system, from /proc/PID/stat, Linux
// only), also per 1000 records. docs/performance.md records a run.
//
// Usage (after make build):
//
//	cd cmd && go run ./benchstore --collector ../_build/otelcol-zendesk --sim ../bin/zendesk-sim --victoria-logs ../bin/victoria-logs
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// collectorConfig is the README's VictoriaLogs exporter ("Into a log
// store") around a receiver reading the simulator.
const collectorConfig = `extensions:
  file_storage:
    directory: %[1]q
    fsync: %[4]t
receivers:
  zendesk_audit_logs:
    endpoint: %[2]q
    email: bench@example.com
    api_token: bench-token
    storage: file_storage
    initial_lookback: 25h
    poll_interval: 1s
    page_size: 100
    max_requests_per_minute: 0
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 256
exporters:
  otlp_http/victorialogs:
    endpoint: %[3]q
%[5]s    retry_on_failure:
      max_elapsed_time: 0s
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [zendesk_audit_logs]
      processors: [memory_limiter]
      exporters: [otlp_http/victorialogs]
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchstore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchstore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	collector := fs.String("collector", "_build/otelcol-zendesk", "collector binary")
	sim := fs.String("sim", "bin/zendesk-sim", "simulator binary")
	vlBin := fs.String("victoria-logs", "bin/victoria-logs", "VictoriaLogs binary")
	records := fs.Int("records", 100_000, "backlog records")
	limit := fs.Int("account-limit", 100_000, "the simulated account's requests per minute (its Ratelimit headers, which the receiver paces by); "+
		"0: the simulator's default, 700, Zendesk's Enterprise plan")
	queue := fs.Bool("queue", true, "the README's persistent sending_queue; false: a synchronous exporter (no queue)")
	fsync := fs.Bool("fsync", true, "file_storage's fsync (true in the README's setup)")
	keep := fs.Bool("keep", false, "keep the work directory (configs, logs, data)")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if runtime.GOOS != "linux" {
		return errors.New("the CPU figures read /proc: Linux only")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "benchstore-")
	if err != nil {
		return err
	}
	sup := childproc.NewSupervisor("benchstore")
	defer func() {
		sup.StopAll(30 * time.Second)
		if *keep || err != nil {
			fmt.Fprintf(stderr, "benchstore: work directory kept: %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "[benchstore] "+format+"\n", a...) }

	// The simulator, its backlog in the last day.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	simP, err := sup.Start("zendesk-sim", *sim, []string{"--listen", "127.0.0.1:0", "--seed", "1",
		"--events", strconv.Itoa(*records), "--backlog", "24h", "--live-rate", "0",
		"--budget", strconv.Itoa(*limit), "--email", "bench@example.com", "--api-token", "bench-token"}, filepath.Join(dir, "sim.log"), pw)
	if err != nil {
		return err
	}
	pw.Close()
	simURL, err := childproc.ReadFirstLine(ctx, pr, io.Discard, time.Minute)
	if err != nil {
		return fmt.Errorf("the simulator did not print its URL: %w", err)
	}

	// VictoriaLogs, empty.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	vl, err := sup.Start("victoria-logs", *vlBin, []string{"-storageDataPath=" + filepath.Join(dir, "victorialogs"), "-httpListenAddr=" + addr},
		filepath.Join(dir, "victorialogs.log"), nil)
	if err != nil {
		return err
	}
	base := "http://" + addr
	for i := 0; ; i++ {
		if n, err := stored(ctx, base); err == nil && n == 0 {
			break
		}
		if i == 300 {
			return errors.New("VictoriaLogs does not answer")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	vlCPU0, err := childproc.ReadCPU(vl.Pid())
	if err != nil {
		return err
	}

	// The collector; the clock runs from its start.
	cfg := filepath.Join(dir, "collector.yaml")
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(cfg, fmt.Appendf(nil, collectorConfig, filepath.Join(dir, "storage"), simURL, base+"/insert/opentelemetry", *fsync, queueConfig(*queue)), 0o600); err != nil {
		return err
	}
	load0 := loadAverage()
	start := time.Now()
	col, err := sup.Start("collector", *collector, []string{"--config", cfg}, filepath.Join(dir, "collector.log"), nil)
	if err != nil {
		return err
	}
	logf("backfilling %d records into VictoriaLogs at %s", *records, base)
	last := time.Now()
	for {
		n, err := stored(ctx, base)
		if err != nil {
			return err
		}
		if n >= *records {
			break
		}
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			logf("%d of %d stored after %.0fs", n, *records, time.Since(start).Seconds())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("VictoriaLogs holds %d of %d records: %w", n, *records, ctx.Err())
		case <-col.Done():
			return fmt.Errorf("the collector exited: %s", col.ExitStatus())
		case <-time.After(200 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	colCPU, err := childproc.ReadCPU(col.Pid())
	if err != nil {
		return err
	}
	vlCPU, err := childproc.ReadCPU(vl.Pid())
	if err != nil {
		return err
	}
	vlCPU -= vlCPU0
	simCPU, err := childproc.ReadCPU(simP.Pid())
	if err != nil {
		return err
	}
	per1000 := func(d time.Duration) float64 { return d.Seconds() / float64(*records) * 1000 }
	fmt.Fprintf(stdout, "store_backfill_records: %d (persistent queue %t, file_storage fsync %t, account limit %d a minute)\n", *records, *queue, *fsync, *limit)
	fmt.Fprintf(stdout, "store_backfill_seconds: %.1f\n", elapsed.Seconds())
	fmt.Fprintf(stdout, "store_backfill_records_per_second: %.0f\n", float64(*records)/elapsed.Seconds())
	fmt.Fprintf(stdout, "store_backfill_collector_cpu_seconds: %.2f\n", colCPU.Seconds())
	fmt.Fprintf(stdout, "store_backfill_victorialogs_cpu_seconds: %.2f\n", vlCPU.Seconds())
	fmt.Fprintf(stdout, "store_backfill_simulator_cpu_seconds: %.2f\n", simCPU.Seconds())
	fmt.Fprintf(stdout, "store_backfill_collector_cpu_ms_per_1000_records: %.1f\n", per1000(colCPU)*1000)
	fmt.Fprintf(stdout, "store_backfill_victorialogs_cpu_ms_per_1000_records: %.1f\n", per1000(vlCPU)*1000)
	fmt.Fprintf(stdout, "store_backfill_load_average_1m: %s -> %s (cpus %d)\n", load0, loadAverage(), runtime.NumCPU())
	return nil
}

// queueConfig is the exporter's sending_queue: the README's, or none.
func queueConfig(persistent bool) string {
	if !persistent {
		return "    sending_queue:\n      enabled: false\n"
	}
	return "    sending_queue:\n      storage: file_storage\n      num_consumers: 1\n      batch:\n        flush_timeout: 1s\n        min_size: 1000\n"
}

// stored is how many records VictoriaLogs holds.
func stored(ctx context.Context, base string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/select/logsql/query",
		strings.NewReader(url.Values{"query": {"* | stats count() n"}}.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		N string `json:"n"`
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("counting in VictoriaLogs: %s %v", resp.Status, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, fmt.Errorf("counting in VictoriaLogs: %w: %s", err, b)
	}
	return strconv.Atoi(out.N)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
