package zendeskauditlogsreceiver

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	testClientID     = "receiver-test-client"
	testClientSecret = "Receiver-Client-S3cret-4242"
)

// bearerSeen records the access tokens the API requests carried, and the
// URL of every request.
type bearerSeen struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]bool
	urls []string
}

func (b *bearerSeen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.urls = append(b.urls, r.URL.String())
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if b.seen == nil {
			b.seen = map[string]bool{}
		}
		b.seen[tok] = true
	}
	b.mu.Unlock()
	b.next.ServeHTTP(w, r)
}

// requireNoneInURLs fails if a request's URL held one of secrets.
func (b *bearerSeen) requireNoneInURLs(t *testing.T, secrets ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(t, b.urls)
	for _, u := range b.urls {
		for _, s := range secrets {
			require.NotContains(t, u, s, "a request's URL")
		}
	}
}

func (b *bearerSeen) tokens() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for tok := range b.seen {
		out = append(out, tok)
	}
	return out
}

// newOAuthEnv is newEnvWith whose receiver authenticates as an OAuth
// client of the simulator, whose tokens live lifetime.
func newOAuthEnv(t *testing.T, opts zendesksim.Options, secret string) (*env, *bearerSeen) {
	t.Helper()
	seen := &bearerSeen{}
	opts.OAuthClients = []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret}}
	e := newEnvWith(t, opts, func(h http.Handler) http.Handler { seen.next = h; return seen })
	e.cfg.Email, e.cfg.APIToken = "", ""
	e.cfg.OAuth = configoptional.Some(OAuthConfig{ClientID: testClientID, ClientSecret: configopaque.String(secret), Scope: zendesk.DefaultScope})
	require.NoError(t, e.cfg.Validate())
	return e, seen
}

// TestOAuthBackfillWithTokensExpiringEverySecond reads a backlog in time
// slices while the access tokens expire every second: every record once,
// no token refused twice, no token asked for twice at once, and neither
// the secret nor a token in any log line at debug level.
func TestOAuthBackfillWithTokensExpiringEverySecond(t *testing.T) {
	e, seen := newOAuthEnv(t, zendesksim.Options{
		TokenLifetime: time.Second,
		Faults:        zendesksim.Faults{Latency: 60 * time.Millisecond},
	}, testClientSecret)
	e.backlog(t, 6000, 3*time.Hour, time.Minute)
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	tel := withTelemetry(t, e)
	sink := new(consumertest.LogsSink)
	start := time.Now()
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireExactly(t, simIDs(e.sim), sink)
	elapsed := time.Since(start)
	st := e.sim.Stats()
	t.Logf("%s: %d tokens issued, %d token requests, %d API requests refused with an expired token, most refusals of one token %d",
		elapsed, st.TokensIssued, st.TokenRequests, st.ExpiredTokenRequests, st.MaxRefusalsPerToken)
	assert.LessOrEqual(t, st.MaxRefusalsPerToken, 1, "no token sent again once refused")
	// One at start, one per renewal (every 0.75 s at most), one per refusal.
	assert.LessOrEqual(t, st.TokensIssued, 1+int(elapsed/(750*time.Millisecond))+1+st.ExpiredTokenRequests,
		"no token asked for more than once per renewal")
	assert.Equal(t, st.TokensIssued, st.TokenRequests)
	assert.NotContains(t, host.statuses(), componentstatus.StatusRecoverableError)
	assert.NotEmpty(t, e.logs.FilterMessageSnippet("Zendesk issued an OAuth access token").All(), "debug logs were on")
	requireNoneOf(t, e.logs, host, append(seen.tokens(), testClientSecret)...)
	seen.requireNoneInURLs(t, append(seen.tokens(), testClientSecret)...)
	requireNoneInMetrics(t, tel, append(seen.tokens(), testClientSecret)...)
}

func pointAttrs[N int64 | float64](dps []metricdata.DataPoint[N]) []attribute.Set {
	sets := make([]attribute.Set, len(dps))
	for i, dp := range dps {
		sets[i] = dp.Attributes
	}
	return sets
}

func histogramAttrs[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) []attribute.Set {
	sets := make([]attribute.Set, len(dps))
	for i, dp := range dps {
		sets[i] = dp.Attributes
	}
	return sets
}

