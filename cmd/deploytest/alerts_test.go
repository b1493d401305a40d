package deploytest

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// rulesFile is the Prometheus rule file deploy/monitoring ships.
var rulesFile = filepath.Join(repoRoot, "deploy", "monitoring", "zendesk-audit-logs.rules.yaml")

// The labels a Prometheus server adds to every series it scrapes from the
// collector (job as the rules' matchers expect it).
const (
	scrapeJob = "otelcol-zendesk"
)

// ruleFile is the shape of a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readRules(t *testing.T, path string) []rule {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var f ruleFile
	require.NoError(t, yaml.UnmarshalStrict(data, &f))
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

// promtool finds promtool (Debian's prometheus package). Without it the
// test skips, unless CI=true: CI installs it (.ci/run), and there the test
// must run.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is missing and CI=true: the alert rules cannot be proven (apt-get install -y prometheus; .ci/run installs it): %v", err)
		}
		t.Skipf("SKIPPED: promtool is missing (%v): apt-get install -y prometheus (Debian's package installs /usr/bin/promtool); CI installs it", err)
	}
	return path
}

// simAccount is a Zendesk account played by a simulator on 127.0.0.1,
// with a backlog of two hours and live arrivals.
type simAccount struct {
	id           string // receiver id, zendesk_audit_logs/NAME
	sim          *zendesksim.Server
	url          string
	email, token string
}

