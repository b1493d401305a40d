package main

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	testClientID     = "cli-audit-client"
	testClientSecret = "Cli-Client-S3cret-77aa"
)

// newOAuthAPI serves a simulator that knows one OAuth client (and no API
// token), and an environment that uses that client.
func newOAuthAPI(t *testing.T) *testAPI {
	t.Helper()
	sim := zendesksim.New(zendesksim.Options{
		Seed:         1,
		OAuthToken:   "unused-static-token-0000",
		OAuthClients: []zendesksim.OAuthClient{{ID: testClientID, Secret: testClientSecret}},
	})
	sim.Add(handRecords()...)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return &testAPI{sim: sim, url: ts.URL, env: map[string]string{
		envEndpoint:          ts.URL,
		envOAuthClientID:     testClientID,
		envOAuthClientSecret: testClientSecret,
	}}
}

func TestListWithTheOAuthClientOfTheEnvironment(t *testing.T) {
	a := newOAuthAPI(t)
	r := a.run(t, "list", "--limit", "3")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Len(t, parseLines(t, r.stdout), 3)
	assert.NotContains(t, r.stdout+r.stderr, testClientSecret)
	st := a.sim.Stats()
	assert.Equal(t, 1, st.TokensIssued)
}

func TestOAuthClientSecretAsAFlagWarns(t *testing.T) {
	a := newOAuthAPI(t)
	env := map[string]string{envEndpoint: a.url, envEmail: "someone@example.com", envAPIToken: testToken}
	r := runCLI(t, env, "list", "--limit", "1", "--oauth-client-id", testClientID, "--oauth-client-secret", testClientSecret)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "zendesk-audit: warning: a secret given with --oauth-client-secret lands in the shell history and the process list; set ZENDESK_OAUTH_CLIENT_SECRET instead\n", r.stderr,
		"the flags beat the API token of the environment")
	assert.NotContains(t, r.stdout+r.stderr, testClientSecret)
}

func TestOAuthClientErrors(t *testing.T) {
	a := newOAuthAPI(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"wrong secret", map[string]string{envEndpoint: a.url, envOAuthClientID: testClientID, envOAuthClientSecret: "Wrong-Secret-99"}, nil, 2,
			[]string{"401 Unauthorized: invalid_client", "Admin Center > Apps and integrations > APIs > OAuth clients"}},
		{"scope refused", map[string]string{envEndpoint: a.url, envOAuthClientID: testClientID, envOAuthClientSecret: testClientSecret},
			[]string{"--oauth-scope", "tickets:write"}, 2, []string{"invalid_scope", "allow the client the scope"}},
		{"no identifier", map[string]string{envEndpoint: a.url, envOAuthClientSecret: testClientSecret}, nil, 1,
			[]string{"needs the client's identifier"}},
		{"no secret", map[string]string{envEndpoint: a.url, envOAuthClientID: testClientID}, nil, 1,
			[]string{"needs its secret", envOAuthClientSecret}},
		{"two kinds", map[string]string{envEndpoint: a.url, envOAuthClientID: testClientID, envOAuthClientSecret: testClientSecret, envOAuthToken: oauthToken}, nil, 1,
			[]string{"an OAuth client and an OAuth token are both given"}},
		{"none", map[string]string{envEndpoint: a.url}, nil, 1, []string{"no credentials", envOAuthClientID, envOAuthClientSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, append([]string{"list", "--limit", "1"}, tc.args...)...)
			assert.Equal(t, tc.code, r.code, r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stderr, testClientSecret)
			assert.NotContains(t, r.stderr, "Wrong-Secret-99")
		})
	}
}

func TestCheckOAuthClient(t *testing.T) {
	a := newOAuthAPI(t)
	c, err := zendesk.New(zendesk.Options{BaseURL: a.url, Credentials: zendesk.Credentials{
		Client: &zendesk.ClientCredentials{ClientID: testClientID, ClientSecret: testClientSecret}}})
	require.NoError(t, err)
	applies, detail, err := checkOAuthClient(context.Background(), c)
	require.NoError(t, err)
	assert.True(t, applies)
	assert.Contains(t, detail, "renewed in 29m0s", "a 30-minute token is renewed a minute before it expires")

	bad, err := zendesk.New(zendesk.Options{BaseURL: a.url, Credentials: zendesk.Credentials{
		Client: &zendesk.ClientCredentials{ClientID: testClientID, ClientSecret: "nope", Scope: "auditlogs:read"}}})
	require.NoError(t, err)
	applies, _, err = checkOAuthClient(context.Background(), bad)
	assert.True(t, applies)
	assert.True(t, zendesk.OAuthClientRefused(err))

	token, err := zendesk.New(zendesk.Options{BaseURL: a.url, Credentials: zendesk.Credentials{OAuthToken: "x"}})
	require.NoError(t, err)
	applies, _, err = checkOAuthClient(context.Background(), token)
	assert.False(t, applies)
	assert.NoError(t, err)
}
