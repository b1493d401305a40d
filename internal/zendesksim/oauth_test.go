package zendesksim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testClient = OAuthClient{ID: "collector", Secret: "client-secret"}

// postToken sends a token request with the given content type and body.
func postToken(t *testing.T, base, contentType, body string) result {
	t.Helper()
	return send(t, http.MethodPost, base+tokenPath, http.Header{"Content-Type": {contentType}}, strings.NewReader(body))
}

const grant = `{"grant_type":"client_credentials","client_id":"collector","client_secret":"client-secret","scope":"auditlogs:read"}`

func TestTokenEndpointIssuesTokensForAJSONGrant(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now, OAuthClients: []OAuthClient{testClient}, TokenLifetime: 5 * time.Second})
	sim.Add(recordAt(100, t0.Add(-time.Hour)))

	r := postToken(t, base, "application/json", grant)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	assert.Equal(t, "bearer", m["token_type"])
	assert.Equal(t, "auditlogs:read", m["scope"])
	assert.InDelta(t, 5, m["expires_in"], 0)
	token := m["access_token"].(string)
	require.NotEmpty(t, token)

	list := base + "/api/v2/audit_logs"
	assert.Equal(t, http.StatusOK, do(t, http.MethodGet, list, "Bearer "+token).status, "valid until its expiry")
	clock.Advance(5 * time.Second)
	r = do(t, http.MethodGet, list, "Bearer "+token)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.JSONEq(t, `{"error":"invalid_token","error_description":"The access token is invalid or has expired"}`, string(r.body))
	do(t, http.MethodGet, list, "Bearer "+token) // crossed the first refusal
	clock.Advance(TokenRefusalCrossingWindow + time.Millisecond)
	do(t, http.MethodGet, list, "Bearer "+token) // sent again after it: a storm

	st := sim.Stats()
	assert.Equal(t, 1, st.TokenRequests)
	assert.Equal(t, 1, st.TokensIssued)
	assert.Equal(t, 3, st.ExpiredTokenRequests)
	assert.Equal(t, 2, st.MaxRefusalsPerToken, "the same expired token, refused again after the crossing window")
	assert.Equal(t, 4, st.Requests, "token requests are not API requests")
}

func TestTokenEndpointRefusesWhatZendeskRefuses(t *testing.T) {
	sim, base := newTestServer(t, Options{OAuthClients: []OAuthClient{testClient, {ID: "narrow", Secret: "s", Scopes: []string{"read"}}}})
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"form body", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=collector&client_secret=client-secret", 400, "invalid_request"},
		{"not JSON", "application/json", "grant_type=client_credentials", 400, "invalid_request"},
		{"other grant", "application/json", `{"grant_type":"password","client_id":"collector","client_secret":"client-secret","scope":"read"}`, 400, "unsupported_grant_type"},
		{"wrong secret", "application/json", strings.Replace(grant, "client-secret", "nope", 1), 401, "invalid_client"},
		{"unknown client", "application/json", strings.Replace(grant, `"collector"`, `"other"`, 1), 401, "invalid_client"},
		{"scope not allowed", "application/json", `{"grant_type":"client_credentials","client_id":"narrow","client_secret":"s","scope":"auditlogs:read"}`, 400, "invalid_scope"},
		{"unknown scope", "application/json", strings.Replace(grant, "auditlogs:read", "tickets:write", 1), 400, "invalid_scope"},
		{"expires_in too short", "application/json", strings.Replace(grant, `}`, `,"expires_in":300}`, 1), 400, "invalid_request"},
		{"expires_in too long", "application/json", strings.Replace(grant, `}`, `,"expires_in":172800}`, 1), 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postToken(t, base, tc.contentType, tc.body)
			assert.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.json(t)["error"])
			assert.NotContains(t, string(r.body), "client-secret")
		})
	}
	assert.Zero(t, sim.Stats().TokensIssued)
}

func TestTokenLifetimeFollowsExpiresInUnlessSet(t *testing.T) {
	_, base := newTestServer(t, Options{OAuthClients: []OAuthClient{testClient}})
	r := postToken(t, base, "application/json", strings.Replace(grant, `}`, `,"expires_in":600}`, 1))
	require.Equal(t, http.StatusOK, r.status)
	assert.InDelta(t, 600, r.json(t)["expires_in"], 0)
	r = postToken(t, base, "application/json", grant)
	assert.InDelta(t, DefaultTokenLifetime.Seconds(), r.json(t)["expires_in"], 0)
}

func TestRevokedTokensAndADownTokenEndpoint(t *testing.T) {
	sim, base := newTestServer(t, Options{OAuthClients: []OAuthClient{testClient}})
	token := postToken(t, base, "application/json", grant).json(t)["access_token"].(string)
	list := base + "/api/v2/audit_logs"
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, list, "Bearer "+token).status)

	require.Equal(t, http.StatusOK, post(t, base+"/_sim/oauth", `{"revoke":true,"down":503}`).status)
	assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, list, "Bearer "+token).status, "revoked before its expiry")
	r := postToken(t, base, "application/json", grant)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "1", r.header.Get("Retry-After"))

	require.Equal(t, http.StatusOK, post(t, base+"/_sim/oauth", `{"down":0,"token_lifetime":"2s"}`).status)
	r = postToken(t, base, "application/json", grant)
	require.Equal(t, http.StatusOK, r.status)
	assert.InDelta(t, 2, r.json(t)["expires_in"], 0)

	st := sim.Stats()
	assert.Equal(t, 1, st.RevokedTokenRequests)
	assert.Equal(t, map[int]int{200: 2, 503: 1}, st.TokenByStatus)
	assert.Equal(t, http.StatusBadRequest, post(t, base+"/_sim/oauth", `{"down":200}`).status)
	assert.Equal(t, http.StatusBadRequest, post(t, base+"/_sim/oauth", `{"lifetime":"2s"}`).status, "unknown field")
}

func TestRefreshTokenGrantRotatesThePair(t *testing.T) {
	sim, base := newTestServer(t, Options{OAuthClients: []OAuthClient{testClient}})
	first := sim.IssueRefreshToken(testClient.ID)
	refresh := func(rt string) result {
		return postToken(t, base, "application/json",
			`{"grant_type":"refresh_token","refresh_token":"`+rt+`","client_id":"collector","client_secret":"client-secret"}`)
	}
	r := refresh(first)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	second, access := m["refresh_token"].(string), m["access_token"].(string)
	require.NotEmpty(t, second)
	assert.NotEqual(t, first, second)
	list := base + "/api/v2/audit_logs"
	assert.Equal(t, http.StatusOK, do(t, http.MethodGet, list, "Bearer "+access).status)

	r = refresh(first)
	assert.Equal(t, http.StatusBadRequest, r.status, "a used refresh token is invalid")
	assert.Equal(t, "invalid_grant", r.json(t)["error"])

	r = refresh(second)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, list, "Bearer "+access).status, "the old pair's access token is invalid too")
	assert.Equal(t, 3, sim.Stats().RefreshGrants)
}
