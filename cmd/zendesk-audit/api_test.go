package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	testEmail = "admin@example.com"
	// testToken is distinctive so that a leak shows in any output.
	testToken  = "tok-Secret-9f8e7d6c5b4a"
	wrongToken = "tok-Wrong-1a2b3c4d5e6f"
	oauthToken = "oauth-Secret-0a9b8c7d"
)

// base is the fixed time of the hand-built records.
var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type testAPI struct {
	sim *zendesksim.Server
	url string
	env map[string]string
}

// newTestAPI serves a simulator on 127.0.0.1 and returns an environment
// that points the CLI at it with API-token credentials.
func newTestAPI(t *testing.T, opts zendesksim.Options) *testAPI {
	t.Helper()
	if opts.Email == "" {
		opts.Email, opts.APIToken = testEmail, testToken
	}
	sim := zendesksim.New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return &testAPI{sim: sim, url: ts.URL, env: map[string]string{
		envEndpoint: ts.URL,
		envEmail:    testEmail,
		envAPIToken: testToken,
	}}
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the command line with env as the whole environment. No
// output may ever hold a token.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	for _, secret := range []string{testToken, wrongToken, oauthToken} {
		require.NotContains(t, r.stdout, secret, "a token leaked to stdout")
		require.NotContains(t, r.stderr, secret, "a token leaked to stderr")
	}
	return r
}

func (a *testAPI) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, a.env, args...)
}

func ptr[T any](v T) *T { return &v }

// handRecords are fixed records, each in its own second, so that every
// order is deterministic.
func handRecords() []zendesksim.Record {
	type actor struct {
		id   int64
		name string
	}
	type source struct {
		typ   string
		id    int64
		label string
	}
	sameer, zoe, taro := actor{501, "Sameer Patel"}, actor{502, "Zoë Müller"}, actor{503, "山田 太郎"}
	rec := func(id int64, minute int, action, label string, a actor, ip *string, s source, desc string) zendesksim.Record {
		return zendesksim.Record{
			ID: id, CreatedAt: base.Add(time.Duration(minute) * time.Minute),
			Action: action, ActionLabel: label, ActorID: a.id, ActorName: a.name, IPAddress: ip,
			SourceType: s.typ, SourceID: s.id, SourceLabel: s.label, ChangeDescription: desc,
		}
	}
	johnDoe := source{"user", 9001, "John Doe"}
	recs := []zendesksim.Record{
		rec(1001, 0, "create", "Created", sameer, ptr("203.0.113.17"), johnDoe, "Role set to Agent"),
		rec(1002, 1, "update", "Updated", zoe, ptr("198.51.100.42"), johnDoe,
			"Email changed from old@example.com to new@example.com\nPhone changed from  to +49 30 1234567"),
		rec(1003, 2, "update", "Updated", sameer, ptr("203.0.113.17"),
			source{"rule", 360001000042, "Auto-close solved tickets after 4 days"},
			"Conditions changed: all of Status is Solved and Hours since solved greater than 96"),
		rec(1004, 3, "login", "Signed in", sameer, ptr("2001:db8::1"), source{"user", 501, "Sameer Patel"},
			"Successful sign-in using Google from Zendesk Support"),
		// The system actor: null ip_address, empty description.
		rec(1005, 4, "destroy", "Deleted", actor{-1, "Zendesk"}, nil, source{"ticket", 42, "Printer on fire 🔥"}, ""),
		rec(1006, 5, "exported", "Exported", zoe, ptr("198.51.100.42"), source{"account_setting", 1234567, "Audit log"},
			"Audit log CSV export requested"),
		// A tab and an escape sequence must not reach the terminal.
		rec(1007, 6, "update", "Updated", taro, ptr("192.0.2.201"), source{"apitoken", 4200001, "Audit log shipper"},
			"Description changed\tfrom \"\" to \"Audit log shipper\"\x1b[2J"),
		// No source label, and fields this tool does not know.
		rec(1008, 7, "create", "Created", sameer, ptr("203.0.113.17"), source{"brand", 360000100001, ""}, "Created"),
	}
	recs[7].Extra = map[string]any{"new_field": "kept", "nested": map[string]any{"a": 1}}
	return recs
}

