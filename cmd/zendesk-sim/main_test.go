package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// syncBuffer is a goroutine-safe stderr sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command and returns its base URL, its stderr and a stop
// func that cancels it and returns run's error.
func start(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		pw.CloseWithError(io.EOF)
		errc <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	stop := func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not stop")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return line, stderr, stop
}

func getJSON(t *testing.T, url, auth string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	return resp.StatusCode
}

func TestRunPrintsURLAndServes(t *testing.T) {
	began := time.Now()
	line, stderr, stop := start(t, "--events", "700", "--seed", "3", "--verbose")
	require.Regexp(t, regexp.MustCompile(`^http://127\.0\.0\.1:\d+\n$`), line)
	base := line[:len(line)-1]

	var ids []int64
	require.Equal(t, http.StatusOK, getJSON(t, base+"/_sim/ids", "", &ids))
	assert.Len(t, ids, 700)

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo@example.com/token:demo-token"))
	var page struct {
		AuditLogs []map[string]any `json:"audit_logs"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/api/v2/audit_logs.json?page[size]=100", auth, &page))
	assert.Len(t, page.AuditLogs, 100)
	// The backlog (6 hours by default) ends 2 minutes before the simulator
	// started: its newest record is where the same seed puts it from that
	// end, which lies between the test's start and now.
	newest, err := time.Parse(time.RFC3339, page.AuditLogs[0]["created_at"].(string))
	require.NoError(t, err)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := zendesksim.New(zendesksim.Options{Seed: 3}).Generate(700, end.Add(-6*time.Hour), end)
	fromEnd := end.Sub(recs[len(recs)-1].CreatedAt)
	earliest := began.Add(-2 * time.Minute).Truncate(time.Second).Add(-fromEnd)
	latest := time.Now().Add(-2 * time.Minute).Truncate(time.Second).Add(-fromEnd)
	assert.False(t, newest.Before(earliest) || newest.After(latest),
		"newest record %s, want %s of the backlog's end (2 minutes before the start, %s..%s)", newest, fromEnd, earliest, latest)
	assert.Equal(t, http.StatusUnauthorized, getJSON(t, base+"/api/v2/audit_logs.json", "", nil))

	require.NoError(t, stop())
	assert.Contains(t, stderr.String(), "GET /api/v2/audit_logs.json?page[size]=100 200")
}

func TestRunFlags(t *testing.T) {
	line, stderr, stop := start(t, "--events", "10", "--oauth-token", "tok", "--p500", "1",
		"--budget", "5", "--live-rate", "200", "--late-fraction", "0", "--max-late", "1s", "--latency", "20ms")
	base := line[:len(line)-1]
	assert.Equal(t, http.StatusInternalServerError, getJSON(t, base+"/api/v2/audit_logs", "Bearer tok", nil))

	var faults map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, base+"/_sim/faults", "", &faults))
	assert.EqualValues(t, 5, faults["budget_per_minute"])
	assert.Equal(t, "2s", faults["slow_delay"])
	assert.Equal(t, "20ms", faults["latency"])

	require.Eventually(t, func() bool {
		var ids []int64
		getJSON(t, base+"/_sim/ids", "", &ids)
		return len(ids) > 10
	}, 10*time.Second, 20*time.Millisecond, "live arrivals")
	require.NoError(t, stop())
	assert.NotContains(t, stderr.String(), "GET /api", "no request log without --verbose")
}

// --verbose names the Retry-After of an answer that carries one, and
// --retry-after-crossing-window reaches the simulator: a request 100 ms
// after a 429 crossed it within a 3 s window (by the default window, 50
// ms, it would be a violation).
func TestRunLogsRetryAfterAndTakesTheCrossingWindow(t *testing.T) {
	line, stderr, stop := start(t, "--events", "10", "--oauth-token", "tok", "--p429", "1", "--retry-after", "7s",
		"--retry-after-crossing-window", "3s", "--verbose")
	base := line[:len(line)-1]
	assert.Equal(t, http.StatusTooManyRequests, getJSON(t, base+"/api/v2/audit_logs", "Bearer tok", nil))
	time.Sleep(100 * time.Millisecond) // the time between the two is what is judged
	assert.Equal(t, http.StatusTooManyRequests, getJSON(t, base+"/api/v2/audit_logs", "Bearer tok", nil))
	var st zendesksim.Stats
	require.Equal(t, http.StatusOK, getJSON(t, base+"/_sim/stats", "", &st))
	assert.Equal(t, 1, st.RetryAfterCrossings)
	assert.Zero(t, st.RetryAfterViolations)
	require.NoError(t, stop())
	assert.Regexp(t, `GET /api/v2/audit_logs 429 \S+ retry-after=7\n`, stderr.String())
	assert.NotContains(t, stderr.String(), "/_sim/stats 200 retry-after")
}

// --oauth-refresh-token names a refresh token of the first OAuth client,
// so that oauth.refresh_token can be tried against the built simulator: a
// refresh_token grant with it answers a new pair, whose access token reads
// the API, and the token named is used up.
func TestRunOAuthRefreshToken(t *testing.T) {
	line, _, stop := start(t, "--events", "10", "--oauth-client-id", "c1,c2", "--oauth-client-secret", "s", "--oauth-refresh-token", "rt-1")
	base := line[:len(line)-1]
	grant := func(refresh string) (int, map[string]any) {
		body := `{"grant_type":"refresh_token","refresh_token":"` + refresh + `","client_id":"c1","client_secret":"s"}`
		resp, err := http.Post(base+"/oauth/tokens", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	status, pair := grant("rt-1")
	require.Equal(t, http.StatusOK, status, "%v", pair)
	access, _ := pair["access_token"].(string)
	next, _ := pair["refresh_token"].(string)
	require.NotEmpty(t, access)
	assert.NotEmpty(t, next)
	assert.NotEqual(t, "rt-1", next)
	assert.Equal(t, http.StatusOK, getJSON(t, base+"/api/v2/audit_logs", "Bearer "+access, nil))

	status, _ = grant("rt-1")
	assert.Equal(t, http.StatusBadRequest, status, "a used refresh token is refused")
	status, _ = grant(next)
	assert.Equal(t, http.StatusOK, status, "the rotated one works")
	require.NoError(t, stop())
}

// --clock-offset moves the API's clock: its Date header and the end of
// the backlog.
func TestRunClockOffset(t *testing.T) {
	line, _, stop := start(t, "--events", "50", "--backlog", "1m", "--clock-offset", "-1h")
	base := line[:len(line)-1]
	req, err := http.NewRequest(http.MethodGet, base+"/api/v2/audit_logs?page[size]=1", nil)
	require.NoError(t, err)
	req.SetBasicAuth("demo@example.com/token", "demo-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var page struct {
		AuditLogs []struct {
			CreatedAt time.Time `json:"created_at"`
		} `json:"audit_logs"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(-time.Hour), date, 5*time.Second)
	require.Len(t, page.AuditLogs, 1)
	assert.WithinDuration(t, time.Now().Add(-time.Hour-2*time.Minute), page.AuditLogs[0].CreatedAt, 10*time.Second, "newest record")
	require.NoError(t, stop())
}

