package zendesksim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// tokenPath is where the simulator issues OAuth access tokens.
const tokenPath = "/oauth/tokens"

// DefaultTokenLifetime is the lifetime of an issued token when neither
// Options.TokenLifetime nor the request's expires_in names one: that of a
// new global OAuth client's tokens since 2026-02-02.
const DefaultTokenLifetime = 30 * time.Minute

// OAuthClient is a confidential OAuth client allowed the client
// credentials grant.
type OAuthClient struct {
	ID     string
	Secret string
	// Scopes it may ask for; nil means "read" and "auditlogs:read".
	Scopes []string
}

// issuedToken is an access token the simulator issued.
type issuedToken struct {
	clientID string
	expiry   time.Time
	revoked  bool
	// refused counts the API requests refused with it, but for those that
	// crossed the first refusal (see TokenRefusalCrossingWindow).
	refused      int
	firstRefusal time.Time
}

// TokenRefusalCrossingWindow: an API request refused for carrying an
// expired or revoked token within this time after the token's first
// refusal is not counted in Stats.MaxRefusalsPerToken. Requests of a
// client reading concurrently were sent before the first 401 reached it
// (they crossed on the wire); a client that keeps sending a token it was
// told is refused (a 401 storm) does so after.
const TokenRefusalCrossingWindow = time.Second

// tokenRequest is the grant the simulator accepts: JSON, as Zendesk
// documents.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Scope        string `json:"scope"`
	ExpiresIn    *int   `json:"expires_in"`
}

func oauthError(status int, code, description string) response {
	return jsonResponse(status, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description,omitempty"`
	}{code, description})
}