func newHandAPI(t *testing.T) *testAPI {
	a := newTestAPI(t, zendesksim.Options{Seed: 1})
	a.sim.Add(handRecords()...)
	return a
}

// parseLines decodes JSON lines into generic objects.
func parseLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
		recs = append(recs, m)
	}
	return recs
}

func ids(recs []map[string]any) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = int64(r["id"].(float64))
	}
	return out
}

func TestListJSONOrderAndPagination(t *testing.T) {
	a := newTestAPI(t, zendesksim.Options{Seed: 7})
	// Bursts: many records share a second, so pages cut through seconds.
	a.sim.Generate(230, base, base.Add(10*time.Minute))
	a.sim.GenerateBurst(40, base.Add(5*time.Minute))
	var want []int64
	for _, r := range a.sim.Records() {
		want = append(want, r.ID)
	}
	slices.Sort(want)

	for _, tc := range []struct {
		sort string
		cmp  func(a, b time.Time) bool // must hold for each neighbour pair
	}{
		{"asc", func(a, b time.Time) bool { return !b.Before(a) }},
		{"desc", func(a, b time.Time) bool { return !b.After(a) }},
		{"", func(a, b time.Time) bool { return !b.After(a) }}, // default desc
	} {
		t.Run("sort="+tc.sort, func(t *testing.T) {
			a.sim.ResetStats()
			args := []string{"list", "--page-size", "50", "--max-requests-per-minute", "0"}
			if tc.sort != "" {
				args = append(args, "--sort", tc.sort)
			}
			r := a.run(t, args...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Empty(t, r.stderr, "no progress line when stderr is not a terminal")
			recs := parseLines(t, r.stdout)
			require.Len(t, recs, len(want))
			got := ids(recs)
			slices.Sort(got)
			assert.Equal(t, want, got, "every record exactly once")
			for i := 1; i < len(recs); i++ {
				prev, err := time.Parse(time.RFC3339, recs[i-1]["created_at"].(string))
				require.NoError(t, err)
				cur, err := time.Parse(time.RFC3339, recs[i]["created_at"].(string))
				require.NoError(t, err)
				require.True(t, tc.cmp(prev, cur), "out of order at %d: %s then %s", i, prev, cur)
			}
			assert.Equal(t, 6, a.sim.Stats().ListRequests, "270 records in pages of 50")
		})
	}
}

func TestListJSONKeepsAPIFields(t *testing.T) {
	a := newHandAPI(t)
	r := a.run(t, "list", "--sort", "asc")
	require.Equal(t, 0, r.code, r.stderr)
	recs := parseLines(t, r.stdout)
	require.Len(t, recs, 8)
	assert.Equal(t, []int64{1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008}, ids(recs))

	first := recs[0]
	for _, k := range []string{"id", "url", "action", "action_label", "actor_id", "actor_name", "change_description", "created_at", "ip_address", "source_id", "source_label", "source_type"} {
		assert.Contains(t, first, k)
	}
	assert.Equal(t, "2024-05-01T12:00:00Z", first["created_at"])
	assert.Equal(t, "203.0.113.17", first["ip_address"])
	// Fields this tool does not know are kept.
	last := recs[7]
	assert.Equal(t, "kept", last["new_field"])
	assert.Equal(t, map[string]any{"a": float64(1)}, last["nested"])
	// A null ip_address is left out rather than invented.
	assert.NotContains(t, recs[4], "ip_address")
	// Multi-line descriptions survive.
	assert.Contains(t, recs[1]["change_description"], "\nPhone changed")
}

func TestListFilters(t *testing.T) {
	a := newHandAPI(t)
	for _, tc := range []struct {
		name string
		args []string
		want []int64
	}{
		{"action", []string{"--action", "update"}, []int64{1002, 1003, 1007}},
		{"source", []string{"--source-type", "user", "--source-id", "9001"}, []int64{1001, 1002}},
		{"source type", []string{"--source-type", "user"}, []int64{1001, 1002, 1004}},
		{"actor", []string{"--actor-id", "501"}, []int64{1001, 1003, 1004, 1008}},
		{"ip", []string{"--ip-address", "198.51.100.42"}, []int64{1002, 1006}},
		{"range", []string{"--since", "2024-05-01T12:02:00Z", "--until", "2024-05-01T12:04:00Z"}, []int64{1003, 1004, 1005}},
		{"since until now", []string{"--since", "2024-05-01T12:06:00Z"}, []int64{1007, 1008}},
		{"combined", []string{"--action", "update", "--actor-id", "501"}, []int64{1003}},
		{"none", []string{"--action", "login", "--actor-id", "502"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.run(t, append([]string{"list", "--sort", "asc"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			got := ids(parseLines(t, r.stdout))
			if tc.want == nil {
				assert.Empty(t, got)
				assert.Empty(t, r.stdout)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestListSinceDuration(t *testing.T) {
	a := newTestAPI(t, zendesksim.Options{Seed: 1})
	now := time.Now().UTC()
	a.sim.Add(
		zendesksim.Record{ID: 1, Action: "update", CreatedAt: now.Add(-3 * time.Hour)},
		zendesksim.Record{ID: 2, Action: "update", CreatedAt: now.Add(-30 * time.Minute)},
		zendesksim.Record{ID: 3, Action: "update", CreatedAt: now.Add(-50 * time.Hour)},
	)
	for _, tc := range []struct {
		since string
		want  []int64
	}{
		{"1h", []int64{2}},
		{"4h", []int64{1, 2}},
		{"3d", []int64{3, 1, 2}},
	} {
		r := a.run(t, "list", "--since", tc.since, "--sort", "asc")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, tc.want, ids(parseLines(t, r.stdout)), "--since %s", tc.since)
	}
	// --until as a duration too.
	r := a.run(t, "list", "--since", "4h", "--until", "1h")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []int64{1}, ids(parseLines(t, r.stdout)))
}

func TestListLimit(t *testing.T) {
	a := newHandAPI(t)
	r := a.run(t, "list", "--sort", "asc", "--limit", "3", "--page-size", "2", "--max-requests-per-minute", "0")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []int64{1001, 1002, 1003}, ids(parseLines(t, r.stdout)))
	assert.Equal(t, 2, a.sim.Stats().ListRequests, "stops asking once the limit is reached")

	a.sim.ResetStats()
	r = a.run(t, "list", "--limit", "2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, []int64{1008, 1007}, ids(parseLines(t, r.stdout)), "newest first by default")
	assert.Equal(t, 1, a.sim.Stats().ListRequests, "a limit below the page size needs one small page")

	r = a.run(t, "list", "--limit", "0", "--page-size", "3", "--max-requests-per-minute", "0")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, parseLines(t, r.stdout), 8, "0 means all")
}

func TestListTableGolden(t *testing.T) {
	a := newHandAPI(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"list_table.golden", []string{"list", "--output", "table"}},
		{"list_table_filtered.golden", []string{"list", "--output", "table", "--sort", "asc", "--action", "update"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := a.run(t, tc.args...)
			require.Equal(t, 0, r.code, r.stderr)
			checkGolden(t, tc.golden, r.stdout)
		})
	}
	// An empty listing is the header alone.
	r := a.run(t, "list", "--output", "table", "--action", "nothing")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "CREATED_AT  ID  ACTION  ACTOR  SOURCE_TYPE  SOURCE  RULE  DESCRIPTION\n", r.stdout)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), got)
}

func TestShow(t *testing.T) {
	a := newHandAPI(t)

	r := a.run(t, "show", "1002")
	require.Equal(t, 0, r.code, r.stderr)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rec))
	assert.Equal(t, float64(1002), rec["id"])
	assert.Equal(t, "Zoë Müller", rec["actor_name"])
	assert.Contains(t, rec["url"], "/api/v2/audit_logs/1002")

	// Flags after the id work too.
	r = a.run(t, "show", "1008", "--output", "table")
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{
		"ID           1008\n",
		"CREATED_AT   2024-05-01T12:07:00Z\n",
		"ACTION       create (Created)\n",
		"ACTOR        Sameer Patel (501)\n",
		"SOURCE       360000100001\n",
		"new_field    \"kept\"\n",
		"nested       {\"a\":1}\n",
	} {
		assert.Contains(t, r.stdout, want)
	}

	r = a.run(t, "show", "--output", "table", "1002")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "DESCRIPTION  Email changed from old@example.com to new@example.com\n             Phone changed from  to +49 30 1234567\n")

	r = a.run(t, "show", "999")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "audit log 999 not found")
	assert.Empty(t, r.stdout)
}

