package zendesk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// 401: KindAuth, not retried, a hint about the credentials, and no
// credential in the message: neither the token, nor the email/token
// string, nor its base64.
func TestUnauthorized(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{Email: testEmail, APIToken: "the-right-token"}, nil)
	for _, tc := range []struct {
		name    string
		creds   zendesk.Credentials
		secrets []string
	}{
		{"api token", zendesk.Credentials{Email: testEmail, APIToken: testToken}, []string{testToken, testEmail + "/token:" + testToken, basicCredential}},
		{"oauth token", zendesk.Credentials{OAuthToken: testOAuth}, []string{testOAuth}},
		{"no credentials", zendesk.Credentials{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fastOptions(ts.URL)
			opts.Credentials = tc.creds
			c := newClient(t, opts)
			_, err := c.List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, zendesk.KindAuth, e.Kind)
			assert.Equal(t, http.StatusUnauthorized, e.StatusCode)
			assert.Equal(t, "Couldn't authenticate you", e.Code)
			assert.False(t, e.Retryable())
			assert.Equal(t, 1, e.Attempts)
			msg := err.Error()
			assert.Contains(t, msg, "API token")
			assert.Contains(t, msg, "OAuth token")
			for _, s := range tc.secrets {
				assert.NotContains(t, msg, s)
			}
		})
	}
	assert.Equal(t, 3, sim.Stats().ByStatus[http.StatusUnauthorized], "one request each")
}

// A server or proxy that echoes the Authorization header in its error body
// does not get the credential into the error.
func TestCredentialsEchoedByAServerAreRedacted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		creds   zendesk.Credentials
		secrets []string
	}{
		{"api token", zendesk.Credentials{Email: testEmail, APIToken: testToken}, []string{testToken, basicCredential}},
		{"oauth token", zendesk.Credentials{OAuthToken: testOAuth}, []string{testOAuth}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := newCapture(t, func(n int, w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				switch n {
				case 1:
					answer(w, http.StatusUnauthorized, "text/plain", "bad header: "+auth+" decoded: "+testEmail+"/token:"+testToken)
					return
				case 2:
					// The credential straddles the 200-character excerpt.
					answer(w, http.StatusUnauthorized, "text/plain", strings.Repeat("x", 190)+auth+" "+testToken+" "+testOAuth)
					return
				}
				answer(w, http.StatusForbidden, "application/json", `{"error":"`+auth+`","description":"token `+testOAuth+` lacks scope"}`)
			})
			opts := fastOptions(ts.URL)
			opts.Credentials = tc.creds
			c := newClient(t, opts)
			for range 3 {
				_, err := c.List(ctxBG, zendesk.ListParams{})
				e := asError(t, err)
				for _, s := range tc.secrets {
					assert.NotContains(t, err.Error(), s[:8], "not even a part of a credential")
					assert.NotContains(t, e.Code, s)
					assert.NotContains(t, e.Description, s)
				}
				assert.Contains(t, err.Error(), "[RE", "the place of the credential is marked")
			}
		})
	}
}

// 403: KindForbidden, with a hint about the plan and the token scope.
func TestForbidden(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	sim.SetForbidden(true)
	c := newClient(t, fastOptions(ts.URL))
	_, err := c.List(ctxBG, zendesk.ListParams{})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindForbidden, e.Kind)
	assert.Equal(t, "Forbidden", e.Code)
	assert.NotEmpty(t, e.Description)
	assert.False(t, e.Retryable())
	assert.Equal(t, 1, e.Attempts)
	assert.Contains(t, e.Hint(), "Enterprise")
	assert.Contains(t, e.Hint(), "auditlogs:read")
	assert.Contains(t, err.Error(), "Enterprise")
}

