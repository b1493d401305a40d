package deploytest

// The log store: the README's "Into a log store" (its exporter, and every
// LogsQL query of its table, against VictoriaLogs filled by the built
// collector from the simulator) and the reconcile CronJob of
// deploy/kubernetes (its command run against a simulator and VictoriaLogs).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	storeEmail = "store-test@example.com"
	storeToken = "store-test-token"
	// storeClientSecret is the secret of the reconcile CronJob's OAuth
	// client (its id is the manifest's) in the simulator.
	storeClientSecret = "store-test-client-secret"
)

// victoriaLogs starts the VictoriaLogs of `make build` (or VICTORIALOGS)
// on a free port with its data in a temporary directory and a retention of
// 100 years (a store that keeps every record the simulator dates), and
// returns its base URL; it skips, saying so, when the binary is missing.
func victoriaLogs(t *testing.T) string {
	t.Helper()
	base, _ := victoriaLogsWithRetention(t, "100y")
	return base
}

// victoriaLogsWithRetention is victoriaLogs with the store's
// -retentionPeriod (and more flags of its own), and returns the file its
// output (its own log) goes to besides.
func victoriaLogsWithRetention(t *testing.T, retention string, flags ...string) (base, logPath string) {
	t.Helper()
	path := os.Getenv("VICTORIALOGS")
	if path == "" {
		path = filepath.Join(repoRoot, "bin", "victoria-logs")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SKIPPED: %s is missing (%v): run `make build` first; CI builds it before `make test`", path, err)
	}
	var last error
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		logPath = filepath.Join(t.TempDir(), "victoria-logs.log")
		log, err := os.Create(logPath)
		require.NoError(t, err)
		t.Cleanup(func() { log.Close() })
		cmd := exec.Command(path, append([]string{"-storageDataPath=" + t.TempDir(), "-httpListenAddr=" + addr, "-retentionPeriod=" + retention}, flags...)...)
		cmd.Stdout, cmd.Stderr = log, log
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		base = "http://" + addr
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			select {
			case <-done:
				out, _ := os.ReadFile(logPath)
				last = fmt.Errorf("victoria-logs exited: %s", out)
			default:
			}
			if last != nil {
				break
			}
			if resp, err := http.Get(base + "/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
					return base, logPath
				}
			}
		}
		_ = cmd.Process.Kill()
		<-done
		if last == nil {
			last = errors.New("victoria-logs did not answer on /health within 30s")
		}
	}
	t.Fatalf("starting victoria-logs: %v", last)
	return "", ""
}

// logsQL runs a query and returns its JSON lines.
func logsQL(t *testing.T, base, query string) []map[string]string {
	t.Helper()
	resp, err := http.PostForm(base+"/select/logsql/query", url.Values{"query": {query}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "query %q: %s", query, body.String())
	var out []map[string]string
	sc := bufio.NewScanner(&body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]string
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "query %q: %s", query, sc.Text())
		out = append(out, m)
	}
	return out
}

// waitStored waits until VictoriaLogs holds n records.
func waitStored(t *testing.T, base string, n int, timeout time.Duration) {
	t.Helper()
	got := ""
	require.Eventually(t, func() bool {
		rows := logsQL(t, base, "* | stats count() n")
		if len(rows) == 1 {
			got = rows[0]["n"]
		}
		return got == strconv.Itoa(n)
	}, timeout, 250*time.Millisecond, "VictoriaLogs holds %s records, want %d", got, n)
}