// testClock is a fake clock shared by the simulator and the CLI: the CLI's
// waits move it on at once. onSleep, when set, runs after each wait.
type testClock struct {
	mu      sync.Mutex
	now     time.Time
	slept   []time.Duration
	onSleep func()
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	onSleep := c.onSleep
	c.mu.Unlock()
	if onSleep != nil {
		onSleep()
	}
	return nil
}

func (c *testClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// newClockedAPI is newTestAPI with the simulator on clk.
func newClockedAPI(t *testing.T, clk *testClock, faults zendesksim.Faults) *testAPI {
	t.Helper()
	return newTestAPI(t, zendesksim.Options{Seed: 1, Now: clk.Now, Faults: faults})
}

// runAt runs the command line with the CLI on clk.
func (a *testAPI) runAt(t *testing.T, clk *testClock, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{env: func(k string) string { return a.env[k] }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: clk.Now, sleep: clk.Sleep}
	r := result{code: c.run(context.Background(), args)}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	for _, secret := range []string{testToken, wrongToken, oauthToken} {
		require.NotContains(t, r.stdout+r.stderr, secret, "a token leaked")
	}
	return r
}

// exportElsewhere is another integration of the account exporting.
func (a *testAPI) exportElsewhere(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/api/v2/audit_logs/export", nil)
	req.SetBasicAuth(testEmail+"/token", testToken)
	rec := httptest.NewRecorder()
	a.sim.ServeHTTP(rec, req)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
}

func TestExport(t *testing.T) {
	clk := &testClock{now: base}
	a := newClockedAPI(t, clk, zendesksim.Faults{})

	r := a.runAt(t, clk, "export", "--action", "update", "--since", "2024-04-01T00:00:00Z", "--until", "2024-05-01T00:00:00Z")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "out of band")
	assert.Contains(t, r.stdout, "emails a download link")
	assert.Empty(t, r.stderr)
	assert.Equal(t, 1, a.sim.Stats().ExportRequests)
	assert.Empty(t, clk.sleeps())
}