// Refusals (400, 422) carry Zendesk's code and description and are not
// retried; the body's format (JSON, an "error" object, text, HTML) never
// makes reading the error fail.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		kind        zendesk.Kind
		code, desc  string
		retryable   bool
	}{
		{"400 InvalidValue", 400, "application/json", `{"error":"InvalidValue","description":"filter[created_at] must be given twice"}`,
			zendesk.KindInvalid, "InvalidValue", "filter[created_at] must be given twice", false},
		{"422 RecordInvalid with details", 422, "application/json; charset=utf-8", `{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"bad"}]}}`,
			zendesk.KindInvalid, "RecordInvalid", "Record validation errors", false},
		{"error object with title", 400, "application/json", `{"error":{"title":"Invalid attribute","message":"You passed an invalid value"}}`,
			zendesk.KindInvalid, "Invalid attribute", "You passed an invalid value", false},
		{"404 RecordNotFound", 404, "application/json", `{"error":"RecordNotFound","description":"Not found"}`,
			zendesk.KindNotFound, "RecordNotFound", "Not found", false},
		{"text/plain folded to one line", 400, "text/plain; charset=utf-8", "Bad\n\trequest\x00 here",
			zendesk.KindInvalid, "", "Bad request here", false},
		{"HTML from a proxy", 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>",
			zendesk.KindServer, "", "", true},
		{"empty body", 500, "", "",
			zendesk.KindServer, "", "", true},
		{"JSON that is not an error", 418, "application/json", `[1,2,3]`,
			zendesk.KindUnknown, "", "", false},
		{"long text cut", 400, "text/plain", strings.Repeat("x", 5000),
			zendesk.KindInvalid, "", strings.Repeat("x", 200) + "…", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				answer(w, tc.status, tc.contentType, tc.body)
			})
			opts := fastOptions(ts.URL)
			opts.MaxAttempts = 2
			c := newClient(t, opts)
			_, err := c.List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, tc.kind, e.Kind)
			assert.Equal(t, tc.status, e.StatusCode)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.desc, e.Description)
			assert.Equal(t, tc.retryable, e.Retryable())
			assert.Equal(t, tc.retryable, zendesk.IsRetryable(err))
			assert.Equal(t, tc.kind, zendesk.KindOf(err))
			want := 1
			if tc.retryable {
				want = 2
			}
			assert.Equal(t, want, capt.count())
			assert.Equal(t, want, e.Attempts)
			assert.LessOrEqual(t, len(err.Error()), 600, "the message stays short")
			assert.Contains(t, err.Error(), "zendesk list")
		})
	}
}

// A 400 from the simulator carries its code and description.
func TestSimulatorRefusalCarriesCodeAndDescription(t *testing.T) {
	t.Parallel()
	_, ts := newSim(t, zendesksim.Options{}, nil)
	c := newClient(t, fastOptions(ts.URL))
	_, err := c.ListOffset(ctxBG, zendesk.OffsetParams{SortBy: "id"})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindInvalid, e.Kind)
	assert.Equal(t, "InvalidValue", e.Code)
	assert.Equal(t, "sort_by must be created_at", e.Description)
	assert.Equal(t, "zendesk list: 400 Bad Request: InvalidValue: sort_by must be created_at", err.Error())
}

// Transient failures are retried and the call then succeeds: 500, 503 with
// an HTML body, a truncated JSON body, 429 with Retry-After, 429 text/plain
// without it.
func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fault     zendesksim.Faults
		n         int
		status    int
		errorType string
	}{
		{"500", zendesksim.Faults{P500: 1}, 3, http.StatusInternalServerError, "500"},
		{"503 with HTML and Retry-After", zendesksim.Faults{P503HTML: 1, RetryAfter: time.Second}, 1, http.StatusServiceUnavailable, "503"},
		{"truncated JSON", zendesksim.Faults{PTruncated: 1}, 3, http.StatusOK, "decode"},
		{"429 JSON with Retry-After", zendesksim.Faults{P429: 1, RetryAfter: time.Second}, 1, http.StatusTooManyRequests, "429"},
		{"429 text/plain without Retry-After", zendesksim.Faults{P429NoRetryAfter: 1}, 3, http.StatusTooManyRequests, "429"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, ts, fs := newFaultySim(t, tc.fault, tc.n)
			var statuses []int
			var errorTypes []string
			opts := fastOptions(ts.URL)
			opts.Hooks.OnRequest = func(op string, status int, err *zendesk.Error) {
				assert.Equal(t, "list", op)
				statuses = append(statuses, status)
				if err != nil {
					errorTypes = append(errorTypes, err.Type())
				}
			}
			c := newClient(t, opts)
			page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 100})
			require.NoError(t, err)
			assert.Len(t, page.AuditLogs, 100)
			assert.Len(t, fs.times(), tc.n+1, "%d failures, then success", tc.n)
			want := append(make([]int, 0, tc.n+1), tc.status)
			for len(want) < tc.n {
				want = append(want, tc.status)
			}
			assert.Equal(t, append(want, http.StatusOK), statuses)
			assert.Equal(t, slices.Repeat([]string{tc.errorType}, tc.n), errorTypes, "one per failed request, none for the success")
			assert.Zero(t, sim.Stats().RetryAfterViolations)
		})
	}
}