// requireNoneInMetrics fails if an attribute of a metric the receiver
// recorded (its own, and those of the collector's HTTP client) holds one
// of secrets.
func requireNoneInMetrics(t *testing.T, tel *componenttest.Telemetry, secrets ...string) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	var sets []attribute.Set
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				sets = append(sets, pointAttrs(d.DataPoints)...)
			case metricdata.Sum[float64]:
				sets = append(sets, pointAttrs(d.DataPoints)...)
			case metricdata.Gauge[int64]:
				sets = append(sets, pointAttrs(d.DataPoints)...)
			case metricdata.Gauge[float64]:
				sets = append(sets, pointAttrs(d.DataPoints)...)
			case metricdata.Histogram[int64]:
				sets = append(sets, histogramAttrs(d.DataPoints)...)
			case metricdata.Histogram[float64]:
				sets = append(sets, histogramAttrs(d.DataPoints)...)
			default:
				t.Fatalf("metric %s: data of type %T not checked", m.Name, m.Data)
			}
		}
	}
	require.NotEmpty(t, sets, "no metric recorded")
	for _, set := range sets {
		encoded := set.Encoded(attribute.DefaultEncoder())
		for _, s := range secrets {
			require.NotContains(t, encoded, s, "a metric's attributes")
		}
	}
}

// requireRefusedAtOnce checks a receiver whose OAuth client Zendesk
// refuses: after three token requests its only status is the permanent
// error, naming code and hint (repeated refusals are no new status), and
// it made no API request and delivered nothing.
func requireRefusedAtOnce(t *testing.T, e *env, host *storageHost, sink *consumertest.LogsSink, code, hint string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(host.statuses()) >= 1 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return e.sim.Stats().TokenRequests >= 3 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusPermanentError}, host.statuses(),
		"the first refusal is permanent, and repeated refusals are no new status")
	host.mu.Lock()
	msg := host.events[0].Err().Error()
	host.mu.Unlock()
	assert.Contains(t, msg, code)
	assert.Contains(t, msg, hint)
	assert.Zero(t, e.sim.Stats().Requests, "no API request without a token")
	assert.Empty(t, sink.AllLogs())
}

func TestOAuthWrongSecretIsAPermanentErrorAtOnceWithItsHint(t *testing.T) {
	e, _ := newOAuthEnv(t, zendesksim.Options{}, "Wrong-Client-Secret-1717")
	e.cfg.PollInterval = 100 * time.Millisecond
	e.backlog(t, 10, time.Hour, time.Minute)
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireRefusedAtOnce(t, e, host, sink, "invalid_client", "Admin Center > Apps and integrations > APIs > OAuth clients")
	assert.Len(t, e.logs.FilterMessageSnippet("Zendesk refused the OAuth client").All(), 1)
	requireNoneOf(t, e.logs, host, "Wrong-Client-Secret-1717")
}

func TestOAuthTokenEndpointDownKeepsTheCheckpointAndRecovers(t *testing.T) {
	e, seen := newOAuthEnv(t, zendesksim.Options{}, testClientSecret)
	e.cfg.PollInterval = 100 * time.Millisecond
	e.backlog(t, 300, time.Hour, time.Minute)
	e.sim.SetTokenEndpointDown(http.StatusServiceUnavailable)
	host := withFileStorage(e, t.TempDir())
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	require.Eventually(t, func() bool { return e.sim.Stats().TokenRequests >= 2 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(host.statuses()) >= 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusRecoverableError, host.statuses()[0], "a token endpoint down is no reason to give up")
	assert.Empty(t, sink.AllLogs())

	e.sim.SetTokenEndpointDown(0)
	requireExactly(t, simIDs(e.sim), sink)
	require.Eventually(t, func() bool { return len(host.statuses()) >= 2 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusOK, host.statuses()[1])
	requireNoneOf(t, e.logs, host, append(seen.tokens(), testClientSecret)...)
}

func TestOAuthRevokedTokenIsRenewedWithoutAnError(t *testing.T) {
	e, _ := newOAuthEnv(t, zendesksim.Options{}, testClientSecret)
	e.cfg.PollInterval = 50 * time.Millisecond
	e.cfg.SettleDelay = 0
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return e.sim.Stats().TokensIssued == 1 && e.sim.Stats().ListRequests >= 1 }, 10*time.Second, 5*time.Millisecond)

	e.sim.RevokeTokens()
	// Created ahead of the window's end: read by a later poll.
	e.sim.Generate(50, time.Now().Add(500*time.Millisecond), time.Now().Add(time.Second))
	requireExactly(t, simIDs(e.sim), sink)
	st := e.sim.Stats()
	assert.Equal(t, 2, st.TokensIssued)
	assert.Equal(t, 1, st.RevokedTokenRequests)
	assert.NotContains(t, host.statuses(), componentstatus.StatusRecoverableError, "a 401 before expiry renews the token; the poll does not fail")
}

