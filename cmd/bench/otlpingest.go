package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// ingestConfig is the built collector for [CPURatio]: the receiver
// (no budget, as in [CollectorConfig]) and an OTLP/HTTP receiver, both
// into the debug exporter at basic verbosity, no processors, no storage,
// no internal metrics.
var ingestConfig = template.Must(template.New("ingest").Parse(`receivers:
  zendesk_audit_logs:
    endpoint: {{.Sim.URL}}
    email: {{.Sim.Email}}
    api_token: {{.Sim.APIToken}}
    poll_interval: 1s
    settle_delay: 0s
    initial_lookback: 24h
    page_size: 100
    max_requests_per_minute: 0
  otlp:
    protocols:
      http:
        endpoint: {{.OTLP}}
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [zendesk_audit_logs, otlp]
      exporters: [debug]
`))

// CPURatioResult is one run of [CPURatio]: the built collector's CPU time
// for the same records, pulled by the receiver and pushed over OTLP/HTTP
// as JSON.
type CPURatioResult struct {
	Records int
	// Pull is the collector's CPU from letting the receiver read until its
	// CPU stopped moving after the receiver polled again after the last
	// record; OTLP from the first OTLP request until the collector's CPU
	// stopped moving after the last.
	Pull, OTLP time.Duration
	// PullFirst says the pull was measured first. The phase measured
	// second runs on the heap the first one grew (and the memory the
	// runtime is giving back meanwhile), so runs alternate the order.
	PullFirst bool
}

// Ratio is pull CPU ÷ OTLP/JSON ingest CPU.
func (r CPURatioResult) Ratio() float64 {
	if r.OTLP <= 0 {
		return 0
	}
	return float64(r.Pull) / float64(r.OTLP)
}

// OTLPBodies reads every record of sim (cursor pagination, 100 a page,
// oldest first) and renders each page as the receiver converts it
// (convert.Logs, every detection rule on) in OTLP/JSON, one request body
// a page: the same records, as a collector sending them over OTLP would.
func OTLPBodies(ctx context.Context, sim Sim) ([][]byte, int, error) {
	c, err := zendesk.New(zendesk.Options{BaseURL: sim.URL, Credentials: zendesk.Credentials{Email: sim.Email, APIToken: sim.APIToken}})
	if err != nil {
		return nil, 0, err
	}
	var m plog.JSONMarshaler
	var bodies [][]byte
	n := 0
	p := zendesk.ListParams{PageSize: 100, Sort: zendesk.SortAscending,
		Filter: zendesk.Filter{CreatedAtStart: time.Now().Add(-24 * time.Hour), CreatedAtEnd: time.Now()}}
	for {
		page, err := c.List(ctx, p)
		if err != nil {
			return nil, n, err
		}
		if len(page.AuditLogs) > 0 {
			b, err := m.MarshalLogs(convert.Logs(page.AuditLogs, convertSettings, time.Now()))
			if err != nil {
				return nil, n, err
			}
			bodies = append(bodies, b)
			n += len(page.AuditLogs)
		}
		if !page.HasMore {
			return bodies, n, nil
		}
		p.After = page.AfterCursor
	}
}

