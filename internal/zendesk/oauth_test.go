package zendesk_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	testClientID     = "audit-collector"
	testClientSecret = "Client-S3cret-0123456789abcdef"
)

// newOAuthSim starts a simulator that knows the test OAuth client only,
// with a few records.
func newOAuthSim(t *testing.T, lifetime time.Duration, wrap func(http.Handler) http.Handler) (*zendesksim.Server, string) {
	t.Helper()
	sim, ts := newSim(t, zendesksim.Options{
		OAuthToken:    "unused-static-token",
		OAuthClients:  []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret}},
		TokenLifetime: lifetime,
	}, wrap)
	now := time.Now()
	sim.Generate(50, now.Add(-time.Hour), now.Add(-time.Minute))
	return sim, ts.URL
}

func oauthOptions(baseURL string) zendesk.Options {
	opts := fastOptions(baseURL)
	opts.Credentials = zendesk.Credentials{Client: &zendesk.ClientCredentials{ClientID: testClientID, ClientSecret: testClientSecret}}
	return opts
}

func list(ctx context.Context, c *zendesk.Client) error {
	_, err := c.List(ctx, zendesk.ListParams{PageSize: 10})
	return err
}

func TestClientCredentialsOneTokenForConcurrentCalls(t *testing.T) {
	sim, base := newOAuthSim(t, 0, nil)
	c := newClient(t, oauthOptions(base))

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() { errs <- list(context.Background(), c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st := sim.Stats()
	assert.Equal(t, 1, st.TokenRequests, "32 concurrent calls wait for one token request")
	assert.Equal(t, 1, st.TokensIssued)
	assert.Equal(t, 32, st.ByStatus[http.StatusOK])
}

func TestTokenRenewedAQuarterOfItsLifeBeforeExpiry(t *testing.T) {
	sim, base := newOAuthSim(t, 400*time.Second, nil)
	c := newClient(t, oauthOptions(base))
	left, err := c.CheckToken(context.Background())
	require.NoError(t, err)
	assert.LessOrEqual(t, left, 340*time.Second, "renewed a minute (at most) before a 400 s token expires")
	assert.Greater(t, left, 330*time.Second)

	sim.SetTokenLifetime(8 * time.Second)
	sim.RevokeTokens()
	require.NoError(t, list(context.Background(), c))
	left, err = c.CheckToken(context.Background())
	require.NoError(t, err)
	assert.LessOrEqual(t, left, 6*time.Second, "a short token is renewed when a quarter of its life is left")
	assert.Greater(t, left, 4*time.Second)
}

// TestExpiringTokensAreRenewedWithoutA401Storm reads for a while with
// tokens that live one second, by one caller and by several at once: each
// token is renewed before it expires (or, if a request was slow, once it
// is refused), a token the API refused is never sent again, and each
// renewal is one token request.
func TestExpiringTokensAreRenewedWithoutA401Storm(t *testing.T) {
	for _, callers := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d callers", callers), func(t *testing.T) {
			sim, base := newOAuthSim(t, time.Second, nil)
			c := newClient(t, oauthOptions(base))
			start := time.Now()
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for sim.Stats().TokensIssued < 4 {
						assert.NoError(t, list(context.Background(), c))
					}
				})
			}
			wg.Wait()
			st := sim.Stats()
			assert.LessOrEqual(t, st.MaxRefusalsPerToken, 1, "no token sent again once refused: %+v", st)
			assert.Equal(t, st.TokensIssued, st.TokenRequests, "no token was asked for twice")
			// One at start, one per renewal (every 0.75 s), one per refusal.
			assert.LessOrEqual(t, st.TokensIssued, 2+int(time.Since(start)/(750*time.Millisecond))+st.ExpiredTokenRequests)
		})
	}
}

