package zendesk_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A Retry-After given as an HTTP date is measured against the response's
// own Date header, so the wait is what the server asked for however far
// the collector's clock is off: 60 s with the clock 2 minutes ahead (the
// old reading: 0, a retry at once) or 2 minutes behind (the old reading:
// 180 s). Without a Date header, the local clock is all there is.
func TestRetryAfterDateFollowsTheServersClock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		skew   time.Duration
		noDate bool
	}{
		{"clock in step", 0, false},
		{"clock 2 min ahead", 2 * time.Minute, false},
		{"clock 2 min behind", -2 * time.Minute, false},
		{"no Date header, clock in step", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The server's clock, fixed so that the expected wait is exact.
			server := time.Now().UTC().Truncate(time.Second)
			_, ts := newCapture(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if tc.noDate {
					w.Header()["Date"] = nil // no Date at all
				} else {
					w.Header().Set("Date", server.Format(http.TimeFormat))
				}
				if n == 1 {
					answer(w, http.StatusTooManyRequests, "text/plain", "slow down",
						"Retry-After", server.Add(time.Minute).Format(http.TimeFormat))
					return
				}
				answer(w, http.StatusOK, "application/json", emptyPage)
			})
			clock := &fakeClock{now: server.Add(tc.skew)}
			var w waits
			opts := fastOptions(ts.URL)
			opts.Now, opts.Sleep = clock.Now, clock.Sleep
			opts.Hooks.OnWait = w.hook
			c := newClient(t, opts)

			_, err := c.List(ctxBG, zendesk.ListParams{})
			require.NoError(t, err)
			assert.Equal(t, []time.Duration{time.Minute}, w.of(zendesk.WaitRetryAfter))
			assert.Equal(t, []time.Duration{time.Minute}, clock.sleeps(), "the client waited what the server asked for")
		})
	}
}

// Retry-After holds whole seconds. A fraction, or a number in any other
// form, is read as no Retry-After at all: the client backs off (at least
// half its initial backoff) instead of sending again at once.
func TestRetryAfterBelowASecondIsNoBurst(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0.001", "1e-9", "0.5", ".1", "1.0e-3", "+0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			capture, ts := newCapture(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n <= 4 {
					answer(w, http.StatusTooManyRequests, "text/plain", "slow down", "Retry-After", v)
					return
				}
				answer(w, http.StatusOK, "application/json", emptyPage)
			})
			clock := newFakeClock()
			var w waits
			opts := fastOptions(ts.URL)
			opts.InitialBackoff, opts.MaxBackoff = time.Second, 4*time.Second
			opts.Now, opts.Sleep = clock.Now, clock.Sleep
			opts.Hooks.OnWait = w.hook
			c := newClient(t, opts)

			_, err := c.List(ctxBG, zendesk.ListParams{})
			require.NoError(t, err)
			assert.Equal(t, 5, capture.count())
			assert.Empty(t, w.of(zendesk.WaitRetryAfter), "%q is not a Retry-After", v)
			waits := clock.sleeps()
			require.Len(t, waits, 4, "a wait before each retry")
			for _, d := range waits {
				assert.GreaterOrEqual(t, d, opts.InitialBackoff/2)
			}
		})
	}
}

// A body that is not the API's can name a member after a credential (a
// broken proxy echoing the Authorization header as a key): the decode
// error's JSON path then holds it, "/" written as "~1" and "~" as "~0".
// Neither form reaches the error, nor the OnRequest hook.
func TestDecodeErrorsOfSuccessBodiesAreRedacted(t *testing.T) {
	t.Parallel()
	// Credentials whose every form has a "/" or a "~" in it.
	const oauth = "oauth/Tok~en+0123456789"
	email, token := "ops@example.com", "tok/en~0123456789"
	basic := base64.StdEncoding.EncodeToString([]byte(email + "/token:" + token))
	for _, tc := range []struct {
		name    string
		creds   zendesk.Credentials
		secrets []string
	}{
		{"api token", zendesk.Credentials{Email: email, APIToken: token}, []string{token, basic}},
		{"oauth token", zendesk.Credentials{OAuthToken: oauth}, []string{oauth}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bodies := func(auth string) []string {
				key := strings.ReplaceAll(auth, `"`, ``)
				return []string{
					`{"audit_logs":[],"meta":{"` + key + `": [1,}}`,                    // syntax error inside the member
					`{"audit_logs":[{"id":1,"` + key + `":{"x": tru}}],"meta":{}}`,     // inside a record
					`{"audit_logs":[],"meta":{"has_more":true,"` + key + `":{"a":[}}}`, // nested
				}
			}
			_, ts := newCapture(t, func(n int, w http.ResponseWriter, r *http.Request) {
				b := bodies(r.Header.Get("Authorization"))
				answer(w, http.StatusOK, "application/json", b[(n-1)%len(b)])
			})
			var hooked []string
			var mu sync.Mutex
			opts := fastOptions(ts.URL)
			opts.Credentials = tc.creds
			opts.MaxAttempts = 1
			opts.Hooks.OnRequest = func(_ string, _ int, e *zendesk.Error) {
				mu.Lock()
				defer mu.Unlock()
				if e != nil {
					hooked = append(hooked, e.Error())
				}
			}
			c := newClient(t, opts)
			for range 3 {
				_, err := c.List(ctxBG, zendesk.ListParams{})
				e := asError(t, err)
				assert.Equal(t, zendesk.KindDecode, e.Kind)
				msg := err.Error()
				assert.Contains(t, msg, "[REDACTED]", "the place of the credential is marked")
				for _, s := range tc.secrets {
					for _, form := range []string{s, strings.NewReplacer("~", "~0", "/", "~1").Replace(s), s[:8]} {
						assert.NotContains(t, msg, form)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, hooked, 3)
			for _, msg := range hooked {
				for _, s := range tc.secrets {
					assert.NotContains(t, msg, strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
				}
			}
		})
	}
}

// A client made without an HTTPClient keeps its connections in a transport
// of its own. On http.DefaultTransport, any code that closed the default
// transport's idle connections (httptest.Server.Close does, for every
// test of the process) could close the connection an export had just
// taken from the pool: the POST failed with "http: CloseIdleConnections
// called", and the transport does not send a POST again. That failed
// TestExportLimitHoldsExportsOnly twice in 40 runs of the package beside
// make e2e. Here the default transport's idle connections are closed once
// the first request's connection is back in the client's pool: the second
// request still takes that connection.
func TestAClientWithoutHTTPClientHasATransportOfItsOwn(t *testing.T) {
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	sim.Generate(3, time.Now().Add(-time.Hour), time.Now().Add(-time.Minute))
	c := newClient(t, fastOptions(ts.URL))

	idle := make(chan struct{}, 1)
	ctx := httptrace.WithClientTrace(ctxBG, &httptrace.ClientTrace{PutIdleConn: func(err error) {
		if err == nil {
			idle <- struct{}{}
		}
	}})
	_, err := c.List(ctx, zendesk.ListParams{PageSize: 100})
	require.NoError(t, err)
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request's connection never went back to the pool")
	}
	http.DefaultTransport.(interface{ CloseIdleConnections() }).CloseIdleConnections()

	var reused bool
	ctx = httptrace.WithClientTrace(ctxBG, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }})
	_, err = c.List(ctx, zendesk.ListParams{PageSize: 100})
	require.NoError(t, err)
	assert.True(t, reused, "the second request took a new connection: the default transport's idle connections were the client's")
}