// TestMigratingFromAnAPITokenKeepsTheCheckpoint is the README's migration:
// the same receiver, its email and api_token replaced by an oauth block,
// restarted on the same storage, reads on from where the API token left
// off: nothing missed, nothing repeated.
func TestMigratingFromAnAPITokenKeepsTheCheckpoint(t *testing.T) {
	e, _ := newOAuthEnv(t, zendesksim.Options{}, testClientSecret)
	oauth := e.cfg.OAuth
	e.cfg.OAuth = configoptional.None[OAuthConfig]()
	e.cfg.Email, e.cfg.APIToken = testEmail, testToken
	require.NoError(t, e.cfg.Validate())
	dir := t.TempDir()
	e.backlog(t, 300, 2*time.Hour, time.Hour)
	first := new(consumertest.LogsSink)
	r := e.start(t, first, withFileStorage(e, dir))
	requireExactly(t, simIDs(e.sim), first)
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Zero(t, e.sim.Stats().TokenRequests, "read with the API token")
	delivered := ids(first.AllLogs())

	e.cfg.Email, e.cfg.APIToken = "", ""
	e.cfg.OAuth = oauth
	require.NoError(t, e.cfg.Validate())
	// Written while it was down.
	stopped := time.Now()
	require.Eventually(t, func() bool { return time.Since(stopped) > 1100*time.Millisecond }, 3*time.Second, 10*time.Millisecond)
	e.sim.Generate(100, stopped.Add(time.Second), time.Now())
	second := new(consumertest.LogsSink)
	r = e.start(t, second, withFileStorage(e, dir))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return slices.Contains(delivered, id) })
	require.Len(t, want, 100)
	requireExactly(t, want, second)
	assert.NotEmpty(t, e.logs.FilterMessageSnippet("Resuming from the stored checkpoint").All())
	assert.Equal(t, 1, e.sim.Stats().TokensIssued, "read with the OAuth client")
}