// TestRenewalRacesWithConcurrentCalls revokes the token again and again
// while workers call the API concurrently: every call succeeds, and each
// revocation costs exactly one token request however many calls were
// refused with the revoked token.
func TestRenewalRacesWithConcurrentCalls(t *testing.T) {
	sim, base := newOAuthSim(t, 0, nil)
	c := newClient(t, oauthOptions(base))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const workers = 8
	var done [workers]atomic.Int64
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := list(ctx, c); err != nil && ctx.Err() == nil {
					failures.Add(1)
					t.Errorf("worker %d: %v", w, err)
				}
				done[w].Add(1)
				if rand.IntN(3) == 0 {
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				}
			}
		})
	}
	// Each worker's call in flight at a revocation started after two calls
	// of its own that followed the previous revocation: no call meets two.
	waitTwoCalls := func() {
		var start [workers]int64
		for w := range workers {
			start[w] = done[w].Load()
		}
		require.Eventually(t, func() bool {
			for w := range workers {
				if done[w].Load() < start[w]+2 {
					return false
				}
			}
			return true
		}, time.Minute, time.Millisecond)
	}
	const revocations = 20
	waitTwoCalls()
	for range revocations {
		sim.RevokeTokens()
		waitTwoCalls()
	}
	cancel()
	wg.Wait()

	st := sim.Stats()
	assert.Zero(t, failures.Load())
	assert.Equal(t, revocations+1, st.TokensIssued, "one token at start and one per revocation: %+v", st)
	assert.Equal(t, st.TokensIssued, st.TokenRequests)
	assert.GreaterOrEqual(t, st.RevokedTokenRequests, revocations, "every revocation was noticed")
	assert.LessOrEqual(t, st.MaxRefusalsPerToken, workers, "a revoked token is refused at most once per call in flight")
}

func TestRevokedTokenIsRenewedOnceThenTheRequestRetried(t *testing.T) {
	sim, base := newOAuthSim(t, 0, nil)
	c := newClient(t, oauthOptions(base))
	require.NoError(t, list(context.Background(), c))
	sim.RevokeTokens()
	require.NoError(t, list(context.Background(), c), "401 before expiry: renewed, and the request sent again")
	st := sim.Stats()
	assert.Equal(t, 2, st.TokensIssued)
	assert.Equal(t, 1, st.RevokedTokenRequests)
	assert.Equal(t, 3, st.ListRequests)
}

func TestAFreshTokenRefusedIsAnErrorAfterOneRenewal(t *testing.T) {
	var sim *zendesksim.Server
	// The account refuses every token (a client deactivated after it was
	// issued one): the renewal is tried once, not in a loop.
	sim, base := newOAuthSim(t, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				sim.RevokeTokens()
			}
			h.ServeHTTP(w, r)
		})
	})
	c := newClient(t, oauthOptions(base))
	err := list(context.Background(), c)
	require.Error(t, err)
	assert.Equal(t, zendesk.KindAuth, zendesk.KindOf(err))
	assert.False(t, zendesk.OAuthClientRefused(err), "the API refused the token, not the token endpoint the client")
	assert.Contains(t, err.Error(), "OAuth client")
	st := sim.Stats()
	assert.Equal(t, 2, st.ListRequests)
	assert.Equal(t, 2, st.TokensIssued)
}

func TestTokenEndpointRefusingTheClientIsPermanent(t *testing.T) {
	tests := []struct {
		name      string
		creds     zendesk.ClientCredentials
		kind      zendesk.Kind
		wantHint  string
		wantError string
	}{
		{"wrong secret", zendesk.ClientCredentials{ClientID: testClientID, ClientSecret: "wrong-Secret-abcdef0123456789"},
			zendesk.KindAuth, "Admin Center > Apps and integrations > APIs > OAuth clients", "401 Unauthorized: invalid_client"},
		{"unknown client", zendesk.ClientCredentials{ClientID: "other", ClientSecret: testClientSecret},
			zendesk.KindAuth, "client credentials grant", "invalid_client"},
		{"scope not allowed", zendesk.ClientCredentials{ClientID: testClientID, ClientSecret: testClientSecret, Scope: "tickets:write"},
			zendesk.KindForbidden, "allow the client the scope", "400 Bad Request: invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, base := newOAuthSim(t, 0, nil)
			opts := oauthOptions(base)
			opts.Credentials.Client = &tc.creds
			c := newClient(t, opts)
			err := list(context.Background(), c)
			require.Error(t, err)
			assert.True(t, zendesk.OAuthClientRefused(err), "%v", err)
			assert.Equal(t, tc.kind, zendesk.KindOf(err))
			assert.False(t, zendesk.IsRetryable(err))
			assert.Contains(t, err.Error(), tc.wantHint)
			assert.Contains(t, err.Error(), tc.wantError)
			assert.NotContains(t, err.Error(), tc.creds.ClientSecret)
			assert.Equal(t, 1, sim.Stats().TokenRequests, "not asked again")
			assert.Zero(t, sim.Stats().Requests, "no API request without a token")
		})
	}
}

