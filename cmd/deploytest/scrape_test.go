package deploytest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// receiverMetricPrefix starts the name of every metric the receiver
// records itself.
const receiverMetricPrefix = "otelcol_zendesk_audit_logs_"

// sample is one series of a scrape: its labels (the metric name under
// __name__) and its value.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) name() string { return s.labels["__name__"] }

// key is the series in promtool's notation: name{a="1",b="2"}, labels
// sorted.
func (s sample) key() string {
	names := make([]string, 0, len(s.labels))
	for k := range s.labels {
		if k != "__name__" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + strconv.Quote(s.labels[k])
	}
	return s.name() + "{" + strings.Join(parts, ",") + "}"
}

// parseExposition reads the Prometheus text format as the collector
// writes it: comments, and `name{label="value",...} value` lines.
func parseExposition(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		i := strings.IndexAny(rest, "{ ")
		if i < 0 {
			return nil, fmt.Errorf("no value: %q", line)
		}
		s.labels["__name__"] = rest[:i]
		rest = rest[i:]
		if strings.HasPrefix(rest, "{") {
			rest = rest[1:]
			for !strings.HasPrefix(rest, "}") {
				eq := strings.Index(rest, "=")
				if eq < 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
					return nil, fmt.Errorf("bad labels: %q", line)
				}
				name := rest[:eq]
				rest = rest[eq+1:]
				// The quoted value, escapes and all: Unquote takes Go's
				// escapes, a superset of the format's (\\, \", \n).
				end := 1
				for ; end < len(rest) && rest[end] != '"'; end++ {
					if rest[end] == '\\' {
						end++
					}
				}
				if end >= len(rest) {
					return nil, fmt.Errorf("unterminated label value: %q", line)
				}
				value, err := strconv.Unquote(rest[:end+1])
				if err != nil {
					return nil, fmt.Errorf("label value in %q: %w", line, err)
				}
				s.labels[name] = value
				rest = strings.TrimPrefix(rest[end+1:], ",")
			}
			rest = rest[1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("no value: %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

// freePort is a port on 127.0.0.1 that nothing listened on a moment ago:
// the collector's Prometheus reader takes a port number, not a listener.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// metricsTelemetry is the service.telemetry section that serves the
// collector's metrics on 127.0.0.1:port, at the level that shows every
// receiver and exporter metric.
func metricsTelemetry(port int) map[string]any {
	return map[string]any{"metrics": map[string]any{
		"level": "detailed",
		"readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{
			"prometheus": map[string]any{"host": "127.0.0.1", "port": port},
		}}}},
	}}
}

// scrape reads the collector's /metrics once.
func scrape(url string) ([]sample, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseExposition(resp.Body)
}

// runCollector writes cfg and starts the built collector on it.
func runCollector(t *testing.T, sup *childproc.Supervisor, collector, dir, name string, cfg map[string]any) *childproc.Process {
	t.Helper()
	config, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(dir, name+".yaml")
	require.NoError(t, os.WriteFile(path, config, 0o600))
	p, err := sup.Start(name, collector, []string{"--config=" + path}, filepath.Join(dir, name+".log"), nil)
	require.NoError(t, err)
	return p
}

func TestParseExposition(t *testing.T) {
	in := "# HELP x y\n# TYPE x counter\n" +
		`otelcol_zendesk_audit_logs_api_requests{error_type="401",receiver="zendesk_audit_logs/a\"b",server_address="127.0.0.1"} 6` + "\n" +
		"target_info 1\n" +
		`otelcol_zendesk_audit_logs_checkpoint_lag{receiver="zendesk_audit_logs/acme"} 2.4801e+00` + "\n"
	got, err := parseExposition(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, map[string]string{"__name__": "otelcol_zendesk_audit_logs_api_requests", "error_type": "401",
		"receiver": `zendesk_audit_logs/a"b`, "server_address": "127.0.0.1"}, got[0].labels)
	assert.Equal(t, 6.0, got[0].value)
	assert.Equal(t, "target_info{}", got[1].key())
	assert.Equal(t, 2.4801, got[2].value)
	_, err = parseExposition(strings.NewReader(`x{a="1} 2`))
	assert.Error(t, err)
}

// Two receivers in one built collector, one of them refused by its
// simulator: every series of the receiver's own metrics names exactly one
// of them, under the label the collector's receiver metrics use, with its
// account; and each shows what happened to it alone.
func TestEveryReceiverSeriesNamesItsReceiver(t *testing.T) {
	collector := builtCollector(t)
	dir := t.TempDir()
	acme := newAccount(t, "acme", 300)
	globex := newAccount(t, "globex", 300)
	globex.token = "wrong-token"
	port := freePort(t)
	cfg := collectorConfig(dir, backendOK(t), false, acme, globex)
	cfg["service"].(map[string]any)["telemetry"] = metricsTelemetry(port)

	sup := childproc.NewSupervisor("deploytest")
	t.Cleanup(sup.KillAll)
	p := runCollector(t, sup, collector, dir, "collector", cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)

	var series []sample
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var err error
		series, err = scrape(url)
		if !assert.NoError(c, err) {
			return
		}
		refused, delivered := false, false
		for _, s := range series {
			refused = refused || s.name() == receiverMetricPrefix+"api_requests" && s.labels["receiver"] == globex.id && s.labels["error_type"] == "401"
			delivered = delivered || s.name() == "otelcol_receiver_accepted_log_records" && s.labels["receiver"] == acme.id && s.value == 300
		}
		assert.True(c, refused, "globex was refused")
		assert.True(c, delivered, "acme delivered its records")
	}, 60*time.Second, 250*time.Millisecond, "%s", p.LogTail(20))

	ids := []string{acme.id, globex.id}
	n := map[string]int{}
	for _, s := range series {
		if !strings.HasPrefix(s.name(), receiverMetricPrefix) {
			continue
		}
		require.Contains(t, ids, s.labels["receiver"], "%s names no receiver of this collector", s.key())
		require.Equal(t, "127.0.0.1", s.labels["server_address"], "%s: the account's API host", s.key())
		n[s.labels["receiver"]]++
		if s.labels["receiver"] == acme.id {
			assert.NotContains(t, []string{"401", "403"}, s.labels["error_type"], "%s: acme was never refused", s.key())
		}
		if s.labels["receiver"] == globex.id && s.name() == receiverMetricPrefix+"api_requests" {
			assert.Equal(t, "401", s.labels["error_type"], "%s: every request of globex was refused", s.key())
		}
	}
	for _, id := range ids {
		assert.Positive(t, n[id], "no series of %s", id)
	}
	for _, name := range []string{"checkpoint_lag", "api_requests"} {
		var of []string
		for _, s := range series {
			if s.name() == receiverMetricPrefix+name {
				of = append(of, s.labels["receiver"])
			}
		}
		slices.Sort(of)
		assert.Equal(t, ids, slices.Compact(of), "%s: a series for each receiver", name)
	}
	t.Logf("%d series in the scrape, %d of the receiver (%s: %d, %s: %d)", len(series), n[acme.id]+n[globex.id], acme.id, n[acme.id], globex.id, n[globex.id])
	require.NoError(t, p.Stop(30*time.Second), p.LogTail(20))
}
