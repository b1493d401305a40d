package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// fakeVictoriaLogs stands in for VictoriaLogs in unit tests (the e2e
// variant `store` and the README test use the real one): it takes
// OTLP/HTTP protobuf at /insert/opentelemetry/v1/logs and keeps each
// record as VictoriaLogs does, a flat map of fields (resource and record
// attributes with their dotted names, scope.name, _time, ...); and it
// answers the LogsQL queries reconcile sends at /select/logsql/query: the
// _time range [start, end) and exact "field":="value" filters.
type fakeVictoriaLogs struct {
	t   *testing.T
	url string

	mu      sync.Mutex
	records []map[string]string
	queries []string
	inserts []int // records per insert request
}

func newFakeVictoriaLogs(t *testing.T) *fakeVictoriaLogs {
	f := &fakeVictoriaLogs{t: t}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// put stores a record holding only an id and a time.
func (f *fakeVictoriaLogs) put(id int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, map[string]string{"_time": at.UTC().Format(time.RFC3339Nano), "log.record.uid": strconv.FormatInt(id, 10)})
}

func (f *fakeVictoriaLogs) snapshot() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.records)
}

var (
	logsQLTime  = regexp.MustCompile(`_time:\[([^,]+), ([^)]+)\)`)
	logsQLExact = regexp.MustCompile(`"([^"]+)":="([^"]*)"`)
)

func (f *fakeVictoriaLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/insert/opentelemetry/v1/logs":
		f.insert(w, r)
	case "/select/logsql/query":
		f.query(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeVictoriaLogs) insert(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "protobuf only", http.StatusBadRequest)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var recs []map[string]string
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		res := rls.At(i).Resource().Attributes()
		for j := range rls.At(i).ScopeLogs().Len() {
			sl := rls.At(i).ScopeLogs().At(j)
			for k := range sl.LogRecords().Len() {
				lr := sl.LogRecords().At(k)
				m := map[string]string{
					"_time":         lr.Timestamp().AsTime().UTC().Format(time.RFC3339Nano),
					"_msg":          lr.Body().AsString(),
					"event_name":    lr.EventName(),
					"severity_text": lr.SeverityText(),
					"scope.name":    sl.Scope().Name(),
					"scope.version": sl.Scope().Version(),
				}
				for _, attrs := range []pcommon.Map{res, lr.Attributes()} {
					for k, v := range attrs.All() {
						m[k] = v.AsString()
					}
				}
				recs = append(recs, m)
			}
		}
	}
	f.mu.Lock()
	f.records = append(f.records, recs...)
	f.inserts = append(f.inserts, len(recs))
	f.mu.Unlock()
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (f *fakeVictoriaLogs) query(w http.ResponseWriter, r *http.Request) {
	q := r.FormValue("query")
	f.mu.Lock()
	f.queries = append(f.queries, q)
	recs := slices.Clone(f.records)
	f.mu.Unlock()
	tm := logsQLTime.FindStringSubmatch(q)
	if tm == nil || !strings.HasSuffix(q, `| fields "log.record.uid"`) {
		http.Error(w, "the fake understands reconcile's query only: "+q, http.StatusBadRequest)
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, tm[1])
	to, err2 := time.Parse(time.RFC3339Nano, tm[2])
	if err1 != nil || err2 != nil {
		http.Error(w, "bad _time", http.StatusBadRequest)
		return
	}
	exact := logsQLExact.FindAllStringSubmatch(q, -1)
	for _, rec := range recs {
		at, _ := time.Parse(time.RFC3339Nano, rec["_time"])
		if at.Before(from) || !at.Before(to) || rec["log.record.uid"] == "" {
			continue
		}
		match := true
		for _, e := range exact {
			match = match && rec[e[1]] == e[2]
		}
		if match {
			fmt.Fprintf(w, "{\"log.record.uid\":%q}\n", rec["log.record.uid"])
		}
	}
}

// reconcileLine reads the last line of reconcile's report.
func reconcileLine(t *testing.T, stdout string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, "reconcile "), "last line: %q", last)
	out := map[string]string{}
	for _, kv := range strings.Fields(last)[1:] {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok, kv)
		out[k] = v
	}
	return out
}