// simAPI serves a seeded simulator with n records of the last day.
func simAPI(t *testing.T, seed int64, n int, from, to time.Time) (*zendesksim.Server, string) {
	t.Helper()
	sim := zendesksim.New(zendesksim.Options{Seed: seed, Email: storeEmail, APIToken: storeToken,
		OAuthClients: []zendesksim.OAuthClient{{ID: "zendesk-audit-collector", Secret: storeClientSecret}}})
	sim.Generate(n, from, to)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

// auditLogs lists every record of the simulator through the API client.
func auditLogs(t *testing.T, base string, from, to time.Time) []zendesk.AuditLog {
	t.Helper()
	c, err := zendesk.New(zendesk.Options{BaseURL: base, Credentials: zendesk.Credentials{Email: storeEmail, APIToken: storeToken}})
	require.NoError(t, err)
	var out []zendesk.AuditLog
	after := ""
	for {
		page, err := c.List(t.Context(), zendesk.ListParams{
			Filter:   zendesk.Filter{CreatedAtStart: from, CreatedAtEnd: to},
			PageSize: zendesk.MaxPageSize, Sort: zendesk.SortAscending, After: after,
		})
		require.NoError(t, err)
		out = append(out, page.AuditLogs...)
		if !page.HasMore {
			return out
		}
		after = page.AfterCursor
	}
}

// readmeStoreSection returns the yaml block and the query table of the
// README's "## Into a log store".
func readmeStoreSection(t *testing.T) (config string, queries [][2]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	in, inBlock, blockDone := false, false, false
	var block strings.Builder
	for line := range strings.SplitSeq(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Into a log store"
		case !in:
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock, blockDone = false, true
		case inBlock:
			block.WriteString(line + "\n")
		case line == "```yaml" && !blockDone:
			inBlock = true
		case strings.HasPrefix(line, "| ") && strings.Contains(line, "`"):
			cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
			require.Len(t, cells, 4, "README query row %q", line)
			what := strings.TrimSpace(cells[1])
			q := strings.ReplaceAll(strings.Trim(strings.TrimSpace(cells[2]), "`"), "\x00", "|")
			queries = append(queries, [2]string{what, q})
		}
	}
	require.NotEmpty(t, block.String(), `the README has no yaml block under "## Into a log store"`)
	require.NotEmpty(t, queries, `the README has no query table under "## Into a log store"`)
	return block.String(), queries
}

// readmeStoreCollector is a collector configuration with the README's
// VictoriaLogs exporter (its yaml block under "## Into a log store", the
// endpoint vl's), a receiver reading the simulator at simURL from lookback
// ago, a poll a second and no request budget, its checkpoint in a
// file_storage in dir; and the README's query table.
func readmeStoreCollector(t *testing.T, vl, simURL, dir, lookback string) (cfg map[string]any, queries [][2]string) {
	t.Helper()
	exporterYAML, queries := readmeStoreSection(t)
	require.NoError(t, yaml.Unmarshal([]byte(exporterYAML), &cfg))
	endpoint, _ := dig(cfg, "exporters", "otlp_http/victorialogs", "endpoint").(string)
	require.True(t, strings.HasSuffix(endpoint, ":9428/insert/opentelemetry"), "the README's endpoint %q", endpoint)
	cfg["exporters"].(map[string]any)["otlp_http/victorialogs"].(map[string]any)["endpoint"] = vl + "/insert/opentelemetry"
	cfg["extensions"] = map[string]any{"file_storage": map[string]any{"directory": dir}}
	cfg["receivers"] = map[string]any{"zendesk_audit_logs": map[string]any{
		"endpoint": simURL, "email": storeEmail, "api_token": storeToken, "storage": "file_storage",
		"initial_lookback": lookback, "poll_interval": "1s", "max_requests_per_minute": 0,
	}}
	cfg["processors"] = map[string]any{"memory_limiter": map[string]any{"check_interval": "1s", "limit_mib": 256}}
	svc := cfg["service"].(map[string]any)
	svc["telemetry"] = map[string]any{"metrics": map[string]any{"level": "none"}}
	return cfg, queries
}

// readmeStoreObject is the changed object of the README's query "the
// history of one changed object": a user of the simulator's seed 16 data
// that several records change.
const readmeStoreObject = 361782910291