func newAccount(t *testing.T, name string, backlog int, opts ...func(*zendesksim.Options)) *simAccount {
	t.Helper()
	a := &simAccount{id: "zendesk_audit_logs/" + name, email: "admin@" + name + ".example.com", token: name + "-token"}
	o := zendesksim.Options{Email: a.email, APIToken: a.token, Seed: int64(len(name))}
	for _, f := range opts {
		f(&o)
	}
	a.sim = zendesksim.New(o)
	now := time.Now()
	a.sim.Generate(backlog, now.Add(-2*time.Hour), now.Add(-2*time.Minute))
	srv := httptest.NewServer(a.sim)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// backend is an OTLP/HTTP backend on 127.0.0.1 answering status to every
// export.
func backend(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func backendOK(t *testing.T) string { return backend(t, http.StatusOK) }

// backendDown is the URL of a backend that is not listening.
func backendDown(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// collectorConfig is the README's production setup for the accounts (a
// persistent sending queue, retried for ever; fsync on), polling every
// second, or with sync a synchronous exporter (no queue). The queue holds
// 5 requests, so that a backend outage fills it within the test.
func collectorConfig(dir, backendURL string, sync bool, accounts ...*simAccount) map[string]any {
	receivers := map[string]any{}
	var ids []string
	for _, a := range accounts {
		receivers[a.id] = map[string]any{
			"endpoint":         a.url,
			"email":            a.email,
			"api_token":        a.token,
			"timeout":          "1s",
			"poll_interval":    "1s",
			"settle_delay":     "1s",
			"initial_lookback": "2h",
			"storage":          "file_storage",
			"retry_on_failure": map[string]any{"initial_interval": "100ms", "max_interval": "1s", "max_elapsed_time": "0s"},
		}
		ids = append(ids, a.id)
	}
	exporter := map[string]any{
		"endpoint":         backendURL,
		"retry_on_failure": map[string]any{"initial_interval": "100ms", "max_interval": "1s", "max_elapsed_time": "0s"},
		"sending_queue":    map[string]any{"storage": "file_storage", "queue_size": 5},
	}
	if sync {
		exporter["sending_queue"] = map[string]any{"enabled": false}
		exporter["retry_on_failure"] = map[string]any{"initial_interval": "100ms", "max_interval": "1s", "max_elapsed_time": "1s"}
	}
	return map[string]any{
		"extensions": map[string]any{"file_storage": map[string]any{
			"directory": filepath.Join(dir, "storage"), "create_directory": true, "fsync": true,
		}},
		"receivers": receivers,
		"exporters": map[string]any{"otlp_http/backend": exporter},
		"service": map[string]any{
			"extensions": []string{"file_storage"},
			"pipelines": map[string]any{"logs": map[string]any{
				"receivers": ids, "exporters": []string{"otlp_http/backend"},
			}},
		},
	}
}

// alertScenario is one run of the built collector: a setup, possibly a
// failure, and the alerts that must fire at its end (every other alert of
// the rule file must not).
type alertScenario struct {
	name string
	// setup returns the collector's configuration.
	setup func(t *testing.T, dir string) map[string]any
	// killAfter, when positive, SIGKILLs the collector after this many
	// scrapes (the collector down).
	killAfter int
	// want lists, for each alert that must fire, the series (in the last
	// scrape that succeeded) whose labels the alert carries; nil selects
	// an alert without labels of its own (absent()).
	want map[string][]selector
}

// selector picks series of a scrape: a metric name and label values.
type selector struct {
	metric string
	labels map[string]string
}

// scrapes are the scenario's scrapes, one a second, each read as one
// minute by promtool: the test's poll_interval of 1s plays the default
// of 1m. A failed scrape is nil.
const (
	scrapeCount = 32
	scrapeEvery = time.Second
)

func TestAlertsFireOnTheCollectorsMetrics(t *testing.T) {
	collector := builtCollector(t)
	promtoolPath := promtool(t)
	rulesPath, err := filepath.Abs(rulesFile)
	require.NoError(t, err)
	rules := readRules(t, rulesPath)

	var all []sample // every series of every scrape of every scenario
	const backlog = 2000
	scenarios := []alertScenario{
		{
			name: "healthy",
			setup: func(t *testing.T, dir string) map[string]any {
				return collectorConfig(dir, backendOK(t), false, newLiveAccount(t, "acme", backlog))
			},
			want: map[string][]selector{},
		},
		{
			name: "credentials refused",
			setup: func(t *testing.T, dir string) map[string]any {
				acme, globex := newLiveAccount(t, "acme", backlog), newLiveAccount(t, "globex", backlog)
				globex.token = "wrong-token"
				return collectorConfig(dir, backendOK(t), false, acme, globex)
			},
			want: map[string][]selector{
				// The refused account delivers nothing: its trail is
				// stalled too.
				"ZendeskAuditCredentialsRefused": {{receiverMetricPrefix + "api_requests", map[string]string{"receiver": "zendesk_audit_logs/globex", "error_type": "401"}}},
				"ZendeskAuditTrailStalled":       {{receiverMetricPrefix + "checkpoint_lag", map[string]string{"receiver": "zendesk_audit_logs/globex"}}},
			},
		},
		{
			name: "API stops answering",
			setup: func(t *testing.T, dir string) map[string]any {
				acme := newLiveAccount(t, "acme", backlog)
				// Every request waits longer than the receiver's timeout.
				acme.sim.SetFaults(zendesksim.Faults{PSlow: 1, SlowDelay: time.Hour})
				return collectorConfig(dir, backendOK(t), false, acme)
			},
			want: map[string][]selector{
				"ZendeskAuditTrailStalled": {{receiverMetricPrefix + "checkpoint_lag", map[string]string{"receiver": "zendesk_audit_logs/acme"}}},
			},
		},
		{
			name: "backend down",
			setup: func(t *testing.T, dir string) map[string]any {
				return collectorConfig(dir, backendDown(t), false, newLiveAccount(t, "acme", backlog))
			},
			want: map[string][]selector{
				// The queue is full: the receiver holds its checkpoint and
				// retries, so its trail stalls.
				"ZendeskAuditExportQueueFilling": {{"otelcol_exporter_queue_size", map[string]string{"exporter": "otlp_http/backend"}}},
				"ZendeskAuditTrailStalled":       {{receiverMetricPrefix + "checkpoint_lag", map[string]string{"receiver": "zendesk_audit_logs/acme"}}},
			},
		},
		{
			name: "backend refuses for good",
			setup: func(t *testing.T, dir string) map[string]any {
				return collectorConfig(dir, backend(t, http.StatusBadRequest), true, newLiveAccount(t, "acme", backlog))
			},
			want: map[string][]selector{
				"ZendeskAuditRecordsDropped": {{receiverMetricPrefix + "records_dropped", map[string]string{"receiver": "zendesk_audit_logs/acme"}}},
				"ZendeskAuditExportsFailing": {{"otelcol_exporter_send_failed_log_records", map[string]string{"exporter": "otlp_http/backend"}}},
			},
		},
		{
			name: "mistyped fields",
			setup: func(t *testing.T, dir string) map[string]any {
				acme := newLiveAccount(t, "acme", backlog, func(o *zendesksim.Options) { o.MistypedFraction = 0.2 })
				return collectorConfig(dir, backendOK(t), false, acme)
			},
			want: map[string][]selector{
				"ZendeskAuditSchemaDrift": {{receiverMetricPrefix + "records_malformed", map[string]string{"receiver": "zendesk_audit_logs/acme"}}},
			},
		},
		{
			name: "collector down",
			setup: func(t *testing.T, dir string) map[string]any {
				return collectorConfig(dir, backendOK(t), false, newLiveAccount(t, "acme", backlog))
			},
			killAfter: 8,
			want: map[string][]selector{
				"ZendeskAuditCollectorDown": {{"up", nil}},
				"ZendeskAuditMetricsAbsent": {{}},
			},
		},
	}

	// Every scenario's collector runs at once (they mostly wait): the
	// setups here, the scrapes in a goroutine each, the checks after.
	type run struct {
		scrapes  [][]sample
		instance string
		err      error
	}
	runs := make([]run, len(scenarios))
	var wg sync.WaitGroup
	for i, sc := range scenarios {
		p, url := startScenario(t, collector, sc)
		runs[i].instance = strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")
		wg.Go(func() { runs[i].scrapes, runs[i].err = scrapeScenario(p, url, sc.killAfter) })
	}
	wg.Wait()
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := runs[i]
			require.NoError(t, r.err)
			for _, s := range r.scrapes {
				all = append(all, s...)
			}
			testFile := promtoolTest(t, rulesPath, rules, sc, r.scrapes, r.instance)
			path := filepath.Join(t.TempDir(), "test.yaml")
			require.NoError(t, os.WriteFile(path, testFile, 0o600))
			out, err := exec.CommandContext(t.Context(), promtoolPath, "test", "rules", path).CombinedOutput()
			require.NoError(t, err, "promtool test rules:\n%s\ntest file:\n%s", out, testFile)
			fired := slices.Sorted(maps.Keys(sc.want))
			t.Logf("%s: %d scrapes, %d series in the last, firing: %v; promtool: %s", sc.name, len(r.scrapes),
				len(lastScrape(r.scrapes)), fired, strings.TrimSpace(string(out)))
		})
	}
	if t.Failed() {
		return
	}

	// Every metric name and label the rules use appears in a scrape.
	require.NoError(t, rulesMatchScrapes(rules, all))
}