// storeCase is a simulated account and a store that lacks some of its
// records, holds some twice and holds two ids the account does not have.
type storeCase struct {
	api        *testAPI
	store      *fakeVictoriaLogs
	recs       []zendesksim.Record // the account's, sorted by created_at
	missing    []int64             // sorted
	since      time.Time
	until      time.Time
	duplicates int // extra copies stored
}

var windowStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func newStoreCase(t *testing.T) *storeCase {
	t.Helper()
	sc := &storeCase{
		api:   newTestAPI(t, zendesksim.Options{Seed: 16}),
		store: newFakeVictoriaLogs(t),
		since: windowStart,
		until: windowStart.Add(24 * time.Hour),
	}
	sc.recs = sc.api.sim.Generate(450, sc.since.Add(time.Hour), sc.until.Add(-time.Hour))
	// Outside the window: neither side may count them.
	before := sc.api.sim.Generate(5, sc.since.Add(-time.Hour), sc.since.Add(-time.Second))
	after := sc.api.sim.Generate(5, sc.until, sc.until.Add(time.Hour))
	for _, r := range append(before, after...) {
		sc.store.put(r.ID, r.CreatedAt)
	}
	for i, r := range sc.recs {
		// A run of 50 records lost together, and one alone.
		if i >= 100 && i < 150 || i == 300 {
			sc.missing = append(sc.missing, r.ID)
			continue
		}
		sc.store.put(r.ID, r.CreatedAt)
		if i == 10 || i == 11 {
			sc.store.put(r.ID, r.CreatedAt)
			sc.duplicates++
		}
		if i == 10 {
			sc.store.put(r.ID, r.CreatedAt)
			sc.duplicates++
		}
	}
	slices.Sort(sc.missing)
	// Two ids Zendesk does not have, inside the window.
	sc.store.put(1, sc.since.Add(2*time.Hour))
	sc.store.put(99_999_999_999_999, sc.since.Add(3*time.Hour))
	return sc
}

func (sc *storeCase) run(t *testing.T, extra ...string) result {
	t.Helper()
	args := append([]string{"reconcile", "--since", sc.since.Format(time.RFC3339), "--until", sc.until.Format(time.RFC3339),
		"--max-requests-per-minute", "0"}, extra...)
	return sc.api.run(t, args...)
}

func TestReconcileFindsMissingDuplicateAndUnknownIDs(t *testing.T) {
	sc := newStoreCase(t)
	r := sc.run(t, "--victorialogs", sc.store.url, "--max-listed", "0")
	require.Equal(t, exitMissing, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	got := reconcileLine(t, r.stdout)
	assert.Equal(t, map[string]string{
		"zendesk": "450", "store": strconv.Itoa(450 - 51 + 2), "store_records": strconv.Itoa(450 - 51 + 2 + 3),
		"missing": "51", "ranges": "2", "duplicates": "3", "unknown": "2", "resent": "0", "result": "MISSING",
	}, got)
	// Every missing record is listed with its created_at, action and
	// source; the run of 50 is one range.
	for _, id := range sc.missing {
		assert.Regexp(t, `(?m)^  `+strconv.FormatInt(id, 10)+`  +\d{4}-\d\d-\d\dT\S+Z  +\S+  +\S+ \d+$`, r.stdout)
	}
	run := sc.recs[100:150]
	assert.Contains(t, r.stdout, fmt.Sprintf("  %s .. %s", run[0].CreatedAt.Format(time.RFC3339), run[49].CreatedAt.Format(time.RFC3339)))
	assert.Contains(t, r.stdout, fmt.Sprintf("%d held 3 times", sc.recs[10].ID))
	assert.Contains(t, r.stdout, fmt.Sprintf("%d held 2 times", sc.recs[11].ID))
	assert.Contains(t, r.stdout, "  1 99999999999999\n")
	// The store was asked for the window, the account's records only.
	require.Len(t, sc.store.queries, 1)
	assert.Equal(t, `_time:[2026-11-02T00:00:00Z, 2026-11-03T00:00:00Z) AND "log.record.uid":* | fields "log.record.uid"`, sc.store.queries[0])
}

// --day is one UTC day, the window of a daily CronJob.
func TestReconcileDay(t *testing.T) {
	sc := newStoreCase(t)
	byDate := sc.run(t, "--victorialogs", sc.store.url)
	r := sc.api.run(t, "reconcile", "--day", "2026-11-02", "--max-requests-per-minute", "0", "--victorialogs", sc.store.url)
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, byDate.stdout, r.stdout)

	clk := &testClock{now: windowStart.Add(24*time.Hour + 150*time.Minute)} // 02:30 the day after
	r = sc.api.runAt(t, clk, "reconcile", "--day", "yesterday", "--max-requests-per-minute", "0", "--victorialogs", sc.store.url)
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, byDate.stdout, r.stdout)
}