// A 429 body in text/plain (not JSON) is read as a description.
func TestRateLimitedPlainTextBody(t *testing.T) {
	t.Parallel()
	_, ts, _ := newFaultySim(t, zendesksim.Faults{P429NoRetryAfter: 1}, 1)
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindRateLimited, e.Kind)
	assert.Equal(t, "Too Many Requests", e.Description)
	assert.Zero(t, e.RetryAfter)
	assert.True(t, e.Retryable())
	assert.Contains(t, e.Hint(), "shared")
}

// When every attempt fails, the last failure is returned, retryable, with
// Attempts == MaxAttempts.
func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault zendesksim.Faults
		kind  zendesk.Kind
	}{
		{"500", zendesksim.Faults{P500: 1}, zendesk.KindServer},
		{"truncated", zendesksim.Faults{PTruncated: 1}, zendesk.KindDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, ts, _ := newFaultySim(t, tc.fault, 1000)
			opts := fastOptions(ts.URL)
			opts.MaxAttempts = 3
			var w waits
			opts.Hooks.OnWait = w.hook
			c := newClient(t, opts)
			_, err := c.List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, tc.kind, e.Kind)
			assert.True(t, e.Retryable())
			assert.Equal(t, 3, e.Attempts)
			assert.Contains(t, err.Error(), "after 3 attempts")
			assert.Equal(t, 3, sim.Stats().Requests)
			backoffs := w.of(zendesk.WaitBackoff)
			require.Len(t, backoffs, 2, "a backoff before each retry")
			for _, d := range backoffs {
				assert.Greater(t, d, time.Duration(0))
				assert.LessOrEqual(t, d, 20*time.Millisecond, "within MaxBackoff")
			}
		})
	}
}

// MaxAttempts 1 disables retries.
func TestMaxAttemptsOneDisablesRetries(t *testing.T) {
	t.Parallel()
	sim, ts, _ := newFaultySim(t, zendesksim.Faults{P500: 1}, 1000)
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindServer, e.Kind)
	assert.Equal(t, 1, e.Attempts)
	assert.NotContains(t, err.Error(), "attempts")
	assert.Equal(t, 1, sim.Stats().Requests)
}

// No response at all is KindNetwork and retryable.
func TestNetworkFailure(t *testing.T) {
	t.Parallel()
	_, ts := newCapture(t, nil)
	url := ts.URL
	ts.Close()
	opts := fastOptions(url)
	opts.MaxAttempts = 2
	var statuses []int
	var errorTypes []string
	opts.Hooks.OnRequest = func(_ string, status int, err *zendesk.Error) {
		statuses = append(statuses, status)
		errorTypes = append(errorTypes, err.Type())
	}
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindNetwork, e.Kind)
	assert.Zero(t, e.StatusCode)
	assert.True(t, e.Retryable())
	assert.Equal(t, 2, e.Attempts)
	assert.Equal(t, []int{0, 0}, statuses)
	assert.Equal(t, []string{"network", "network"}, errorTypes)
	assert.NotNil(t, errors.Unwrap(err))
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	for kind, name := range map[zendesk.Kind]string{
		zendesk.KindUnknown: "unknown", zendesk.KindAuth: "auth", zendesk.KindForbidden: "forbidden",
		zendesk.KindNotFound: "not_found", zendesk.KindInvalid: "invalid", zendesk.KindRateLimited: "rate_limited",
		zendesk.KindServer: "server", zendesk.KindNetwork: "network", zendesk.KindDecode: "decode",
		zendesk.KindTooLarge: "too_large", zendesk.KindTLS: "tls", zendesk.Kind(99): "kind(99)",
	} {
		assert.Equal(t, name, kind.String())
	}
	assert.Equal(t, zendesk.KindUnknown, zendesk.KindOf(errors.New("plain")))
	assert.False(t, zendesk.IsRetryable(errors.New("plain")))
}

// New refuses options that cannot work.
func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts zendesk.Options
	}{
		{"not a URL", zendesk.Options{BaseURL: "://x"}},
		{"no scheme", zendesk.Options{BaseURL: "acme.zendesk.com"}},
		{"ftp", zendesk.Options{BaseURL: "ftp://acme.zendesk.com"}},
		{"credentials in the URL", zendesk.Options{BaseURL: "https://u:p@acme.zendesk.com"}},
		{"token without email", zendesk.Options{BaseURL: "https://acme.zendesk.com", Credentials: zendesk.Credentials{APIToken: testToken}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := zendesk.New(tc.opts)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, err.Error(), ":p@")
		})
	}
	c, err := zendesk.New(zendesk.Options{BaseURL: "https://acme.zendesk.com/?x=1#y"})
	require.NoError(t, err)
	assert.Equal(t, "https://acme.zendesk.com", c.BaseURL())
}