func newLiveAccount(t *testing.T, name string, backlog int, opts ...func(*zendesksim.Options)) *simAccount {
	a := newAccount(t, name, backlog, opts...)
	a.sim.StartLive(t.Context(), 5, 0, 0)
	t.Cleanup(a.sim.StopLive)
	return a
}

// startScenario starts the collector of sc and returns it and the URL of
// its metrics.
func startScenario(t *testing.T, collector string, sc alertScenario) (*childproc.Process, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := sc.setup(t, dir)
	port := freePort(t)
	cfg["service"].(map[string]any)["telemetry"] = metricsTelemetry(port)
	sup := childproc.NewSupervisor("deploytest")
	t.Cleanup(sup.KillAll)
	p := runCollector(t, sup, collector, dir, "collector", cfg)
	return p, fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
}

// scrapeScenario scrapes the collector scrapeCount times, scrapeEvery
// apart, from its first scrape that answered; with killAfter > 0 it
// SIGKILLs the collector after that many scrapes (a failed scrape is then
// nil), else it stops the collector at the end.
func scrapeScenario(p *childproc.Process, url string, killAfter int) ([][]sample, error) {
	deadline := time.Now().Add(60 * time.Second)
	first, err := scrape(url)
	for err != nil {
		if time.Now().After(deadline) || p.Exited() {
			return nil, fmt.Errorf("the collector serves no metrics (%v): %s", err, p.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
		first, err = scrape(url)
	}
	scrapes := [][]sample{first}
	tick := time.NewTicker(scrapeEvery)
	defer tick.Stop()
	for len(scrapes) < scrapeCount {
		<-tick.C
		if killAfter > 0 && len(scrapes) == killAfter {
			if err := p.Kill(10 * time.Second); err != nil {
				return nil, err
			}
		}
		s, err := scrape(url)
		if err != nil {
			if killAfter == 0 {
				return nil, fmt.Errorf("scrape %d failed: %w\n%s", len(scrapes), err, p.LogTail(20))
			}
			s = nil
		}
		scrapes = append(scrapes, s)
	}
	if killAfter == 0 {
		if p.Exited() {
			return nil, fmt.Errorf("the collector exited: %s", p.LogTail(20))
		}
		if err := p.Stop(30 * time.Second); err != nil {
			return nil, fmt.Errorf("stopping the collector: %w\n%s", err, p.LogTail(20))
		}
	}
	return scrapes, nil
}

func lastScrape(scrapes [][]sample) []sample {
	for i := len(scrapes) - 1; i >= 0; i-- {
		if scrapes[i] != nil {
			return scrapes[i]
		}
	}
	return nil
}

// promtoolTest is a promtool unit test: the scrapes as input series (one
// a minute, with the job and instance labels a Prometheus server adds, and
// up), and for every alert of the rule file the alerts expected at the
// last scrape: those sc wants, with the labels of their series and the
// annotations rendered from them; none for the others.
func promtoolTest(t *testing.T, rulesPath string, rules []rule, sc alertScenario, scrapes [][]sample, instance string) []byte {
	t.Helper()
	target := map[string]string{"job": scrapeJob, "instance": instance}
	values := map[string][]string{}
	for i, s := range scrapes {
		up := sample{labels: map[string]string{"__name__": "up"}, value: 1}
		if s == nil {
			up.value = 0
		}
		for _, smp := range append(slices.Clone(s), up) {
			maps.Copy(smp.labels, target)
			k := smp.key()
			if values[k] == nil {
				values[k] = slices.Repeat([]string{"_"}, len(scrapes))
			}
			values[k][i] = fmt.Sprint(smp.value)
		}
	}
	var input []map[string]string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		input = append(input, map[string]string{"series": k, "values": strings.Join(values[k], " ")})
	}

	last := lastScrape(scrapes)
	for _, s := range last {
		maps.Copy(s.labels, target)
	}
	var tests []map[string]any
	for _, r := range rules {
		exp := []map[string]any{}
		for _, sel := range sc.want[r.Alert] {
			var sets []map[string]string
			switch sel.metric {
			case "":
				sets = []map[string]string{{}}
			case "up":
				sets = []map[string]string{maps.Clone(target)}
			default:
				for _, s := range last {
					if s.name() == sel.metric && matches(s.labels, sel.labels) {
						l := maps.Clone(s.labels)
						delete(l, "__name__")
						sets = append(sets, l)
					}
				}
			}
			require.NotEmpty(t, sets, "%s: no series %s%v in the last scrape", r.Alert, sel.metric, sel.labels)
			for _, l := range sets {
				annotations := map[string]string{}
				for k, text := range r.Annotations {
					annotations[k] = expandLikePrometheus(t, text, l)
				}
				maps.Copy(l, r.Labels)
				exp = append(exp, map[string]any{"exp_labels": l, "exp_annotations": annotations})
			}
		}
		tests = append(tests, map[string]any{
			"eval_time": fmt.Sprintf("%dm", len(scrapes)-1), "alertname": r.Alert, "exp_alerts": exp,
		})
	}
	for name := range sc.want {
		require.True(t, slices.ContainsFunc(rules, func(r rule) bool { return r.Alert == name }), "no alert %s in the rules", name)
	}
	out, err := yaml.Marshal(map[string]any{
		"rule_files":          []string{rulesPath},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"interval": "1m", "input_series": input, "alert_rule_test": tests,
		}},
	})
	require.NoError(t, err)
	return out
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// expandLikePrometheus expands an annotation as Prometheus does for an
// alert with these labels: Go's text/template, with $labels defined
// (the rules use no other variable or function).
func expandLikePrometheus(t *testing.T, text string, labels map[string]string) string {
	t.Helper()
	tmpl, err := template.New("annotation").Parse("{{$labels := .Labels}}" + text)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tmpl.Execute(&b, struct{ Labels map[string]string }{labels}))
	return b.String()
}