// A second export within the minute is refused by the export limit: the
// command says it waits, waits as long as Zendesk asked, and exports.
func TestExportWaitsOutTheExportLimit(t *testing.T) {
	clk := &testClock{now: base}
	a := newClockedAPI(t, clk, zendesksim.Faults{})
	a.exportElsewhere(t)

	r := a.runAt(t, clk, "export")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Export requested")
	assert.Equal(t, "zendesk-audit: export refused for now (429 Too Many Requests); trying again in 1m0s (Ctrl-C stops)\n", r.stderr)
	assert.Equal(t, []time.Duration{time.Minute}, clk.sleeps())
	st := a.sim.Stats()
	assert.Equal(t, 3, st.ExportRequests)
	assert.Zero(t, st.RetryAfterViolations)
}

// When the export limit keeps refusing (another integration takes each
// turn), the command stops once waiting more would pass 2 minutes, and
// names the limit.
func TestExportGivesUpAfterTwoMinutesAndNamesTheExportLimit(t *testing.T) {
	clk := &testClock{now: base}
	a := newClockedAPI(t, clk, zendesksim.Faults{})
	a.exportElsewhere(t)
	clk.onSleep = func() { a.exportElsewhere(t) }

	r := a.runAt(t, clk, "export")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, []time.Duration{time.Minute, time.Minute}, clk.sleeps(), "2 minutes of waiting in all")
	assert.Equal(t, 2, strings.Count(r.stderr, "trying again in 1m0s"))
	assert.Contains(t, r.stderr, "zendesk-audit: export refused (429) after waiting 2m0s: Zendesk allows one audit log export per minute per account, and that limit refused this one; it allows the next try in 1m0s, at 12:03:00 UTC\n")
	st := a.sim.Stats()
	assert.Equal(t, 6, st.ExportRequests, "3 here, 3 elsewhere")
	assert.Zero(t, st.RetryAfterViolations)
}