func TestReconcileWarnsOfARecentWindow(t *testing.T) {
	sc := newStoreCase(t)
	r := sc.api.run(t, "reconcile", "--since", "1h", "--max-requests-per-minute", "0", "--victorialogs", sc.store.url)
	assert.Contains(t, r.stderr, "warning: the window ends less than 2m0s ago")
	r = sc.run(t, "--victorialogs", sc.store.url)
	assert.NotContains(t, r.stderr, "warning")
}

func TestReconcileCompleteStoreExitsZero(t *testing.T) {
	api := newTestAPI(t, zendesksim.Options{Seed: 3})
	store := newFakeVictoriaLogs(t)
	for _, rec := range api.sim.Generate(120, windowStart, windowStart.Add(time.Hour)) {
		store.put(rec.ID, rec.CreatedAt)
	}
	r := api.run(t, "reconcile", "--since", windowStart.Format(time.RFC3339), "--until", windowStart.Add(2*time.Hour).Format(time.RFC3339), "--max-requests-per-minute", "0",
		"--victorialogs", store.url)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, "COMPLETE", reconcileLine(t, r.stdout)["result"])
	assert.Equal(t, "0", reconcileLine(t, r.stdout)["missing"])
}

// The window is since <= created_at < until on both sides, whatever
// Zendesk does with its bounds.
func TestReconcileWindowIsHalfOpen(t *testing.T) {
	api := newTestAPI(t, zendesksim.Options{Seed: 4})
	store := newFakeVictoriaLogs(t)
	since, until := windowStart, windowStart.Add(time.Hour)
	api.sim.Add(
		zendesksim.Record{ID: 10, CreatedAt: since.Add(-time.Second), Action: "update"},
		zendesksim.Record{ID: 11, CreatedAt: since, Action: "update"},
		zendesksim.Record{ID: 12, CreatedAt: until.Add(-time.Second), Action: "update"},
		zendesksim.Record{ID: 13, CreatedAt: until, Action: "update"},
	)
	r := api.run(t, "reconcile", "--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--victorialogs", store.url, "--max-requests-per-minute", "0")
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, "2", reconcileLine(t, r.stdout)["zendesk"])
	assert.Regexp(t, `(?m)^  11 `, r.stdout)
	assert.Regexp(t, `(?m)^  12 `, r.stdout)
	for _, id := range []int64{10, 11, 12, 13} {
		store.put(id, api.sim.Records()[id-10].CreatedAt)
	}
	r = api.run(t, "reconcile", "--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--victorialogs", store.url, "--max-requests-per-minute", "0")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, "2", reconcileLine(t, r.stdout)["store"], "records at until or before since are outside the window")
}