// TestRefreshTokenRotatedIsKeptAcrossARestart: with oauth.refresh_token,
// the receiver keeps the refresh token Zendesk rotates to in its storage;
// after a restart it uses that one (the configured one was invalidated by
// the first renewal), until the configuration names a new one.
func TestRefreshTokenRotatedIsKeptAcrossARestart(t *testing.T) {
	e, seen := newOAuthEnv(t, zendesksim.Options{TokenLifetime: time.Second}, testClientSecret)
	configured := e.sim.IssueRefreshToken(testClientID)
	e.cfg.OAuth.Get().RefreshToken = configopaque.String(configured)
	dir := t.TempDir()
	host := withFileStorage(e, dir)
	require.NoError(t, e.cfg.Validate())
	e.cfg.PollInterval = 100 * time.Millisecond
	e.backlog(t, 200, 2*time.Hour, time.Hour)

	first := new(consumertest.LogsSink)
	r := e.start(t, first, host)
	requireExactly(t, simIDs(e.sim), first)
	// Renewals every 0.75 s, each a refresh that rotates the pair.
	require.Eventually(t, func() bool { return e.sim.Stats().RefreshGrants >= 3 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	delivered := ids(first.AllLogs())

	stopped := time.Now()
	require.Eventually(t, func() bool { return time.Since(stopped) > 1100*time.Millisecond }, 3*time.Second, 10*time.Millisecond)
	e.sim.Generate(50, stopped.Add(time.Second), time.Now())
	host = withFileStorage(e, dir)
	second := new(consumertest.LogsSink)
	r = e.start(t, second, host)
	want := slices.DeleteFunc(simIDs(e.sim), func(id int64) bool { return slices.Contains(delivered, id) })
	requireExactly(t, want, second)
	require.NoError(t, r.Shutdown(context.Background()))
	assert.NotContains(t, host.statuses(), componentstatus.StatusRecoverableError, "the stored refresh token was accepted")
	assert.NotContains(t, host.statuses(), componentstatus.StatusPermanentError)
	requireNoneOf(t, e.logs, host, append(seen.tokens(), testClientSecret, configured)...)

	// A new refresh token in the configuration wins over the stored one.
	fresh := e.sim.IssueRefreshToken(testClientID)
	e.cfg.OAuth.Get().RefreshToken = configopaque.String(fresh)
	grants := e.sim.Stats().RefreshGrants
	host = withFileStorage(e, dir)
	r = e.start(t, new(consumertest.LogsSink), host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return e.sim.Stats().RefreshGrants > grants }, 10*time.Second, 10*time.Millisecond)
	assert.Len(t, e.logs.FilterMessageSnippet("The configured OAuth refresh token changed").All(), 1)
	require.Eventually(t, func() bool { return len(host.statuses()) >= 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusOK, host.statuses()[0])
}

// heldTokens holds the answers of the token endpoint while hold is set:
// the simulator answers the request (a refresh grant rotates the pair
// then), and the answer is sent once release is closed.
type heldTokens struct {
	next    http.Handler
	hold    atomic.Bool
	arrived chan struct{} // a token request was answered and is held
	release chan struct{}
}

func (h *heldTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != zendesk.TokenPath || !h.hold.Load() {
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	select {
	case h.arrived <- struct{}{}:
	default:
	}
	<-h.release
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// A client Zendesk refuses the scope the receiver asks for
// (invalid_scope) is a permanent error at once, as a wrong secret is, with
// the hint to allow the client the scope; no API request is made.
func TestOAuthScopeRefusedIsAPermanentErrorAtOnceWithItsHint(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{OAuthClients: []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret, Scopes: []string{"read"}}}}, nil)
	e.cfg.Email, e.cfg.APIToken = "", ""
	e.cfg.OAuth = configoptional.Some(OAuthConfig{ClientID: testClientID, ClientSecret: testClientSecret, Scope: zendesk.DefaultScope})
	require.NoError(t, e.cfg.Validate())
	e.cfg.PollInterval = 100 * time.Millisecond
	e.backlog(t, 10, time.Hour, time.Minute)
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	requireRefusedAtOnce(t, e, host, sink, "invalid_scope", "allow the client the scope")
	requireNoneOf(t, e.logs, host, testClientSecret)
}

// A static OAuth access token (oauth_token) is never renewed: the
// receiver reads with it, asks the token endpoint for nothing, and once
// Zendesk no longer accepts it (it expired) every poll gets a 401 and the
// status becomes a permanent error, until a new token is configured.
func TestAStaticOAuthTokenIsNeverRenewedAndItsExpiryIsAPermanentError(t *testing.T) {
	e := newEnvWith(t, zendesksim.Options{OAuthClients: []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret}}}, nil)
	const static = "Static-Access-Token-1234"
	e.sim.SetCredentials("", "", static)
	e.cfg.Email, e.cfg.APIToken = "", ""
	e.cfg.OAuthToken = static
	require.NoError(t, e.cfg.Validate())
	e.cfg.PollInterval = 200 * time.Millisecond
	e.backlog(t, 30, time.Hour, time.Minute)
	host := &storageHost{StorageHost: storagetest.NewStorageHost()}
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	requireExactly(t, simIDs(e.sim), sink)

	// The token expires: Zendesk accepts another one only.
	e.sim.SetCredentials("", "", "Static-Access-Token-5678")
	require.Eventually(t, func() bool { return slices.Contains(host.statuses(), componentstatus.StatusPermanentError) }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[401] >= 4 }, 10*time.Second, 10*time.Millisecond, "every poll is refused")
	assert.Zero(t, e.sim.Stats().TokenRequests, "a static token is never renewed")
	host.mu.Lock()
	permanent := host.events[len(host.events)-1].Err().Error()
	host.mu.Unlock()
	assert.Contains(t, permanent, "401 Unauthorized")
	assert.Contains(t, permanent, "the OAuth token")
	requireNoneOf(t, e.logs, host, static)
}

// shutdownBegan is a context that tells when Shutdown first waits on it,
// which it does once it stopped the poll and closed the API client.
type shutdownBegan struct {
	context.Context
	once  sync.Once
	began chan struct{}
}

func (c *shutdownBegan) Done() <-chan struct{} {
	c.once.Do(func() { close(c.began) })
	return c.Context.Done()
}