// A 429 from the account's request limit is waited out too, but it is not
// the export limit, and the message does not say it is.
func TestExportAccountLimitIsNotCalledTheExportLimit(t *testing.T) {
	clk := &testClock{now: base}
	a := newClockedAPI(t, clk, zendesksim.Faults{P429: 1, RetryAfter: 50 * time.Second})

	r := a.runAt(t, clk, "export")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, []time.Duration{50 * time.Second, 50 * time.Second}, clk.sleeps())
	assert.Contains(t, r.stderr, "APIRateLimitExceeded: Number of allowed API requests per minute exceeded")
	assert.Contains(t, r.stderr, "not waiting 50s more: an export waits at most 2m0s in all (waited 1m40s)")
	assert.NotContains(t, r.stderr, "one audit log export per minute")
	assert.Equal(t, 3, a.sim.Stats().ExportRequests)

	// Once the account has room again, the same command exports.
	a.sim.SetFaults(zendesksim.Faults{})
	r = a.runAt(t, clk, "export")
	require.Equal(t, 0, r.code, r.stderr)
}

func TestAuthFailures(t *testing.T) {
	a := newHandAPI(t)

	wrong := map[string]string{envEndpoint: a.url, envEmail: testEmail, envAPIToken: wrongToken}
	for _, args := range [][]string{{"list"}, {"list", "--output", "table"}, {"show", "1001"}, {"show", "1001", "--output", "table"}, {"export"}} {
		r := runCLI(t, wrong, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "401 Unauthorized")
		assert.Contains(t, r.stderr, "check the email and API token, or the OAuth token")
		assert.Empty(t, r.stdout)
	}

	// The same with the token as a flag: the warning, and still no token.
	r := runCLI(t, map[string]string{envEndpoint: a.url}, "list", "--email", testEmail, "--api-token", wrongToken)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "lands in the shell history")
	assert.Contains(t, r.stderr, "check the email and API token")

	a.sim.SetForbidden(true)
	r = a.run(t, "list")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "403 Forbidden")
	assert.Contains(t, r.stderr, "Enterprise plan")
}

