package zendesk_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// authTransport authenticates like a confighttp authenticator extension:
// the client itself holds no credentials.
type authTransport struct {
	base http.RoundTripper
	auth string
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.auth)
	return a.base.RoundTrip(r)
}

// Pagination links pointing at another host are never followed: every
// request of a chain goes to the configured base URL, so the credentials
// never reach the foreign host.
func TestCredentialsNotSentToLinksHost(t *testing.T) {
	t.Parallel()
	foreign, foreignTS := newCapture(t, nil)
	sim, ts := newSim(t, zendesksim.Options{LinksBaseURL: foreignTS.URL}, nil)
	now := time.Now()
	sim.Generate(250, now.Add(-time.Hour), now.Add(-time.Minute))
	c := newClient(t, fastOptions(ts.URL))

	got, pages := walk(t, c, zendesk.ListParams{PageSize: 50, Sort: zendesk.SortAscending})
	assert.Len(t, got, 250)
	assert.Equal(t, 5, pages)
	for n := 1; n <= 3; n++ {
		page, err := c.ListOffset(ctxBG, zendesk.OffsetParams{Page: n, PerPage: 100})
		require.NoError(t, err)
		if n < 3 {
			assert.Contains(t, page.NextPage, foreignTS.URL, "the links do point at the foreign host")
		}
	}
	assert.Zero(t, foreign.count(), "the foreign host got no request")
}

// A redirect from the API host to another host is refused, with either
// kind of authentication: the other host never sees a request, let alone
// an Authorization header. Asking again would meet the same redirect, so
// the refusal is not retried.
func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts func(zendesk.Options) zendesk.Options
	}{
		{"client credentials", func(o zendesk.Options) zendesk.Options { return o }},
		{"authenticating transport", func(o zendesk.Options) zendesk.Options {
			o.Credentials = zendesk.Credentials{}
			o.HTTPClient = &http.Client{Transport: authTransport{http.DefaultTransport, "Bearer " + testOAuth}}
			return o
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			foreign, foreignTS := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				answer(w, http.StatusOK, "application/json", emptyPage)
			})
			api, apiTS := newCapture(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, foreignTS.URL+r.URL.RequestURI(), http.StatusFound)
			})
			var statuses []int
			opts := tc.opts(fastOptions(apiTS.URL))
			opts.Hooks.OnRequest = func(_ string, status int, _ *zendesk.Error) { statuses = append(statuses, status) }
			c := newClient(t, opts)

			_, err := c.List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, http.StatusFound, e.StatusCode)
			assert.False(t, e.Retryable(), "a refused redirect is not retried")
			assert.Equal(t, 1, e.Attempts)
			assert.Contains(t, err.Error(), "redirect")
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, err.Error(), testOAuth)
			assert.Equal(t, []int{http.StatusFound}, statuses)
			assert.Equal(t, 1, api.count())
			assert.NotEmpty(t, api.all()[0].authorization, "the API host is authenticated")
			for _, r := range foreign.all() {
				assert.Empty(t, r.authorization, "the foreign host saw an Authorization header")
			}
			assert.Zero(t, foreign.count(), "the foreign host got no request")
		})
	}
}

// A redirect on the same host (here to the .json form of the path) is
// followed, credentials included.
func TestRedirectOnTheSameHostIsFollowed(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v2/audit_logs" {
				u := *r.URL
				u.Path += ".json"
				http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	now := time.Now()
	sim.Generate(30, now.Add(-time.Hour), now.Add(-time.Minute))
	c := newClient(t, fastOptions(ts.URL))
	page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 10})
	require.NoError(t, err)
	assert.Len(t, page.AuditLogs, 10)
}

// A caller-supplied *http.Client whose transport authenticates (the
// confighttp authenticator path) works with no Credentials, and the client
// adds no Authorization header of its own.
func TestCallerSuppliedAuthenticatingHTTPClient(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{OAuthToken: testOAuth}, nil)
	now := time.Now()
	sim.Generate(120, now.Add(-time.Hour), now.Add(-time.Minute))
	hc := &http.Client{Transport: authTransport{http.DefaultTransport, "Bearer " + testOAuth}}
	opts := fastOptions(ts.URL)
	opts.Credentials = zendesk.Credentials{}
	opts.HTTPClient = hc
	c := newClient(t, opts)

	got, pages := walk(t, c, zendesk.ListParams{PageSize: 100, Sort: zendesk.SortAscending})
	assert.Len(t, got, 120)
	assert.Equal(t, 2, pages)
	_, err := c.Get(ctxBG, got[0].ID.Value)
	require.NoError(t, err)
	assert.Nil(t, hc.CheckRedirect, "the caller's client is not modified")

	// Without the transport's help the simulator refuses.
	opts.HTTPClient = nil
	_, err = newClient(t, opts).List(ctxBG, zendesk.ListParams{})
	assert.Equal(t, zendesk.KindAuth, zendesk.KindOf(err))
}

// The client sends the documented Authorization forms and its User-Agent.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, "application/json", emptyPage)
	})
	for _, creds := range []zendesk.Credentials{
		{Email: testEmail, APIToken: testToken},
		{OAuthToken: testOAuth},
		{},
	} {
		opts := fastOptions(ts.URL)
		opts.Credentials = creds
		opts.UserAgent = "audit-test/1.0"
		_, err := newClient(t, opts).List(ctxBG, zendesk.ListParams{})
		require.NoError(t, err)
	}
	reqs := capt.all()
	require.Len(t, reqs, 3)
	assert.Equal(t, "Basic "+basicCredential, reqs[0].authorization)
	assert.Equal(t, "Bearer "+testOAuth, reqs[1].authorization)
	assert.Empty(t, reqs[2].authorization)
	for _, r := range reqs {
		assert.Equal(t, "audit-test/1.0", r.userAgent)
	}
}