// CPURatio starts, under sup, the simulator with a backlog of n records
// and the built collector with both the receiver and an OTLP/HTTP
// receiver (see ingestConfig). While the simulator answers every request
// with a 503 (the receiver waits), it posts the records to the OTLP
// receiver as JSON, one page a request, and measures the collector's CPU;
// then it lets the receiver read the same records and measures again
// (with pullFirst, the other way round: the receiver reads first, and is
// caught up, polling once a second, while the records are posted). Both
// processes are stopped before it returns.
func CPURatio(ctx context.Context, sup *childproc.Supervisor, collectorPath, simPath string, n int, dir string, tag string, pullFirst bool) (CPURatioResult, error) {
	sim, err := StartSim(ctx, sup, simPath, n, filepath.Join(dir, "cpu-sim-"+tag+".log"))
	if err != nil {
		return CPURatioResult{}, err
	}
	defer func() { _ = sim.Stop(10 * time.Second) }()
	bodies, records, err := OTLPBodies(ctx, sim.Sim)
	if err != nil {
		return CPURatioResult{}, fmt.Errorf("rendering the records as OTLP/JSON: %w", err)
	}
	if records != n {
		return CPURatioResult{}, fmt.Errorf("the simulator served %d records, want %d", records, n)
	}
	base, err := holdAPI(ctx, sim.Sim)
	if err != nil {
		return CPURatioResult{}, err
	}

	otlpAddr, err := freeLoopbackPort()
	if err != nil {
		return CPURatioResult{}, err
	}
	var conf bytes.Buffer
	if err := ingestConfig.Execute(&conf, struct {
		Sim  Sim
		OTLP string
	}{sim.Sim, otlpAddr}); err != nil {
		return CPURatioResult{}, err
	}
	col, err := startCollector(sup, collectorPath, dir, "cpu-collector-"+tag, conf.String())
	if err != nil {
		return CPURatioResult{}, err
	}
	defer func() { _ = col.Stop(15 * time.Second) }()
	fail := func(err error) (CPURatioResult, error) { return CPURatioResult{}, col.explain(err) }

	url := "http://" + otlpAddr + "/v1/logs"
	if err := waitListening(ctx, otlpAddr, 30*time.Second); err != nil {
		return fail(err)
	}
	// The collector started: let its start-up work settle.
	if _, err := settledCPU(ctx, col.Pid()); err != nil {
		return fail(err)
	}

	client := &http.Client{Timeout: 30 * time.Second}
	ingest := func() (time.Duration, error) {
		cpu0, err := childproc.ReadCPU(col.Pid())
		if err != nil {
			return 0, err
		}
		for i, b := range bodies {
			if err := postOTLP(ctx, client, url, b); err != nil {
				return 0, fmt.Errorf("OTLP request %d of %d: %w", i+1, len(bodies), err)
			}
		}
		cpu1, err := settledCPU(ctx, col.Pid())
		return cpu1 - cpu0, err
	}
	pull := func() (time.Duration, error) {
		cpu0, err := childproc.ReadCPU(col.Pid())
		if err != nil {
			return 0, err
		}
		if err := releaseAndDrain(ctx, sim.Sim, base, n); err != nil {
			return 0, err
		}
		cpu1, err := settledCPU(ctx, col.Pid())
		return cpu1 - cpu0, err
	}
	res := CPURatioResult{Records: n, PullFirst: pullFirst}
	if pullFirst {
		if res.Pull, err = pull(); err == nil {
			res.OTLP, err = ingest()
		}
	} else {
		if res.OTLP, err = ingest(); err == nil {
			res.Pull, err = pull()
		}
	}
	if err != nil {
		return fail(err)
	}
	return res, nil
}

// SetFaults replaces the simulator's faults (POST /_sim/faults) with the
// JSON object faults.
func (s Sim) SetFaults(ctx context.Context, faults string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/_sim/faults", strings.NewReader(faults))
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /_sim/faults: %s: %.200s", resp.Status, body)
	}
	return nil
}

func postOTLP(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %.200s", resp.Status, b)
	}
	return nil
}

// settledCPU waits until process pid's CPU time moved by at most one
// tick over 300 ms, and returns it.
func settledCPU(ctx context.Context, pid int) (time.Duration, error) {
	last, err := childproc.ReadCPU(pid)
	if err != nil {
		return 0, err
	}
	for range 100 {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		now, err := childproc.ReadCPU(pid)
		if err != nil {
			return 0, err
		}
		if now-last <= 10*time.Millisecond {
			return now, nil
		}
		last = now
	}
	return 0, errors.New("the collector's CPU time did not settle in 30 s")
}

// freeLoopbackPort is a loopback address whose port was free a moment
// ago (the collector's OTLP receiver takes a fixed address).
func freeLoopbackPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