func TestCredentialsAndPrecedence(t *testing.T) {
	a := newHandAPI(t)
	a.sim.SetCredentials(testEmail, testToken, oauthToken)

	// Env token: no warning.
	r := a.run(t, "list", "--limit", "1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// A flag beats a wrong variable, with the warning.
	env := map[string]string{envEndpoint: "https://broken.invalid", envEmail: testEmail, envAPIToken: wrongToken}
	r = runCLI(t, env, "list", "--limit", "1", "--endpoint", a.url, "--api-token", testToken)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "zendesk-audit: warning: a token given with --api-token lands in the shell history and the process list; set ZENDESK_API_TOKEN instead\n", r.stderr)
	assert.Len(t, parseLines(t, r.stdout), 1)

	// --endpoint beats ZENDESK_SUBDOMAIN.
	env = map[string]string{envSubdomain: "acme", envOAuthToken: oauthToken}
	r = runCLI(t, env, "list", "--limit", "1", "--endpoint", a.url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// OAuth as a flag beats an API token in the environment.
	env = map[string]string{envEndpoint: a.url, envEmail: testEmail, envAPIToken: wrongToken}
	r = runCLI(t, env, "list", "--limit", "1", "--oauth-token", oauthToken)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--oauth-token lands in the shell history")
	assert.Contains(t, r.stderr, envOAuthToken)
}

func TestUsageErrors(t *testing.T) {
	a := newHandAPI(t)
	dir := t.TempDir()
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		args []string
		env  map[string]string // nil: the simulator's
		want string
	}{
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{[]string{"list", "--until", "2024-05-01T00:00:00Z"}, nil, "--until needs --since"},
		{[]string{"list", "--sort", "up"}, nil, "--sort must be asc or desc"},
		{[]string{"list", "--source-id", "5"}, nil, "--source-id needs --source-type"},
		{[]string{"list", "--output", "yaml"}, nil, "--output must be json or table"},
		{[]string{"list", "--page-size", "101"}, nil, "--page-size must be between 1 and 100"},
		{[]string{"list", "--page-size", "0"}, nil, "--page-size must be between 1 and 100"},
		{[]string{"list", "--limit", "-1"}, nil, "--limit must not be negative"},
		{[]string{"list", "--limit", "x"}, nil, `invalid value "x" for flag -limit`},
		{[]string{"list", "--since", "yesterday"}, nil, "is neither RFC 3339"},
		{[]string{"list", "--since", "-2h"}, nil, "must be positive"},
		{[]string{"list", "--since", "2024-05-02T00:00:00Z", "--until", "2024-05-01T00:00:00Z"}, nil, "is before --since"},
		{[]string{"list", "--ip-address", "not-an-ip"}, nil, "is not an IP address"},
		{[]string{"list", "--max-requests-per-minute", "-1"}, nil, "must not be negative"},
		{[]string{"list", "extra"}, nil, "list takes no arguments"},
		{[]string{"list", "--nope"}, nil, "flag provided but not defined: -nope"},
		{[]string{"list", "--endpoint", "http://example.com"}, nil, "uses http: credentials would travel in clear text"},
		{[]string{"list", "--endpoint", "https://acme.zendesk.com/api/v2"}, nil, "scheme and host only"},
		{[]string{"list", "--endpoint", "https://u:p@acme.zendesk.com"}, nil, "must not hold credentials"},
		{[]string{"list", "--subdomain", "acme", "--endpoint", "https://acme.zendesk.com"}, nil, "exclusive"},
		{[]string{"list", "--subdomain", "acme.zendesk.com"}, nil, `did you mean "acme"?`},
		{[]string{"list"}, map[string]string{envSubdomain: "acme"}, "no credentials"},
		{[]string{"list"}, map[string]string{envSubdomain: "acme", envAPIToken: testToken}, "needs the email"},
		{[]string{"list"}, map[string]string{envEmail: testEmail, envAPIToken: testToken}, "no account given"},
		{[]string{"list"}, map[string]string{envSubdomain: "acme", envEndpoint: a.url, envOAuthToken: oauthToken}, "are both set"},
		{[]string{"list"}, map[string]string{envSubdomain: "acme", envEmail: testEmail, envAPIToken: testToken, envOAuthToken: oauthToken}, "give one kind of credentials"},
		{[]string{"show"}, nil, "show takes one audit log ID, got 0"},
		{[]string{"show", "abc"}, nil, `audit log ID "abc" is not a positive integer`},
		{[]string{"show", "1", "2"}, nil, "got 2 arguments"},
		{[]string{"show", "1", "--output", "csv"}, nil, "--output must be json or table"},
		{[]string{"export", "--until", "1h"}, nil, "--until needs --since"},
		{[]string{"export", "now"}, nil, "export takes no arguments"},
		{[]string{"checkpoint"}, nil, "checkpoint needs a subcommand"},
		{[]string{"checkpoint", "frob"}, nil, `unknown checkpoint subcommand "frob"`},
		{[]string{"checkpoint", "show"}, nil, "--storage-dir is required"},
		{[]string{"checkpoint", "show", "--storage-dir", dir, "extra"}, nil, "takes no arguments"},
		{[]string{"checkpoint", "show", "--storage-dir", dir, "--receiver", "filelog"}, nil, `"filelog" is not a zendesk_audit_logs receiver`},
		{[]string{"checkpoint", "show", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/"}, nil, "is not a component ID"},
		{[]string{"checkpoint", "show", "--storage-dir", dir, "--storage", "memory_storage/x"}, nil, "is not a file_storage extension"},
		{[]string{"checkpoint", "show", "--storage-dir", dir, "--storage-timeout", "0s"}, nil, "--storage-timeout must be positive"},
		{[]string{"checkpoint", "set", "--storage-dir", dir}, nil, "--time is required"},
		{[]string{"checkpoint", "set", "--storage-dir", dir, "--time", "yesterday"}, nil, "is not an RFC 3339 time"},
		{[]string{"checkpoint", "set", "--storage-dir", dir, "--time", future}, nil, "is in the future"},
		{[]string{"checkpoint", "reset", "--storage-dir", dir, "--json"}, nil, "flag provided but not defined: -json"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = a.env
			}
			r := runCLI(t, env, tc.args...)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Contains(t, r.stderr, "Run 'zendesk-audit help")
			assert.Empty(t, r.stdout)
		})
	}
	assert.Zero(t, a.sim.Stats().Requests, "a usage error sends no request")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "a usage error opens no storage")

	r := runCLI(t, nil)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "Exit codes:")
}