func TestTokenEndpointDownIsRetriedHonouringRetryAfter(t *testing.T) {
	sim, base := newOAuthSim(t, 0, nil)
	sim.SetTokenEndpointDown(http.StatusServiceUnavailable)
	var mu sync.Mutex
	var waits []time.Duration
	opts := oauthOptions(base)
	opts.MaxAttempts = 3
	opts.Hooks.OnWait = func(reason zendesk.WaitReason, d time.Duration) {
		if reason == zendesk.WaitRetryAfter {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		}
	}
	// No real wait: a clock of the client's own that a wait moves on.
	var clockMu sync.Mutex
	clock := time.Now()
	opts.Now = func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		return clock
	}
	opts.Sleep = func(ctx context.Context, d time.Duration) error {
		clockMu.Lock()
		clock = clock.Add(d)
		clockMu.Unlock()
		return ctx.Err()
	}
	c := newClient(t, opts)

	err := list(context.Background(), c)
	require.Error(t, err)
	assert.Equal(t, zendesk.KindServer, zendesk.KindOf(err))
	assert.True(t, zendesk.IsRetryable(err), "the caller (the receiver's next poll) tries again; its checkpoint stays")
	assert.False(t, zendesk.OAuthClientRefused(err))
	assert.Equal(t, 3, sim.Stats().TokenRequests, "one token request per attempt")
	mu.Lock()
	assert.Equal(t, []time.Duration{time.Second, time.Second}, waits, "the token endpoint's Retry-After was honoured")
	mu.Unlock()

	sim.SetTokenEndpointDown(0)
	require.NoError(t, list(context.Background(), c), "back up: the next call gets a token")
}

func TestConcurrentCallsDoNotStormADownTokenEndpoint(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	sim, base := newOAuthSim(t, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == zendesk.TokenPath {
				mu.Lock()
				arrivals = append(arrivals, time.Now())
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	sim.SetTokenEndpointDown(http.StatusTooManyRequests) // with Retry-After: 1
	opts := oauthOptions(base)
	opts.MaxAttempts = 1
	c := newClient(t, opts)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			<-start
			assert.Error(t, list(context.Background(), c))
		})
	}
	close(start)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, arrivals)
	// A call that waited for the failed request returns its error at once;
	// one that had not started yet waits for the Retry-After first.
	for i, at := range arrivals[1:] {
		assert.GreaterOrEqual(t, at.Sub(arrivals[0]), 950*time.Millisecond,
			"token request %d came %s after the refused one, within its Retry-After", i+2, at.Sub(arrivals[0]))
	}
}

// TestNoSecretOrTokenInErrors has the token endpoint and the API echo what
// they were sent into their error pages.
func TestNoSecretOrTokenInErrors(t *testing.T) {
	var echoToken, echoAPI atomic.Bool
	var issued atomic.Value
	sim, base := newOAuthSim(t, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == zendesk.TokenPath && echoToken.Load():
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write(append([]byte("upstream refused: "), body...))
			case strings.HasPrefix(r.URL.Path, "/api/") && echoAPI.Load():
				issued.Store(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte("upstream refused: " + r.Header.Get("Authorization")))
			default:
				h.ServeHTTP(w, r)
			}
		})
	})
	_ = sim
	opts := oauthOptions(base)
	opts.MaxAttempts = 1
	c := newClient(t, opts)

	echoToken.Store(true)
	err := list(context.Background(), c)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testClientSecret)
	assert.Contains(t, err.Error(), "[REDACTED]", "the echo was there, redacted")

	echoToken.Store(false)
	echoAPI.Store(true)
	err = list(context.Background(), c)
	require.Error(t, err)
	token, _ := issued.Load().(string)
	require.NotEmpty(t, token)
	assert.NotContains(t, err.Error(), token)
	assert.Contains(t, err.Error(), "[REDACTED]")
}

func TestClientCredentialsOptionsAreChecked(t *testing.T) {
	for name, cc := range map[string]zendesk.ClientCredentials{
		"no secret":           {ClientID: "a"},
		"no id":               {ClientSecret: "b"},
		"expires_in too low":  {ClientID: "a", ClientSecret: "b", ExpiresIn: 300},
		"token URL over http": {ClientID: "a", ClientSecret: "b", TokenURL: "http://acme.zendesk.com/oauth/tokens"},
		"token URL with user": {ClientID: "a", ClientSecret: "b", TokenURL: "https://u:p@acme.zendesk.com/oauth/tokens"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := zendesk.New(zendesk.Options{BaseURL: "https://acme.zendesk.com", Credentials: zendesk.Credentials{Client: &cc}})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "b\"")
		})
	}
	_, err := zendesk.New(zendesk.Options{BaseURL: "https://acme.zendesk.com", Credentials: zendesk.Credentials{
		Client: &zendesk.ClientCredentials{ClientID: "a", ClientSecret: "b"}, OAuthToken: "t"}})
	assert.Error(t, err, "a client and a token are exclusive")
}

