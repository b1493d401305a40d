package zendesk_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	testEmail = "admin@example.com"
	testToken = "s3cr3t-Api-Token-0123456789abcdef"
	testOAuth = "oauth-Access-Token-fedcba9876543210"
)

// basicCredential is what goes on the wire for the test API token.
var basicCredential = base64.StdEncoding.EncodeToString([]byte(testEmail + "/token:" + testToken))

// fastOptions are client options that keep retries quick.
func fastOptions(baseURL string) zendesk.Options {
	return zendesk.Options{
		BaseURL:        baseURL,
		Credentials:    zendesk.Credentials{Email: testEmail, APIToken: testToken},
		InitialBackoff: 5 * time.Millisecond,
		MaxBackoff:     20 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
	}
}

func newClient(t *testing.T, opts zendesk.Options) *zendesk.Client {
	t.Helper()
	c, err := zendesk.New(opts)
	require.NoError(t, err)
	return c
}

// newSim starts a simulator that accepts the test credentials, behind an
// httptest server (wrapped by wrap, when not nil).
func newSim(t *testing.T, opts zendesksim.Options, wrap func(http.Handler) http.Handler) (*zendesksim.Server, *httptest.Server) {
	t.Helper()
	if opts.Email == "" && opts.APIToken == "" && opts.OAuthToken == "" {
		opts.Email, opts.APIToken = testEmail, testToken
	}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	sim := zendesksim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return sim, ts
}

// walk follows a cursor chain from its first page to its end and returns
// every record in the order received, and the number of pages.
func walk(t *testing.T, c *zendesk.Client, p zendesk.ListParams) ([]zendesk.AuditLog, int) {
	t.Helper()
	var all []zendesk.AuditLog
	pages := 0
	for {
		page, err := c.List(context.Background(), p)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(page.AuditLogs), max(p.PageSize, 1), "a page never holds more than page[size]")
		all = append(all, page.AuditLogs...)
		if !page.HasMore {
			return all, pages
		}
		require.NotEmpty(t, page.AfterCursor)
		p.After = page.AfterCursor
		require.Less(t, pages, 10_000, "the chain does not end")
	}
}

func ids(logs []zendesk.AuditLog) []int64 {
	out := make([]int64, len(logs))
	for i, l := range logs {
		out[i] = l.ID.Value
	}
	return out
}

func recordIDs(recs []zendesksim.Record, keep func(zendesksim.Record) bool) []int64 {
	var out []int64
	for _, r := range recs {
		if keep == nil || keep(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

// sortedIDs returns ids sorted, after checking none repeats.
func sortedIDs(t *testing.T, in []int64) []int64 {
	t.Helper()
	out := slices.Clone(in)
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		require.NotEqual(t, out[i-1], out[i], "id %d received twice", out[i])
	}
	return out
}

// capture is an API stand-in that records each request and answers with
// the handler given.
type capture struct {
	mu       sync.Mutex
	requests []capturedRequest
	handler  func(n int, w http.ResponseWriter, r *http.Request)
}

type capturedRequest struct {
	at            time.Time
	method        string
	path          string
	rawQuery      string
	query         url.Values
	authorization string
	userAgent     string
}

func newCapture(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request)) (*capture, *httptest.Server) {
	t.Helper()
	c := &capture{handler: handler}
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return c, ts
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.requests = append(c.requests, capturedRequest{
		at: time.Now(), method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery,
		query: r.URL.Query(), authorization: r.Header.Get("Authorization"), userAgent: r.UserAgent(),
	})
	n := len(c.requests)
	c.mu.Unlock()
	if c.handler != nil {
		c.handler(n, w, r)
	}
}

func (c *capture) all() []capturedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

// answer writes a response with a content type, extra headers and body.
func answer(w http.ResponseWriter, status int, contentType, body string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

const emptyPage = `{"audit_logs":[],"meta":{"has_more":false,"after_cursor":null,"before_cursor":null},"links":{"next":null,"prev":null}}`

// faultSwitch puts the simulator's faults to fault for the first n API
// requests and clears them afterwards, and notes when each API request
// arrived.
type faultSwitch struct {
	sim   *zendesksim.Server
	fault zendesksim.Faults
	n     int

	mu       sync.Mutex
	arrivals []time.Time
}

func (f *faultSwitch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			f.mu.Lock()
			f.arrivals = append(f.arrivals, time.Now())
			if len(f.arrivals) <= f.n {
				f.sim.SetFaults(f.fault)
			} else {
				f.sim.SetFaults(zendesksim.Faults{})
			}
			f.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (f *faultSwitch) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.arrivals)
}

// newFaultySim is a simulator with 300 records whose first n API requests
// meet fault.
func newFaultySim(t *testing.T, fault zendesksim.Faults, n int) (*zendesksim.Server, *httptest.Server, *faultSwitch) {
	t.Helper()
	fs := &faultSwitch{fault: fault, n: n}
	sim, ts := newSim(t, zendesksim.Options{}, fs.wrap)
	fs.sim = sim
	now := time.Now()
	sim.Generate(300, now.Add(-2*time.Hour), now.Add(-time.Hour))
	return sim, ts, fs
}

// waits records the client's OnWait calls.
type waits struct {
	mu  sync.Mutex
	got []waitCall
}

type waitCall struct {
	reason zendesk.WaitReason
	d      time.Duration
}

func (w *waits) hook(reason zendesk.WaitReason, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, waitCall{reason, d})
}

func (w *waits) of(reason zendesk.WaitReason) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Duration
	for _, c := range w.got {
		if c.reason == reason {
			out = append(out, c.d)
		}
	}
	return out
}

func asError(t *testing.T, err error) *zendesk.Error {
	t.Helper()
	require.Error(t, err)
	var e *zendesk.Error
	require.ErrorAs(t, err, &e)
	return e
}

var ctxBG = context.Background()