// --resend sends exactly the missing records, converted as the receiver
// converts them; the next run finds the store complete.
func TestReconcileResendClosesTheGap(t *testing.T) {
	sc := newStoreCase(t)
	before := len(sc.store.snapshot())
	r := sc.run(t, "--victorialogs", sc.store.url, "--resend", sc.store.url+"/insert/opentelemetry", "--header", "X-Tenant=acme")
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	got := reconcileLine(t, r.stdout)
	assert.Equal(t, "51", got["resent"])
	assert.Equal(t, "MISSING_RESENT", got["result"])

	sent := sc.store.snapshot()[before:]
	var sentIDs []int64
	for _, rec := range sent {
		id, err := strconv.ParseInt(rec["log.record.uid"], 10, 64)
		require.NoError(t, err)
		sentIDs = append(sentIDs, id)
	}
	slices.Sort(sentIDs)
	assert.Equal(t, sc.missing, sentIDs, "exactly the missing records, once each")

	// The receiver's conversion: the same resource, scope, event name,
	// attributes and detections as the records the collector stored.
	flagged := flaggedRules(t, sc)
	nFlagged := 0
	for _, rec := range sent {
		assert.Equal(t, "127.0.0.1", rec["server.address"])
		assert.Equal(t, metadata.ScopeName, rec["scope.name"])
		assert.Equal(t, defaultScopeVersion, rec["scope.version"])
		assert.Equal(t, "zendesk.audit_log", rec["event_name"])
		assert.Equal(t, rec["log.record.uid"], rec["zendesk.audit_log.id"])
		assert.NotEmpty(t, rec["zendesk.audit_log.action"])
		assert.Equal(t, flagged[rec["log.record.uid"]], rec["security_rule.name"], "record %s", rec["log.record.uid"])
		if rec["security_rule.name"] != "" {
			nFlagged++
			assert.Contains(t, []string{"WARN", "ERROR"}, rec["severity_text"])
		} else {
			assert.Equal(t, "INFO", rec["severity_text"])
		}
	}
	assert.Positive(t, nFlagged, "the seed gives flagged records among the missing ones")

	r = sc.run(t, "--victorialogs", sc.store.url, "--resend", sc.store.url+"/insert/opentelemetry")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	got = reconcileLine(t, r.stdout)
	assert.Equal(t, "0", got["missing"])
	assert.Equal(t, "0", got["resent"])
	assert.Equal(t, "3", got["duplicates"], "the resend added no duplicate")
	assert.Len(t, sc.store.snapshot(), before+len(sc.missing))
}

// --disabled-rules: the receiver's detections::disabled_rules, so that
// re-sent records are flagged as the receiver flags them.
func TestReconcileResendKeepsDisabledRulesOff(t *testing.T) {
	sc := newStoreCase(t)
	flagged := flaggedRules(t, sc)
	counts := map[string]int{}
	for _, id := range sc.missing {
		counts[flagged[strconv.FormatInt(id, 10)]]++
	}
	var off []string // the rules of the missing records
	for rule := range counts {
		if rule != "" {
			off = append(off, rule)
		}
	}
	require.NotEmpty(t, off, "the seed gives flagged records among the missing ones")
	before := len(sc.store.snapshot())
	r := sc.run(t, "--victorialogs", sc.store.url, "--resend", sc.store.url+"/insert/opentelemetry", "--disabled-rules", strings.Join(off, ", "))
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	for _, rec := range sc.store.snapshot()[before:] {
		assert.Empty(t, rec["security_rule.name"], rec["log.record.uid"])
		assert.Equal(t, "INFO", rec["severity_text"], rec["log.record.uid"])
	}
}

// A large gap is re-sent in batches of at most resendBatch records, read
// range by range: reconcile never holds the missing records all at once.
func TestReconcileResendsInBatches(t *testing.T) {
	api := newTestAPI(t, zendesksim.Options{Seed: 9})
	store := newFakeVictoriaLogs(t)
	recs := api.sim.Generate(2600, windowStart, windowStart.Add(10*time.Hour))
	for i, rec := range recs {
		if i%500 != 0 { // 2594 missing, in 6 ranges
			continue
		}
		store.put(rec.ID, rec.CreatedAt)
	}
	args := []string{"reconcile", "--since", windowStart.Format(time.RFC3339), "--until", windowStart.Add(11 * time.Hour).Format(time.RFC3339),
		"--max-requests-per-minute", "0", "--victorialogs", store.url, "--max-listed", "5"}
	r := api.run(t, append(args, "--resend", store.url+"/insert/opentelemetry")...)
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, "2594", reconcileLine(t, r.stdout)["resent"])
	assert.Equal(t, []int{1000, 1000, 594}, store.inserts)
	assert.Contains(t, r.stdout, "  ... and 2589 more (--max-listed 0 lists all)")
	r = api.run(t, args...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
}