var (
	// metricRef is a metric name in a PromQL expression: ours start with
	// otelcol_; up is the one Prometheus makes.
	metricRef = regexp.MustCompile(`\b(otelcol_[a-z0-9_]+|up)\b`)
	// matcherRef is a label matcher in braces.
	matcherRef = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"`)
	// byRef is the label list of by (...), without (...), on (...).
	byRef = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	// annotationRef is a label an annotation reads.
	annotationRef = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
)

// rulesMatchScrapes fails unless every metric name the rules' expressions
// use is in a scrape (up excepted: Prometheus makes it), and every label
// they match on or print is a label of a scraped series (or job and
// instance, which Prometheus adds).
func rulesMatchScrapes(rules []rule, scraped []sample) error {
	names := map[string]bool{"up": true}
	labels := map[string]bool{"job": true, "instance": true}
	for _, s := range scraped {
		names[s.name()] = true
		for k := range s.labels {
			labels[k] = true
		}
	}
	var errs []string
	for _, r := range rules {
		for _, m := range metricRef.FindAllString(r.Expr, -1) {
			if !names[m] {
				errs = append(errs, fmt.Sprintf("%s: metric %s is in no scrape of the collector", r.Alert, m))
			}
		}
		var used []string
		for _, m := range matcherRef.FindAllStringSubmatch(r.Expr, -1) {
			used = append(used, m[1])
		}
		for _, m := range byRef.FindAllStringSubmatch(r.Expr, -1) {
			for l := range strings.SplitSeq(m[1], ",") {
				if l = strings.TrimSpace(l); l != "" {
					used = append(used, l)
				}
			}
		}
		for _, text := range r.Annotations {
			for _, m := range annotationRef.FindAllStringSubmatch(text, -1) {
				used = append(used, m[1])
			}
		}
		for _, l := range used {
			if !labels[l] {
				errs = append(errs, fmt.Sprintf("%s: label %s is on no scraped series", r.Alert, l))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the rules use what the collector does not expose:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}

// A rule written from habit (the _total suffix) or with a misspelled label
// is caught.
func TestRulesMatchScrapesCatchesMisspellings(t *testing.T) {
	scraped := []sample{{labels: map[string]string{"__name__": "otelcol_zendesk_audit_logs_api_requests", "receiver": "r", "error_type": "401"}}}
	ok := []rule{{Alert: "A", Expr: `increase(otelcol_zendesk_audit_logs_api_requests{error_type="401"}[5m]) > 0 or up == 0`,
		Annotations: map[string]string{"d": "{{ $labels.receiver }} on {{ $labels.instance }}"}}}
	require.NoError(t, rulesMatchScrapes(ok, scraped))
	for _, bad := range []rule{
		{Alert: "B", Expr: `increase(otelcol_zendesk_audit_logs_api_requests_total[5m]) > 0`},
		{Alert: "C", Expr: `increase(otelcol_zendesk_audit_logs_api_requests{error_typ="401"}[5m]) > 0`},
		{Alert: "D", Expr: `sum by (account) (otelcol_zendesk_audit_logs_api_requests) > 0`},
		{Alert: "E", Expr: `otelcol_zendesk_audit_logs_api_requests > 0`, Annotations: map[string]string{"d": "{{ $labels.zendesk_subdomian }}"}},
	} {
		err := rulesMatchScrapes([]rule{bad}, scraped)
		assert.Error(t, err, bad.Alert)
	}
}

// Every alert has a summary, a description and a runbook link to a
// section of the README's Runbook.
func TestEveryAlertHasARunbookSection(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	anchors := map[string]bool{}
	for line := range strings.SplitSeq(string(readme), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-"))] = true
		}
	}
	const base = "https://github.com/zendesk-audit-otel/zendeskauditlogsreceiver/blob/main/README.md#"
	rules := readRules(t, rulesFile)
	require.GreaterOrEqual(t, len(rules), 8)
	for _, r := range rules {
		assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
		assert.NotEmpty(t, r.Annotations["description"], r.Alert)
		assert.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], r.Alert)
		anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], base)
		if assert.True(t, ok, "%s: runbook_url %q is not a link into the README", r.Alert, r.Annotations["runbook_url"]) {
			assert.Equal(t, strings.ToLower(r.Alert), anchor, r.Alert)
			assert.True(t, anchors[anchor], "%s: the README has no section ### %s", r.Alert, r.Alert)
		}
	}
}