// Type gives error.type a value of low cardinality: the status code of an
// error response, else what went wrong.
func TestErrorType(t *testing.T) {
	t.Parallel()
	for want, e := range map[string]*zendesk.Error{
		"429":                  {Kind: zendesk.KindRateLimited, StatusCode: http.StatusTooManyRequests},
		"503":                  {Kind: zendesk.KindServer, StatusCode: http.StatusServiceUnavailable},
		"401":                  {Kind: zendesk.KindAuth, StatusCode: http.StatusUnauthorized},
		"418":                  {Kind: zendesk.KindUnknown, StatusCode: http.StatusTeapot},
		"network":              {Kind: zendesk.KindNetwork, Err: errors.New("connection refused")},
		"timeout":              {Kind: zendesk.KindNetwork, Err: fmt.Errorf("reading: %w", context.DeadlineExceeded)},
		"canceled":             {Kind: zendesk.KindNetwork, Err: context.Canceled},
		"tls":                  {Kind: zendesk.KindTLS, Err: errors.New("x509: unknown authority")},
		"decode":               {Kind: zendesk.KindDecode, StatusCode: http.StatusOK},
		"too_large":            {Kind: zendesk.KindTooLarge, StatusCode: http.StatusOK},
		zendesk.ErrorTypeOther: {Kind: zendesk.KindUnknown, StatusCode: http.StatusFound},
	} {
		assert.Equal(t, want, e.Type(), "%+v", e)
	}
}

// A request that gets no answer within RequestTimeout is reported without a
// status code, as a timeout; one the caller abandons, as canceled.
func TestRequestHookNamesTimeoutsAndCancellations(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, ts := newCapture(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	type outcome struct {
		status    int
		errorType string
	}
	var mu sync.Mutex
	var got []outcome
	opts := fastOptions(ts.URL)
	opts.MaxAttempts = 1
	opts.RequestTimeout = 50 * time.Millisecond
	opts.Hooks.OnRequest = func(_ string, status int, err *zendesk.Error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, outcome{status, err.Type()})
	}
	c := newClient(t, opts)
	_, err := c.List(ctxBG, zendesk.ListParams{})
	require.Error(t, err)

	ctx, cancel := context.WithCancel(ctxBG)
	time.AfterFunc(20*time.Millisecond, cancel)
	opts.RequestTimeout = 10 * time.Second
	_, err = newClient(t, opts).List(ctx, zendesk.ListParams{})
	require.Error(t, err)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []outcome{{0, "timeout"}, {0, "canceled"}}, got)
}

// A proxy in front of the API that cannot be reached, or that refuses its
// credentials (407 to CONNECT), is a retryable network failure whose hint
// names the proxy: net/http reports the two in ways that name no proxy
// ("proxyconnect tcp: ...", and the bare reason phrase of the answer).
func TestProxyFailuresAreHintedAsTheProxys(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(nil)
	closed.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="egress"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	t.Cleanup(refusing.Close)

	for _, tc := range []struct {
		name, proxy, hint string
	}{
		{"unreachable", closed.URL, "the proxy did not take the connection: check its address in proxy_url or HTTPS_PROXY, or exempt the API's host with NO_PROXY"},
		{"407", refusing.URL, "the proxy refused its credentials with a 407: check the user and password in proxy_url or HTTPS_PROXY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy, err := url.Parse(tc.proxy)
			require.NoError(t, err)
			opts := fastOptions("https://acme.example.com")
			opts.MaxAttempts = 2
			opts.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
			_, err = newClient(t, opts).List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, zendesk.KindNetwork, e.Kind, "%v", err)
			assert.True(t, e.Retryable(), "a proxy may come back")
			assert.Equal(t, 2, e.Attempts)
			assert.Equal(t, tc.hint, e.Hint())
			assert.Contains(t, err.Error(), "("+tc.hint+")")
		})
	}

	// Any other network failure keeps no hint: the caller's own says more.
	opts := fastOptions(closed.URL)
	opts.MaxAttempts = 1
	_, err := newClient(t, opts).List(ctxBG, zendesk.ListParams{})
	assert.Empty(t, asError(t, err).Hint(), "%v", err)
}