// flaggedRules maps each id of the case to the rule `list` reports for
// it (the receiver's detections), "" when none.
func flaggedRules(t *testing.T, sc *storeCase) map[string]string {
	r := sc.api.run(t, "list", "--since", sc.since.Format(time.RFC3339), "--until", sc.until.Format(time.RFC3339), "--max-requests-per-minute", "0")
	require.Equal(t, 0, r.code, r.stderr)
	out := map[string]string{}
	for _, rec := range parseLines(t, r.stdout) {
		id := strconv.FormatInt(int64(rec["id"].(float64)), 10)
		if rule, ok := rec["security_rule"].(map[string]any); ok {
			out[id] = rule["name"].(string)
		} else {
			out[id] = ""
		}
	}
	return out
}

// An ids file, as a store exports it (JSON lines with log.record.uid, or
// bare ids), gives the same answer as the query.
func TestReconcileIDsFileGivesTheSameAnswerAsVictoriaLogs(t *testing.T) {
	sc := newStoreCase(t)
	fromVL := sc.run(t, "--victorialogs", sc.store.url)
	require.Equal(t, exitMissing, fromVL.code, fromVL.stdout+fromVL.stderr)

	// The store's export of the window, as VictoriaLogs writes it.
	var jsonLines, bare bytes.Buffer
	for _, rec := range sc.store.snapshot() {
		at, _ := time.Parse(time.RFC3339Nano, rec["_time"])
		if at.Before(sc.since) || !at.Before(sc.until) {
			continue
		}
		fmt.Fprintf(&jsonLines, "{\"_time\":%q,\"log.record.uid\":%q}\n", rec["_time"], rec["log.record.uid"])
		fmt.Fprintf(&bare, "%s\n\n", rec["log.record.uid"])
	}
	path := filepath.Join(t.TempDir(), "ids.jsonl")
	require.NoError(t, os.WriteFile(path, jsonLines.Bytes(), 0o600))
	fromFile := sc.run(t, "--ids-file", path)

	var stdout, stderr bytes.Buffer
	env := sc.api.env
	code := run(t.Context(), []string{"reconcile", "--since", sc.since.Format(time.RFC3339), "--until", sc.until.Format(time.RFC3339),
		"--max-requests-per-minute", "0", "--ids-file", "-"}, func(k string) string { return env[k] }, &bare, &stdout, &stderr)
	require.Equal(t, exitMissing, code, stderr.String())

	want := reconcileLine(t, fromVL.stdout)
	assert.Equal(t, exitMissing, fromFile.code)
	assert.Equal(t, want, reconcileLine(t, fromFile.stdout))
	assert.Equal(t, want, reconcileLine(t, stdout.String()))
	// The same report but for the store's name.
	strip := func(s string) string { return regexp.MustCompile(`(?m)^store .*$`).ReplaceAllString(s, "store") }
	assert.Equal(t, strip(fromVL.stdout), strip(fromFile.stdout))
}