// TestREADMELogStoreQueries runs the collector with the README's
// VictoriaLogs exporter on the simulator's records, then every query of
// the README's table, each of which must return exactly the records its
// first column names, computed from the records themselves with the
// receiver's detection rules.
func TestREADMELogStoreQueries(t *testing.T) {
	collector := builtCollector(t)
	vl := victoriaLogs(t)
	now := time.Now().UTC().Truncate(time.Second)
	from, to := now.Add(-20*time.Hour), now.Add(-time.Hour)
	const n = 3000
	_, simURL := simAPI(t, 16, n, from, to)

	// The README's exporter, in a collector reading the simulator.
	cfg, queries := readmeStoreCollector(t, vl, simURL, t.TempDir(), "24h")
	b, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	cfgPath := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(cfgPath, b, 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx, collector, "--config="+cfgPath)
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	waitStored(t, vl, n, 3*time.Minute)

	// What each query must return, from the records.
	recs := auditLogs(t, simURL, from.Add(-time.Second), to.Add(time.Second))
	require.Len(t, recs, n)
	detector, err := detect.New(nil)
	require.NoError(t, err)
	rules := make([]*detect.Rule, len(recs))
	for i := range recs {
		rules[i] = detector.MatchAuditLog(&recs[i])
	}
	str := func(o zendesk.Optional[string]) string { v, _ := o.Get(); return v }
	num := func(o zendesk.Optional[int64]) int64 { v, _ := o.Get(); return v }
	selects := map[string]func(i int) bool{
		"flagged events, newest first":     func(i int) bool { return rules[i] != nil },
		"flagged events of the high rules": func(i int) bool { return rules[i] != nil && rules[i].Severity == detect.High },
		"everything one actor did":         func(i int) bool { return num(recs[i].ActorID) == 361782910349 },
		"everything from one IP address":   func(i int) bool { return str(recs[i].IPAddress) == "192.0.2.33" },
		"logins from one IP address":       func(i int) bool { return str(recs[i].IPAddress) == "192.0.2.33" && str(recs[i].Action) == "login" },
		"the history of one changed object": func(i int) bool {
			return str(recs[i].SourceType) == "user" && num(recs[i].SourceID) == readmeStoreObject
		},
		"how many of each rule":                    nil, // stats, below
		"records and distinct ids of the last day": nil,
	}
	for _, r := range detect.Rules() {
		selects["rule `"+r.Name+"`"] = func(i int) bool { return rules[i] != nil && rules[i].Name == r.Name }
	}
	perRule := map[string]int{}
	for _, r := range rules {
		if r != nil {
			perRule[r.Name]++
		}
	}

	tested := map[string]bool{}
	for _, row := range queries {
		what, query := row[0], row[1]
		if what == "records and distinct ids of the last day (a quick completeness check)" {
			what = "records and distinct ids of the last day"
		}
		sel, known := selects[what]
		require.True(t, known, "the README's query %q (%s) has no test: add what it must return to this test", query, what)
		tested[what] = true
		switch what {
		case "how many of each rule":
			got := map[string]int{}
			for _, m := range logsQL(t, vl, query) {
				got[m["security_rule.name"]], _ = strconv.Atoi(m["n"])
			}
			assert.Equal(t, perRule, got, query)
			assert.Len(t, got, len(detect.Rules()), "the simulator's data flags every rule")
			continue
		case "records and distinct ids of the last day":
			assert.Equal(t, []map[string]string{{"records": strconv.Itoa(n), "ids": strconv.Itoa(n)}}, logsQL(t, vl, query), query)
			continue
		}
		var want []string
		for i := range recs {
			if sel(i) {
				want = append(want, strconv.FormatInt(num(recs[i].ID), 10))
			}
		}
		require.NotEmpty(t, want, "%s: the simulator's data has no such record, so the query %q proves nothing", what, query)
		rows := logsQL(t, vl, query+" | fields log.record.uid, _time")
		var got, times []string
		for _, m := range rows {
			got = append(got, m["log.record.uid"])
			times = append(times, m["_time"])
		}
		switch {
		case strings.Contains(query, "sort by (_time desc)"):
			assert.True(t, slices.IsSortedFunc(times, func(a, b string) int { return strings.Compare(b, a) }), "%s: not newest first", query)
		case strings.Contains(query, "sort by (_time)"):
			assert.True(t, slices.IsSorted(times), "%s: not oldest first", query)
		}
		slices.Sort(want)
		slices.Sort(got)
		assert.Equal(t, want, got, "%s: %s", what, query)
		t.Logf("%-40s %5d records: %s", what, len(got), query)
	}
	for what := range selects {
		assert.True(t, tested[what], "the README has no query for %q any more: remove it from this test", what)
	}

	// The queries `make run` prints are the README's.
	demo, err := os.ReadFile(filepath.Join(repoRoot, "demo", "run.sh"))
	require.NoError(t, err)
	printed := 0
	for line := range strings.SplitSeq(string(demo), "\n") {
		if _, q, ok := strings.Cut(line, `log "  `); ok && strings.Contains(q, ":  ") {
			_, q, _ = strings.Cut(q, ":  ")
			q = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(q), `"`))
			printed++
			assert.True(t, slices.ContainsFunc(queries, func(r [2]string) bool { return r[1] == q }), "demo/run.sh prints %q, which the README's table lacks", q)
		}
	}
	assert.Equal(t, 3, printed, "demo/run.sh prints three queries")
}