func TestHelp(t *testing.T) {
	r := runCLI(t, nil, "help")
	require.Equal(t, 0, r.code)
	assert.Equal(t, usageText, r.stdout)
	for _, want := range []string{"Exit codes:", "0  success", "1  usage error, API error", "2  the credentials were refused (401) or lack permission (403)", envAPIToken} {
		assert.Contains(t, r.stdout, want)
	}

	for _, args := range [][]string{{"help", "list"}, {"list", "-h"}, {"list", "--help"}} {
		r = runCLI(t, nil, args...)
		require.Equal(t, 0, r.code, "%v", args)
		assert.Contains(t, r.stdout, "Usage: zendesk-audit list ")
		assert.Contains(t, r.stdout, "  --page-size N\n")
		assert.Contains(t, r.stdout, "(default desc)")
	}
	r = runCLI(t, nil, "help", "checkpoint", "set")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "  --time time\n")
	assert.Contains(t, r.stdout, "  --storage-dir directory\n")

	r = runCLI(t, nil, "help", "nope")
	assert.Equal(t, 1, r.code)
}

// A failure after some pages keeps what was printed and exits 1.
func TestListFailsPartway(t *testing.T) {
	sim := zendesksim.New(zendesksim.Options{Email: testEmail, APIToken: testToken, Seed: 1})
	sim.Add(handRecords()...)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page[after]") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"InvalidPaginationParameter","description":"cursor expired"}`))
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	env := map[string]string{envEndpoint: ts.URL, envEmail: testEmail, envAPIToken: testToken}

	r := runCLI(t, env, "list", "--sort", "asc", "--page-size", "3", "--max-requests-per-minute", "0")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, []int64{1001, 1002, 1003}, ids(parseLines(t, r.stdout)))
	assert.Contains(t, r.stderr, "400 Bad Request: InvalidPaginationParameter: cursor expired")

	r = runCLI(t, env, "list", "--sort", "asc", "--page-size", "3", "--max-requests-per-minute", "0", "--output", "table")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, 4, strings.Count(r.stdout, "\n"), "header and the first page:\n%s", r.stdout)
}