func TestReconcileBadStoreAnswers(t *testing.T) {
	api := newTestAPI(t, zendesksim.Options{Seed: 5})
	api.sim.Generate(10, windowStart, windowStart.Add(time.Hour))
	args := []string{"reconcile", "--since", windowStart.Format(time.RFC3339), "--until", windowStart.Add(time.Hour).Format(time.RFC3339)}
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		file string
		want string
	}{
		"not an id":       {"17\nseventeen\n", "line 2: \"seventeen\" is not an audit log id"},
		"negative":        {"-5\n", "line 1: \"-5\" is not an audit log id"},
		"json without id": {`{"_msg":"x"}` + "\n", `line 1: the JSON object has no "log.record.uid"`},
		"json bad id":     {`{"log.record.uid":"abc"}` + "\n", `line 1: log.record.uid "abc" is not an audit log id`},
		"broken json":     {`{"log.record.uid":` + "\n", "line 1: not JSON"},
		"huge line":       {strings.Repeat("1", maxStoreLine+10) + "\n", "line 1: longer than"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
			r := api.run(t, append(args, "--ids-file", path)...)
			assert.Equal(t, exitFail, r.code)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
	t.Run("victorialogs refuses the query", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "cannot parse query", http.StatusBadRequest)
		}))
		defer ts.Close()
		r := api.run(t, append(args, "--victorialogs", ts.URL)...)
		assert.Equal(t, exitFail, r.code)
		assert.Contains(t, r.stderr, "400 Bad Request: cannot parse query")
	})
	t.Run("victorialogs unreachable", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		r := api.run(t, append(args, "--victorialogs", ts.URL)...)
		assert.Equal(t, exitFail, r.code)
		assert.Contains(t, r.stderr, "querying VictoriaLogs")
	})
	t.Run("answer cut off mid-line", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "{\"log.record.uid\":\"1\"}\n{\"log.record.u")
		}))
		defer ts.Close()
		r := api.run(t, append(args, "--victorialogs", ts.URL)...)
		assert.Equal(t, exitFail, r.code)
		assert.Contains(t, r.stderr, "line 2: broke off after 1 ids, in the middle of a line: not JSON")
		assert.Contains(t, r.stderr, "-search.maxQueryDuration", "the store's limit that cuts answers off so")
	})
	t.Run("answer whose stream breaks", func(t *testing.T) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "{\"log.record.uid\":\"1\"}\n")
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close() // the chunked stream ends without its last chunk
			}
		}))
		defer ts.Close()
		r := api.run(t, append(args, "--victorialogs", ts.URL)...)
		assert.Equal(t, exitFail, r.code)
		assert.Contains(t, r.stderr, "reading VictoriaLogs' answer: broke off after 1 ids: unexpected EOF")
		assert.Contains(t, r.stderr, "-search.maxQueryDuration")
		assert.NotContains(t, r.stdout, "result=")
	})
	// A store that holds the connection and sends nothing (a stuck proxy,
	// a stopped process) ends the run with an error, however far its
	// answer got; it never hangs it.
	for name, sent := range map[string]string{
		"victorialogs never answers":     "",
		"victorialogs answers nothing":   "\n",
		"victorialogs stops sending ids": "{\"log.record.uid\":\"1\"}\n",
		"victorialogs stops mid-line":    "{\"log.record.uid\":\"1\"}\n{\"log.rec",
	} {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client go
				if sent != "" {
					_, _ = io.WriteString(w, sent)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done()
			}))
			defer ts.Close()
			r := api.run(t, append(args, "--victorialogs", ts.URL, "--store-idle-timeout", "200ms")...)
			assert.Equal(t, exitFail, r.code)
			assert.Contains(t, r.stderr, "VictoriaLogs sent nothing for 200ms (--store-idle-timeout)")
			assert.NotContains(t, r.stdout, "result=")
		})
	}
}