// TestReconcileCronJob checks the CronJob's manifest and runs its
// command, the addresses of the account and the store pointed at a
// simulator and VictoriaLogs: the first run finds the store empty and
// re-sends yesterday's records (exit 3), the Job's retry finds it whole.
func TestReconcileCronJob(t *testing.T) {
	m := decodePlainManifests(t)
	require.Len(t, m.cronJobs, 1)
	cj := m.cronJobs[0]
	assert.Equal(t, "Forbid", string(cj.Spec.ConcurrencyPolicy), "two reconciles of one day at once would re-send the same records")
	require.NotNil(t, cj.Spec.TimeZone)
	assert.Equal(t, "Etc/UTC", *cj.Spec.TimeZone, "--day yesterday is a UTC day")
	assert.Len(t, strings.Fields(cj.Spec.Schedule), 5)
	job := cj.Spec.JobTemplate.Spec
	require.NotNil(t, job.BackoffLimit)
	assert.GreaterOrEqual(t, *job.BackoffLimit, int32(1), "the retry checks the repair")
	pod := job.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	assert.False(t, *pod.AutomountServiceAccountToken)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.NotNil(t, pod.SecurityContext)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.NotNil(t, c.SecurityContext)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Contains(t, c.Resources.Limits, corev1.ResourceMemory)
	assert.Equal(t, []string{"/zendesk-audit"}, c.Command)
	require.NotEmpty(t, c.Args)
	assert.Equal(t, "reconcile", c.Args[0])
	for _, want := range []string{"--day=yesterday", "--resend="} {
		assert.True(t, slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, want) }), "no %s argument", want)
	}
	// The token: from the StatefulSet's Secret, never in plain text.
	sts := m.statefulSets[0].Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		if strings.Contains(e.Name, "TOKEN") {
			require.NotNil(t, e.ValueFrom, "%s is in plain text", e.Name)
			require.NotNil(t, e.ValueFrom.SecretKeyRef, "%s does not come from a Secret", e.Name)
			assert.True(t, slices.ContainsFunc(sts.Env, func(s corev1.EnvVar) bool {
				return s.ValueFrom != nil && s.ValueFrom.SecretKeyRef != nil && *s.ValueFrom.SecretKeyRef == *e.ValueFrom.SecretKeyRef
			}), "%s: the Secret key %v is not the collector's", e.Name, e.ValueFrom.SecretKeyRef)
		}
	}
	// The image carries /zendesk-audit beside the collector.
	assert.Equal(t, sts.Image, c.Image)
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	require.NoError(t, err)
	assert.Contains(t, string(makefile), "$(IMAGE_STAGE)/rootfs/zendesk-audit", "make image must put /zendesk-audit into the image")

	// Run it: yesterday's records in a simulator, an empty store.
	audit := buildZendeskAudit(t)
	vl := victoriaLogs(t)
	// "Yesterday" taken after the slow steps, just before the runs that
	// take theirs (--day=yesterday), so that midnight seldom falls between.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	_, simURL := simAPI(t, 21, 700, day, day.Add(24*time.Hour-time.Second))
	args := make([]string, 0, len(c.Args))
	for _, a := range c.Args {
		switch {
		case strings.HasPrefix(a, "--subdomain="):
			a = "--endpoint=" + simURL
		case strings.HasPrefix(a, "--victorialogs="):
			a = "--victorialogs=" + vl
		case strings.HasPrefix(a, "--resend="):
			a = "--resend=" + vl + "/insert/opentelemetry"
		case strings.HasPrefix(a, "--where="):
			a = "--where=server.address:=127.0.0.1" // records of an endpoint carry no zendesk.subdomain
		case strings.HasPrefix(a, "--max-requests-per-minute="):
			a = "--max-requests-per-minute=0"
		}
		args = append(args, a)
	}
	// The manifest's environment: its plain values as they are, the
	// Secret's client secret the simulator's.
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.Name == "ZENDESK_OAUTH_CLIENT_SECRET":
			env = append(env, e.Name+"="+storeClientSecret)
		default:
			t.Fatalf("the CronJob takes %s from a Secret the test does not know", e.Name)
		}
	}
	runJob := func() (int, string) {
		cmd := exec.Command(audit, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err, string(out))
		return 0, string(out)
	}
	code, out1 := runJob()
	require.Equal(t, 3, code, out1)
	assert.Contains(t, out1, "missing=700 ")
	assert.Contains(t, out1, "resent=700 ")
	waitStored(t, vl, 700, time.Minute)
	code, out2 := runJob()
	require.Equal(t, 0, code, out2)
	assert.Contains(t, out2, "missing=0 ")

	// The store's own export of the day, as JSON lines, gives the same
	// answer as its query.
	var export bytes.Buffer
	for _, m := range logsQL(t, vl, fmt.Sprintf("_time:[%s, %s) | fields log.record.uid", day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339))) {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		export.Write(append(b, '\n'))
	}
	idsFile := filepath.Join(t.TempDir(), "ids.jsonl")
	require.NoError(t, os.WriteFile(idsFile, export.Bytes(), 0o600))
	fromFile := slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		return strings.HasPrefix(a, "--where=") || strings.HasPrefix(a, "--resend=")
	})
	for i, a := range fromFile {
		if strings.HasPrefix(a, "--victorialogs=") {
			fromFile[i] = "--ids-file=" + idsFile
		}
	}
	cmd := exec.Command(audit, fromFile...)
	cmd.Env = env
	out3, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out3))
	last := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		return lines[len(lines)-1]
	}
	assert.Equal(t, last(out2), last(string(out3)), "--ids-file and --victorialogs disagree")
}