// --p-mistyped: records with one field of an unexpected JSON type.
func TestRunMistypedRecords(t *testing.T) {
	line, _, stop := start(t, "--events", "40", "--p-mistyped", "1")
	base := line[:len(line)-1]
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo@example.com/token:demo-token"))
	var page struct {
		AuditLogs []map[string]any `json:"audit_logs"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, base+"/api/v2/audit_logs.json?page[size]=100", auth, &page))
	require.Len(t, page.AuditLogs, 40)
	kinds := map[string]int{}
	for _, r := range page.AuditLogs {
		if s, ok := r["actor_id"].(string); ok {
			kinds["actor_id "+s]++
		}
		if s, ok := r["source_id"].(string); ok {
			kinds["source_id "+s]++
		}
		if _, ok := r["action"].([]any); ok {
			kinds["action array"]++
		}
		if _, ok := r["ip_address"].(map[string]any); ok {
			kinds["ip_address object"]++
		}
	}
	assert.Equal(t, map[string]int{"actor_id system": 10, "source_id n/a": 10, "action array": 10, "ip_address object": 10}, kinds)
	require.NoError(t, stop())
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	assert.Error(t, run(ctx, []string{"--events", "x"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"extra"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"--p-mistyped", "1.5"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"--accounts", "0"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"--accounts", "2", "--listen", "127.0.0.1:8089"}, &out, &errOut), "two accounts cannot share a port")
	assert.Error(t, run(ctx, []string{"--listen", "256.0.0.1:99999", "--events", "1"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"--oauth-client-id", "", "--oauth-refresh-token", "rt"}, &out, &errOut), "a refresh token needs a client")
	assert.Error(t, run(ctx, []string{"--retry-after-crossing-window", "0s"}, &out, &errOut))
	assert.Empty(t, out.String())
}

func TestRunAccountsEachOnItsOwnPort(t *testing.T) {
	line, _, stop := start(t, "--accounts", "3", "--events", "50")
	first := strings.TrimSpace(line)
	var accounts []Account
	require.Equal(t, http.StatusOK, getJSON(t, first+"/_sim/accounts", "", &accounts))
	require.Len(t, accounts, 3)
	assert.Equal(t, first, accounts[0].URL, "the first line is the first account")
	seen := map[int64]bool{}
	for _, a := range accounts {
		var ids []int64
		require.Equal(t, http.StatusOK, getJSON(t, a.URL+"/_sim/ids", "", &ids))
		assert.Len(t, ids, 50, a.URL)
		for _, id := range ids {
			assert.False(t, seen[id], "id %d in two accounts", id)
			seen[id] = true
		}
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("demo@example.com/token:demo-token"))
	require.Equal(t, http.StatusOK, getJSON(t, accounts[2].URL+"/api/v2/audit_logs?page[size]=10", auth, nil))
	require.Equal(t, http.StatusOK, getJSON(t, first+"/_sim/accounts", "", &accounts))
	assert.Equal(t, []int{0, 0, 1}, []int{accounts[0].Stats.ListRequests, accounts[1].Stats.ListRequests, accounts[2].Stats.ListRequests})
	require.NoError(t, stop())
}