func TestReconcileUsageAndAuth(t *testing.T) {
	sc := newStoreCase(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reconcile", "--victorialogs", sc.store.url}, "--since (or --day) is required"},
		{[]string{"reconcile", "--day", "yesterday", "--since", "1d", "--victorialogs", sc.store.url}, "exclusive"},
		{[]string{"reconcile", "--day", "2026-13-01", "--victorialogs", sc.store.url}, "neither YYYY-MM-DD nor yesterday"},
		{[]string{"reconcile", "--since", "1d"}, "no store"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", sc.store.url, "--ids-file", "-"}, "exclusive"},
		{[]string{"reconcile", "--since", "1d", "--ids-file", "-", "--where", "x:=y"}, "--where narrows"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", "ftp://x"}, "not an http(s)://host:port URL"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", sc.store.url, "--header", "A=b"}, "--header needs --resend"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", sc.store.url, "--store-idle-timeout", "0s"}, "--store-idle-timeout must be positive"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", sc.store.url, "--resend", "localhost:4318"}, "is not an http(s) URL"},
		{[]string{"reconcile", "--since", "1d", "--victorialogs", sc.store.url, "--resend", sc.store.url, "--disabled-rules", "nope"}, "--disabled-rules: "},
	} {
		r := sc.api.run(t, tc.args...)
		assert.Equal(t, exitFail, r.code, tc.args)
		assert.Contains(t, r.stderr, tc.want, tc.args)
	}
	env := map[string]string{envEndpoint: sc.api.url, envEmail: testEmail, envAPIToken: wrongToken}
	r := runCLI(t, env, "reconcile", "--since", "1d", "--victorialogs", sc.store.url)
	assert.Equal(t, exitAuth, r.code, r.stderr)
	assert.Empty(t, sc.store.queries, "no store is read when Zendesk refuses the credentials")
}

// Reconcile shares the account's limit with the receiver: it keeps the
// client-side budget, and waits out a Retry-After.
func TestReconcileHonoursBudgetAndRetryAfter(t *testing.T) {
	clk := &testClock{now: windowStart.Add(48 * time.Hour)}
	a := newClockedAPI(t, clk, zendesksim.Faults{BudgetPerMinute: 4})
	a.sim.Generate(950, windowStart, windowStart.Add(time.Hour)) // 10 pages
	store := newFakeVictoriaLogs(t)
	args := []string{"reconcile", "--since", windowStart.Format(time.RFC3339), "--until", windowStart.Add(2 * time.Hour).Format(time.RFC3339),
		"--victorialogs", store.url, "--max-listed", "1"}

	r := a.runAt(t, clk, append(args, "--max-requests-per-minute", "4")...)
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, "950", reconcileLine(t, r.stdout)["zendesk"])
	st := a.sim.Stats()
	assert.Zero(t, st.ByStatus[http.StatusTooManyRequests], "the client-side budget kept within the account's")
	assert.Contains(t, clk.sleeps(), 15*time.Second, "4 requests a minute: one every 15s")

	// Another integration's share: Zendesk refuses some requests with a
	// Retry-After, which reconcile waits out.
	a.sim.SetFaults(zendesksim.Faults{P429: 0.3, RetryAfter: 7 * time.Second})
	a.sim.ResetStats()
	r = a.runAt(t, clk, append(args, "--max-requests-per-minute", "0")...)
	require.Equal(t, exitMissing, r.code, r.stdout+r.stderr)
	assert.Equal(t, "950", reconcileLine(t, r.stdout)["zendesk"])
	st = a.sim.Stats()
	assert.Positive(t, st.ByStatus[http.StatusTooManyRequests])
	assert.Zero(t, st.RetryAfterViolations)
	assert.Contains(t, r.stderr, "Zendesk asked to wait 7s (Retry-After)")
}

func TestLogsQLIDsQuery(t *testing.T) {
	q := logsQLIDsQuery(`zendesk.subdomain:=acme`, windowStart, windowStart.Add(90*time.Minute), zendesk.Filter{
		Action: "update", SourceType: "user", SourceID: 7, ActorID: 8, IPAddress: "192.0.2.1",
	})
	assert.Equal(t, `_time:[2026-11-02T00:00:00Z, 2026-11-02T01:30:00Z) AND "log.record.uid":* AND "zendesk.audit_log.action":="update" AND `+
		`"zendesk.audit_log.source.type":="user" AND "zendesk.audit_log.source.id":="7" AND "zendesk.audit_log.actor.id":="8" AND `+
		`"client.address":="192.0.2.1" AND (zendesk.subdomain:=acme) | fields "log.record.uid"`, q)
}

func TestCompareIDs(t *testing.T) {
	at := func(s int64) int64 { return windowStart.Unix() + s }
	z := []zendeskRecord{{1, at(0)}, {2, at(0)}, {3, at(1)}, {3, at(1)}, {5, at(2)}, {4, at(3)}, {6, at(9)}}
	store := []int64{1, 9, 5, 5, 1, 1}
	rep := compareIDs(z, store)
	assert.Equal(t, 6, rep.ZendeskCount, "an id listed twice counts once")
	assert.Equal(t, 6, rep.StoreRecords)
	assert.Equal(t, 3, rep.StoreCount)
	assert.Equal(t, []zendeskRecord{{2, at(0)}, {3, at(1)}, {4, at(3)}, {6, at(9)}}, rep.Missing)
	tm := func(s int64) time.Time { return time.Unix(at(s), 0).UTC() }
	assert.Equal(t, []missingRange{{tm(0), tm(1), 2}, {tm(3), tm(9), 2}}, rep.Ranges)
	assert.Equal(t, []duplicateID{{1, 3}, {5, 2}}, rep.Duplicates)
	assert.Equal(t, 3, rep.DuplicateRecords())
	assert.Equal(t, []int64{9}, rep.Unknown)
	assert.Equal(t, []missingRange{{tm(0), tm(9), 4}}, mergeRanges([]missingRange{{tm(0), tm(1), 2}, {tm(3), tm(9), 2}}))

	// Out of created_at order (the API's order is not trusted).
	rep = compareIDs([]zendeskRecord{{6, at(9)}, {2, at(0)}}, nil)
	assert.Equal(t, []zendeskRecord{{2, at(0)}, {6, at(9)}}, rep.Missing)
}

// The README's figures of reconcile's memory: reading the ids of a window
// from Zendesk and from the store, and comparing them, allocates in all
// (runtime.MemStats.TotalAlloc, so it never holds more) 58.5 bytes per
// record on 1M records, asserted at most 60; on 600,000 records, a size
// the slices' doubling fits worse, 92.1, asserted at most 96. The figures
// are those of the slices' sizes (appendGrow doubles from 1024), the same
// on every run.
func TestReconcileMemoryBoundOneMillionIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("1M ids")
	}
	for _, c := range []struct {
		n     int64
		bound float64
	}{{1_000_000, 60}, {600_000, 96}} {
		n := c.n
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)

		var z []zendeskRecord
		for i := range n {
			z = appendGrow(z, zendeskRecord{ID: 1_000_000_000 + i, CreatedAt: windowStart.Unix() + i/10})
		}
		var store []int64
		for i := range n {
			if i%1000 == 7 { // 1 in 1000 missing, each alone
				continue
			}
			store = appendGrow(store, 1_000_000_000+(i*7919)%n) // out of order
		}
		rep := compareIDs(z, store)

		runtime.ReadMemStats(&after)
		perID := float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
		t.Logf("%d ids: %.1f bytes allocated per id (asserted at most %.0f)", n, perID, c.bound)
		assert.LessOrEqual(t, perID, c.bound, "%d ids", n)
		assert.Equal(t, int(n), rep.ZendeskCount)
		assert.Len(t, rep.Missing, int(n/1000))
		assert.Len(t, rep.Ranges, int(n/1000))
		assert.Empty(t, rep.Unknown)
	}
}