// newRefreshEnv is a receiver environment whose OAuth client holds a
// refresh token (oauth.refresh_token), tokens living a second, the token
// endpoint behind held, and file storage in dir.
func newRefreshEnv(t *testing.T, held *heldTokens) *env {
	t.Helper()
	e := newEnvWith(t, zendesksim.Options{
		OAuthClients:  []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret}},
		TokenLifetime: time.Second,
	}, func(h http.Handler) http.Handler { held.next = h; return held })
	e.cfg.Email, e.cfg.APIToken = "", ""
	e.cfg.OAuth = configoptional.Some(OAuthConfig{ClientID: testClientID, ClientSecret: testClientSecret, Scope: zendesk.DefaultScope,
		RefreshToken: configopaque.String(e.sim.IssueRefreshToken(testClientID))})
	e.backlog(t, 50, 2*time.Hour, time.Hour)
	return e
}

// holdNextRenewal holds the receiver's next token request at the endpoint
// once it made its first refresh grant, and returns when that request
// arrived.
func holdNextRenewal(t *testing.T, e *env, held *heldTokens) {
	t.Helper()
	require.Eventually(t, func() bool { return e.sim.Stats().RefreshGrants >= 1 }, 10*time.Second, 10*time.Millisecond)
	held.hold.Store(true)
	select {
	case <-held.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal came")
	}
}

// A graceful Shutdown lets a refresh in flight finish and keeps the
// refresh token Zendesk rotated to: the renewal is held at the endpoint
// until Shutdown has stopped the poll and closed the client, then
// answered; the receiver started again on the same storage renews with
// the stored token, which Zendesk accepts (the configured one and the one
// before the held renewal are no longer valid).
func TestAGracefulShutdownKeepsTheTokenOfARefreshInFlight(t *testing.T) {
	held := &heldTokens{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	e := newRefreshEnv(t, held)
	dir := t.TempDir()
	host := withFileStorage(e, dir)
	require.NoError(t, e.cfg.Validate())
	e.cfg.PollInterval = 100 * time.Millisecond // below the minimum, for renewals to come soon

	r := e.start(t, new(consumertest.LogsSink), host)
	holdNextRenewal(t, e, held)
	ctx := &shutdownBegan{Context: context.Background(), began: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	select {
	case <-ctx.began:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not begin")
	}
	held.hold.Store(false)
	close(held.release)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return once the refresh was answered")
	}
	grants := e.sim.Stats().RefreshGrants

	host = withFileStorage(e, dir)
	sink := new(consumertest.LogsSink)
	r = e.start(t, sink, host)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return e.sim.Stats().RefreshGrants > grants }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(host.statuses()) >= 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, componentstatus.StatusOK, host.statuses()[0], "the stored refresh token was accepted")
	assert.Empty(t, e.logs.FilterMessageSnippet("could not be stored").All())
}

// A refresh in flight is not cut off by Shutdown (Zendesk rotates the
// pair when it answers). When its answer comes after a Shutdown that gave
// up at its deadline and closed the storage, the rotated refresh token is
// saved into the storage client the receiver opened, which says it is
// closed, and the error is logged: no nil storage client (the field
// Shutdown clears), no panic.
func TestARefreshAnsweredAfterAShutdownThatGaveUpIsLoggedAsNotStored(t *testing.T) {
	held := &heldTokens{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	e := newRefreshEnv(t, held)
	host := withFaultyStorage(t, e)
	require.NoError(t, e.cfg.Validate())
	e.cfg.PollInterval = 100 * time.Millisecond

	r := e.start(t, new(consumertest.LogsSink), host)
	holdNextRenewal(t, e, held)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.Shutdown(ctx), context.DeadlineExceeded, "the poll waits for the refresh in flight")
	require.Eventually(t, func() bool { return host.storage.closed.Load() == 1 }, 10*time.Second, 10*time.Millisecond,
		"Shutdown closes the storage, if after its deadline")

	close(held.release)
	stopped := make(chan struct{})
	go func() { r.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the poll did not stop once the refresh was answered")
	}
	notStored := e.logs.FilterMessageSnippet("The rotated OAuth refresh token could not be stored").All()
	require.Len(t, notStored, 1)
	assert.Contains(t, notStored[0].ContextMap()["error"], "client closed", "saved into the storage client the receiver opened")
}