// buildZendeskAudit builds cmd/zendesk-audit into a temporary directory
// and returns its path.
func buildZendeskAudit(t *testing.T) string {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "zendesk-audit")
	build := exec.Command("go", "build", "-o", audit, "./zendesk-audit")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building zendesk-audit: %s", out)
	return audit
}

// TestRecordsBeyondTheStoresRetentionAreSkippedAndTheExportSucceeds runs
// the collector with the README's exporter on a backlog of three days into
// VictoriaLogs with a retention of one day, the shortest it takes: the
// store skips, with a warning in its own log, every record older than its
// retention when the record arrives, and answers the export with a
// success all the same. So the collector logs nothing wrong and moves its
// checkpoint past the whole backlog: the records the store skipped are
// lost without a trace in the pipeline (README, "Into the store").
func TestRecordsBeyondTheStoresRetentionAreSkippedAndTheExportSucceeds(t *testing.T) {
	collector := builtCollector(t)
	audit := buildZendeskAudit(t)
	vl, vlLog := victoriaLogsWithRetention(t, "1d")
	const n, retention = 2000, 24 * time.Hour
	now := time.Now().UTC().Truncate(time.Second)
	sim, simURL := simAPI(t, 31, n, now.Add(-72*time.Hour), now.Add(-time.Hour))
	recs := sim.Records()
	require.Len(t, recs, n)

	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	require.NoError(t, os.Mkdir(storage, 0o700))
	cfg, _ := readmeStoreCollector(t, vl, simURL, storage, "74h")
	sup := childproc.NewSupervisor("deploytest")
	t.Cleanup(sup.KillAll)
	start := time.Now()
	p := runCollector(t, sup, collector, dir, "collector", cfg)

	// Every record reaches the store, which stores it or skips it (and
	// counts it in its metric of dropped rows). A record is skipped when
	// its created_at is older than the retention at the moment it arrives,
	// sometime between start and settled.
	stored, skipped := 0, 0
	waitFor(t, p, 3*time.Minute, "every record stored or skipped by the store", func() bool {
		stored, skipped = storeCount(t, vl), storeDroppedTooOld(t, vl)
		return stored+skipped >= n
	})
	settled := time.Now()
	require.Equal(t, n, stored+skipped, "stored %d and skipped %d of %d records", stored, skipped, n)
	t.Logf("%d records stored, %d skipped by the store, in %s", stored, skipped, settled.Sub(start).Round(time.Millisecond))
	assert.Greater(t, stored, 0)
	assert.Greater(t, skipped, 0)

	// The receiver read the whole backlog, and polls again after it.
	st := sim.Stats()
	assert.GreaterOrEqual(t, st.RecordsServed, n, "the simulator served every record")
	waitFor(t, p, time.Minute, "a poll after the backlog", func() bool { return sim.Stats().ListRequests > st.ListRequests+1 })
	assert.Equal(t, stored, storeCount(t, vl), "the store's count moved after the backlog")
	assert.Equal(t, skipped, storeDroppedTooOld(t, vl), "the store's skipped count moved after the backlog")

	// The records stored are the newest: every record younger than the
	// retention when the last one arrived, none older than it when the
	// first one did.
	ids := map[string]int{}
	for _, m := range logsQL(t, vl, "* | fields log.record.uid") {
		ids[m["log.record.uid"]]++
	}
	require.Len(t, ids, stored, "the store holds a record twice")
	// Its retention does not count from midnight UTC, as the warning
	// below suggests (its -maxBackfillAge, by default the retention, skips
	// the rest): the records of the day the warning names as the limit
	// that are older than the retention are skipped too.
	surelyStored, surelySkipped := settled.Add(-retention), start.Add(-retention)
	midnight := surelySkipped.UTC().Truncate(24 * time.Hour)
	undecided, afterMidnight := 0, 0
	for _, r := range recs {
		id := strconv.FormatInt(r.ID, 10)
		switch {
		case !r.CreatedAt.Before(surelyStored):
			assert.Equal(t, 1, ids[id], "record %d of %s (younger than the retention) is not in the store", r.ID, r.CreatedAt)
		case r.CreatedAt.Before(surelySkipped):
			assert.Zero(t, ids[id], "record %d of %s (older than the retention) is in the store", r.ID, r.CreatedAt)
			if !r.CreatedAt.Before(midnight) {
				afterMidnight++
			}
		default:
			undecided++
		}
		delete(ids, id)
	}
	assert.Empty(t, ids, "the store holds records the simulator does not have")
	t.Logf("%d records created within the %s the backlog took to arrive, between %s and %s: stored or skipped; "+
		"%d records skipped created after %s, older than the retention", undecided, settled.Sub(start).Round(time.Second),
		surelySkipped.Format(time.RFC3339), surelyStored.Format(time.RFC3339), afterMidnight, midnight.Format(time.RFC3339))

	// The store says so in its own log.
	vlOut, err := os.ReadFile(vlLog)
	require.NoError(t, err)
	warning := ""
	for line := range strings.Lines(string(vlOut)) {
		if strings.Contains(line, "\twarn\t") && strings.Contains(line, "skipping log entry with too small timestamp") {
			warning = line
			break
		}
	}
	require.NotEmpty(t, warning, "no warning of a skipped record in the store's log:\n%s", vlOut)
	assert.Contains(t, warning, "according to the configured -retentionPeriod=1d")
	if i := strings.Index(warning, "; log entry: "); i > 0 {
		warning = warning[:i]
	}
	t.Logf("the store's warning: %s", strings.TrimSpace(warning))

	// The collector saw nothing wrong: the exporter got a success for
	// every export.
	require.NoError(t, p.Stop(time.Minute), p.LogTail(30))
	colOut, err := os.ReadFile(p.LogPath())
	require.NoError(t, err)
	for line := range strings.Lines(string(colOut)) {
		assert.False(t, strings.Contains(line, "\twarn\t") || strings.Contains(line, "\terror\t"), "the collector logged: %s", line)
	}

	// Its checkpoint is past the whole backlog, at the end of its window.
	show := exec.Command(audit, "checkpoint", "show", "--json", "--storage-dir", storage)
	out, err := show.Output()
	require.NoError(t, err, "zendesk-audit checkpoint show: %s", out)
	pos, err := checkpoint.Decode(bytes.TrimSpace(out), time.Now())
	require.NoError(t, err, "checkpoint %s", out)
	newest := recs[len(recs)-1].CreatedAt
	assert.True(t, pos.Second.After(newest), "the checkpoint %s is not past the newest record (%s)", pos.Second, newest)
	assert.True(t, pos.Second.After(start.Add(-2*time.Minute)), "the checkpoint %s is not at the end of the window (the collector started at %s, settle_delay 1m)", pos.Second, start)
	t.Logf("checkpoint: %s", pos.Second.Format(time.RFC3339))
}