// The scope version re-sent records carry is the distribution's.
func TestDefaultScopeVersionIsTheDistributions(t *testing.T) {
	b, err := os.ReadFile("../../builder-config.yaml")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^  version: `+regexp.QuoteMeta(defaultScopeVersion)+`$`, string(b))
}

// An OTLP endpoint may accept a request and reject some of its records
// (an OTLP partial success, rejected_log_records): those records are not
// in the store. reconcile counts only the records the endpoint kept as
// re-sent, says how many it rejected and why, and does not claim that all
// were re-sent.
func TestReconcileResendCountsRecordsTheEndpointRejectedAsNotResent(t *testing.T) {
	sc := newStoreCase(t)
	var requests int
	var mu sync.Mutex
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		requests++
		mu.Unlock()
		resp := plogotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedLogRecords(2)
		resp.PartialSuccess().SetErrorMessage("2 records too large")
		out, _ := resp.MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(endpoint.Close)

	r := sc.run(t, "--victorialogs", sc.store.url, "--resend", endpoint.URL)
	assert.Equal(t, exitFail, r.code, r.stdout+r.stderr)
	got := reconcileLine(t, r.stdout)
	assert.Equal(t, "51", got["missing"])
	assert.Equal(t, "49", got["resent"], "the 2 rejected records were not re-sent")
	assert.Equal(t, "MISSING", got["result"])
	assert.NotContains(t, r.stdout, "all were re-sent")
	assert.Contains(t, r.stderr, "rejected 2 of 51 records: 2 records too large")
	mu.Lock()
	assert.Equal(t, 1, requests)
	mu.Unlock()
}