func TestCloseEndsATokenRequestInFlight(t *testing.T) {
	arrived := make(chan struct{})
	_, base := newOAuthSim(t, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == zendesk.TokenPath {
				_, _ = io.Copy(io.Discard, r.Body) // then net/http watches the connection
				close(arrived)
				<-r.Context().Done() // hangs until the client goes away
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	opts := oauthOptions(base)
	opts.MaxAttempts = 1
	c := newClient(t, opts)
	errc := make(chan error, 1)
	go func() { errc <- list(context.Background(), c) }()
	<-arrived
	c.Close()
	select {
	case err := <-errc:
		assert.Equal(t, zendesk.KindNetwork, zendesk.KindOf(err))
	case <-time.After(time.Minute):
		t.Fatal("Close did not end the token request")
	}
}

// TestRefreshTokenGrantRotatesOncePerRenewal: with a refresh token, each
// renewal is one refresh_token grant, shared by concurrent calls, and the
// rotated refresh token is handed on before the new access token is used.
func TestRefreshTokenGrantRotatesOncePerRenewal(t *testing.T) {
	sim, base := newOAuthSim(t, 0, nil)
	initial := sim.IssueRefreshToken(testClientID)
	var mu sync.Mutex
	var rotated []string
	opts := oauthOptions(base)
	opts.Credentials.Client.RefreshToken = initial
	opts.Credentials.Client.OnRefreshToken = func(rt string) {
		mu.Lock()
		rotated = append(rotated, rt)
		mu.Unlock()
	}
	c := newClient(t, opts)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, list(context.Background(), c)) })
	}
	wg.Wait()
	sim.RevokeTokens() // the access token only: the refresh token still works
	require.NoError(t, list(context.Background(), c))

	st := sim.Stats()
	assert.Equal(t, 2, st.RefreshGrants, "one at start, one after the revocation")
	mu.Lock()
	require.Len(t, rotated, 2)
	assert.NotEqual(t, initial, rotated[0])
	assert.NotEqual(t, rotated[0], rotated[1])
	mu.Unlock()

	// A refresh token Zendesk no longer knows: permanent, with its hint.
	opts.Credentials.Client.RefreshToken = initial
	stale := newClient(t, opts)
	err := list(context.Background(), stale)
	require.Error(t, err)
	assert.True(t, zendesk.OAuthClientRefused(err))
	assert.Contains(t, err.Error(), "invalid_grant")
	assert.Contains(t, err.Error(), "refresh token")
	assert.NotContains(t, err.Error(), initial)
}

// TestCloseLetsARefreshInFlightFinish: Zendesk rotates the pair when it
// answers a refresh, so a refresh cut off by Close after Zendesk took it
// would leave only a refresh token that no longer works (a receiver
// stopped at that moment could not start again). The test holds a refresh
// grant at the server until Close was called, then lets the server
// answer: the rotated refresh token must still be handed on.
func TestCloseLetsARefreshInFlightFinish(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	sim, base := newOAuthSim(t, 0, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == zendesk.TokenPath {
				once.Do(func() { close(arrived); <-release })
			}
			h.ServeHTTP(w, r)
		})
	})
	initial := sim.IssueRefreshToken(testClientID)
	rotated := make(chan string, 1)
	opts := oauthOptions(base)
	opts.MaxAttempts = 1
	opts.Credentials.Client.RefreshToken = initial
	opts.Credentials.Client.OnRefreshToken = func(rt string) { rotated <- rt }
	c := newClient(t, opts)
	done := make(chan struct{})
	go func() { _ = list(context.Background(), c); close(done) }()
	<-arrived
	c.Close()
	close(release)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the call did not return after Close")
	}
	select {
	case rt := <-rotated:
		assert.NotEqual(t, initial, rt)
	default:
		t.Fatal("the refresh in flight at Close was cut off: its rotated refresh token was never handed on")
	}
	assert.Equal(t, 1, sim.Stats().RefreshGrants)
}
