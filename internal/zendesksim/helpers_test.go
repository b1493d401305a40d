package zendesksim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testEmail = "admin@example.com"
	testToken = "s3cret-token"
	testOAuth = "oauth-access-token"
)

var t0 = time.Date(2024, 5, 1, 11, 32, 0, 0, time.UTC)

// fakeClock is an injectable Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func basicAuth(email, token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+"/token:"+token))
}

var goodAuth = basicAuth(testEmail, testToken)

// newTestServer starts a simulator (with test credentials unless set) on
// 127.0.0.1 and returns it with its base URL.
func newTestServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Email == "" && opts.APIToken == "" && opts.OAuthToken == "" {
		opts.Email, opts.APIToken, opts.OAuthToken = testEmail, testToken, testOAuth
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// do sends a request with the given Authorization value ("" for none).
func do(t *testing.T, method, rawURL, auth string) result {
	t.Helper()
	return send(t, method, rawURL, http.Header{"Authorization": {auth}}, nil)
}

// send sends a request with the given headers (empty values left out) and
// body (nil for none).
func send(t *testing.T, method, rawURL string, header http.Header, body io.Reader) result {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(t, err)
	for k, v := range header {
		if len(v) > 0 && v[0] != "" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{resp.StatusCode, resp.Header, b}
}

func get(t *testing.T, rawURL string) result { return do(t, http.MethodGet, rawURL, goodAuth) }

// listURL builds base + /api/v2/audit_logs?q.
func listURL(base string, q url.Values) string {
	return base + "/api/v2/audit_logs?" + q.Encode()
}

type cursorResp struct {
	AuditLogs []map[string]any `json:"audit_logs"`
	Meta      struct {
		HasMore      bool    `json:"has_more"`
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
	} `json:"meta"`
	Links struct {
		Next *string `json:"next"`
		Prev *string `json:"prev"`
	} `json:"links"`
}

func getCursorPage(t *testing.T, rawURL string) cursorResp {
	t.Helper()
	r := get(t, rawURL)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var p cursorResp
	require.NoError(t, json.Unmarshal(r.body, &p))
	return p
}

func pageIDs(logs []map[string]any) []int64 {
	ids := make([]int64, len(logs))
	for i, l := range logs {
		ids[i] = int64(l["id"].(float64))
	}
	return ids
}

// walkChain follows links.next from rawURL and returns all records' ids and
// created_at values in order. between, if set, runs after each page.
func walkChain(t *testing.T, rawURL string, between func(page int)) (ids []int64, created []string) {
	t.Helper()
	for page := 0; ; page++ {
		require.Less(t, page, 10000, "chain does not end")
		p := getCursorPage(t, rawURL)
		ids = append(ids, pageIDs(p.AuditLogs)...)
		for _, l := range p.AuditLogs {
			created = append(created, l["created_at"].(string))
		}
		if p.Links.Next == nil {
			require.False(t, p.Meta.HasMore)
			return ids, created
		}
		require.True(t, p.Meta.HasMore)
		require.True(t, strings.HasPrefix(*p.Links.Next, rawURL[:strings.Index(rawURL, "/api/")]))
		if between != nil {
			between(page)
		}
		rawURL = *p.Links.Next
	}
}

// recordAt builds a minimal record.
func recordAt(id int64, at time.Time) Record {
	ip := "192.0.2.1"
	return Record{
		ID: id, Action: "update", ActionLabel: "Updated", ActorID: 42, ActorName: "Tester",
		CreatedAt: at, IPAddress: &ip, SourceID: 7, SourceLabel: "thing", SourceType: "user",
	}
}