// storeCount is how many records VictoriaLogs holds.
func storeCount(t *testing.T, base string) int {
	t.Helper()
	rows := logsQL(t, base, "* | stats count() n")
	require.Len(t, rows, 1)
	n, err := strconv.Atoi(rows[0]["n"])
	require.NoError(t, err)
	return n
}

// storeDroppedTooOld is VictoriaLogs' count of the records it skipped at
// ingestion for their age (vl_rows_dropped_total{reason="too_small_timestamp"}).
func storeDroppedTooOld(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	const name = `vl_rows_dropped_total{reason="too_small_timestamp"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, sc.Text())
			return n
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("VictoriaLogs' metrics have no %s", name)
	return 0
}

// VictoriaLogs answers a query with a 200 and streams it; one that runs
// longer than its -search.maxQueryDuration is cut off mid-stream, and only
// the store's own log says why. reconcile then fails (exit 1, no result
// line) and its error names that limit and what to do, rather than only
// the transport's complaint about the broken stream.
func TestReconcileNamesTheStoresQueryTimeLimitWhenItCutsTheAnswerOff(t *testing.T) {
	audit := buildZendeskAudit(t)
	vl, vlLog := victoriaLogsWithRetention(t, "100y", "-search.maxQueryDuration=1ms")
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	_, simURL := simAPI(t, 23, 10, day, day.Add(time.Hour))

	// 300,000 ids in the window: far more than the store streams in 1 ms.
	var lines bytes.Buffer
	for i := range 300_000 {
		fmt.Fprintf(&lines, `{"_time":%q,"_msg":"x","log.record.uid":"%d"}`+"\n", day.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), 1_000_000+i)
	}
	resp, err := http.Post(vl+"/insert/jsonline", "application/stream+json", &lines)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get(vl + "/internal/force_flush")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cmd := exec.Command(audit, "reconcile", "--endpoint="+simURL, "--max-requests-per-minute=0",
		"--since="+day.Format(time.RFC3339), "--until="+day.Add(24*time.Hour).Format(time.RFC3339), "--victorialogs="+vl)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ZENDESK_EMAIL=" + storeEmail, "ZENDESK_API_TOKEN=" + storeToken}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "reconcile succeeded on a store that cut its answer off:\n%s%s", stdout.String(), stderr.String())
	assert.Equal(t, 1, exit.ExitCode(), stderr.String())
	assert.NotContains(t, stdout.String(), "result=", "no result from part of an answer")
	assert.Contains(t, stderr.String(), "-search.maxQueryDuration", "the error names the store's limit")
	storeLog, err := os.ReadFile(vlLog)
	require.NoError(t, err)
	assert.Contains(t, string(storeLog), "maxQueryDuration", "the store cut the query off for its time limit")
	t.Log(strings.TrimSpace(stderr.String()))
}