// serveToken answers POST /oauth/tokens. Faults apply to it as to the API
// (a token endpoint may be rate limited or down too).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	s.mu.Lock()
	s.stats.TokenRequests++
	var resp response
	switch fault, _ := s.drawFaultLocked(); {
	case r.Method != http.MethodPost:
		resp = methodNotAllowed(http.MethodPost)
	case s.tokenDown != 0:
		resp = errorResponse(s.tokenDown, "ServiceUnavailable", "the token endpoint is down")
		if s.tokenDown == http.StatusTooManyRequests || s.tokenDown == http.StatusServiceUnavailable {
			resp.header.Set("Retry-After", "1")
		}
	case fault != faultNone && fault != faultTruncated:
		resp = faultResponse(fault, s.faults.retryAfterSeconds())
	default:
		resp = s.grantLocked(r, body)
	}
	s.stats.TokenByStatus[resp.status]++
	s.mu.Unlock()
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (s *Server) grantLocked(r *http.Request, body []byte) response {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var req tokenRequest
	if mediaType != "application/json" || json.Unmarshal(body, &req) != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "the parameters must be formatted as JSON")
	}
	if req.GrantType != "client_credentials" && req.GrantType != "refresh_token" {
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials or refresh_token")
	}
	client, ok := s.oauthClients[req.ClientID]
	if !ok || subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(client.Secret)) != 1 {
		return oauthError(http.StatusUnauthorized, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
	}
	var pairOf *refreshPair
	if req.GrantType == "refresh_token" {
		s.stats.RefreshGrants++
		p, ok := s.refreshTokens[req.RefreshToken]
		if !ok || p.clientID != client.ID {
			return oauthError(http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, or revoked.")
		}
		// A refresh returns a new pair and invalidates the old one.
		delete(s.refreshTokens, req.RefreshToken)
		if old, ok := s.issued[p.accessToken]; ok {
			old.revoked = true
		}
		pairOf = &p
		if req.Scope == "" {
			req.Scope = "auditlogs:read"
		}
	}
	allowed := client.Scopes
	if allowed == nil {
		allowed = []string{"read", "auditlogs:read"}
	}
	scopes := strings.Fields(req.Scope)
	if len(scopes) == 0 {
		return oauthError(http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			return oauthError(http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
		}
	}
	lifetime := s.tokenLifetime
	if req.ExpiresIn != nil {
		if *req.ExpiresIn <= 300 || *req.ExpiresIn >= 172800 {
			return oauthError(http.StatusBadRequest, "invalid_request", "expires_in must be above 300 and below 172800")
		}
		if s.tokenLifetime == 0 {
			lifetime = time.Duration(*req.ExpiresIn) * time.Second
		}
	}
	if lifetime == 0 {
		lifetime = DefaultTokenLifetime
	}
	token := randomToken()
	s.issued[token] = &issuedToken{clientID: client.ID, expiry: s.now().Add(lifetime)}
	s.stats.TokensIssued++
	refresh := ""
	if pairOf != nil {
		refresh = randomToken()
		s.refreshTokens[refresh] = refreshPair{clientID: client.ID, accessToken: token}
	}
	return jsonResponse(http.StatusOK, struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		Scope        string `json:"scope"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token,omitempty"`
	}{token, "bearer", strings.Join(scopes, " "), int64(lifetime / time.Second), refresh})
}

func randomToken() string {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// refreshPair is a refresh token's client and the access token issued
// with it, which a refresh invalidates.
type refreshPair struct {
	clientID, accessToken string
}

// IssueRefreshToken returns a refresh token for the OAuth client, as the
// authorization code flow would give it (with no access token yet).
func (s *Server) IssueRefreshToken(clientID string) string {
	t := randomToken()
	s.AcceptRefreshToken(clientID, t)
	return t
}

// AcceptRefreshToken makes token a valid refresh token of the OAuth
// client, as [Server.IssueRefreshToken] does with a token of its own
// choosing: for a refresh token named in advance (the simulator's
// --oauth-refresh-token). Like any refresh token, a grant that uses it
// invalidates it.
func (s *Server) AcceptRefreshToken(clientID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshTokens[token] = refreshPair{clientID: clientID}
}

// bearerLocked checks an issued access token: ok, or the 401 to answer.
// It counts the refusals.
func (s *Server) bearerLocked(token string) (ok, known bool) {
	t, known := s.issued[token]
	if !known {
		return false, false
	}
	switch {
	case t.revoked:
		s.stats.RevokedTokenRequests++
	case !s.now().Before(t.expiry):
		s.stats.ExpiredTokenRequests++
	default:
		return true, true
	}
	now := s.now()
	switch {
	case t.refused == 0:
		t.refused, t.firstRefusal = 1, now
	case now.Sub(t.firstRefusal) > TokenRefusalCrossingWindow:
		t.refused++
	}
	s.stats.MaxRefusalsPerToken = max(s.stats.MaxRefusalsPerToken, t.refused)
	return false, true
}

// trackKey is the key Retry-After deadlines are kept under: the OAuth
// client for an issued token (its tokens change, the client does not),
// else the Authorization value.
func (s *Server) trackKeyLocked(authorization string) string {
	if token, ok := bearer(authorization); ok {
		if t, ok := s.issued[token]; ok {
			return "oauth-client:" + t.clientID
		}
	}
	return authorization
}

// bearer is the token of an Authorization value of the Bearer scheme.
func bearer(authorization string) (string, bool) {
	scheme, cred, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	return strings.TrimSpace(cred), true
}

// RevokeTokens revokes every access token issued so far: the API refuses
// them before their expiry, as after an admin revoked them.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.issued {
		t.revoked = true
	}
}

// SetTokenLifetime sets the lifetime of the tokens issued from now on; 0
// means the request's expires_in, or DefaultTokenLifetime.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// SetTokenEndpointDown makes the token endpoint answer status to every
// request (with Retry-After: 1 for 429 and 503); 0 restores it.
func (s *Server) SetTokenEndpointDown(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenDown = status
}

// SetOAuthClients replaces the OAuth clients allowed the client credentials
// grant. Tokens already issued stay valid.
func (s *Server) SetOAuthClients(clients ...OAuthClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setOAuthClientsLocked(clients)
}

func (s *Server) setOAuthClientsLocked(clients []OAuthClient) {
	s.oauthClients = make(map[string]OAuthClient, len(clients))
	for _, c := range clients {
		s.oauthClients[c.ID] = c
	}
}
