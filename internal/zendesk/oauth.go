package zendesk

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

const (
	// TokenPath is where Zendesk issues OAuth access tokens.
	TokenPath = "/oauth/tokens"
	// DefaultScope is the scope asked for when none is configured: the
	// audit log, read only.
	DefaultScope = "auditlogs:read"
	// MinExpiresIn and MaxExpiresIn bound the token lifetime one may ask
	// of Zendesk, in seconds (both excluded).
	MinExpiresIn = 300
	MaxExpiresIn = 172800

	// OpToken names a token request in errors and hooks.
	OpToken = "token"
	// maxTokenBody caps a token response: a few hundred bytes expected.
	maxTokenBody = 64 << 10
	// maxRenewMargin is how long before its expiry a token is renewed at
	// most; shorter tokens are renewed when a quarter of their life is
	// left.
	maxRenewMargin = time.Minute
)

// ClientCredentials is a confidential OAuth client allowed the client
// credentials grant. The client asks Zendesk for an access token with it,
// reuses the token while it is valid, and asks for a new one before it
// expires or when the API refuses it.
type ClientCredentials struct {
	// TokenURL is where tokens are asked for; empty means the base URL
	// followed by /oauth/tokens.
	TokenURL string
	// ClientID is the OAuth client's identifier (not its name).
	ClientID     string
	ClientSecret string
	// Scope is space-separated; empty means DefaultScope.
	Scope string
	// ExpiresIn asks for a token lifetime in seconds (between MinExpiresIn
	// and MaxExpiresIn); 0 leaves it to Zendesk.
	ExpiresIn int

	// RefreshToken, when set, makes the grant refresh_token instead: for
	// a client that already holds an authorization-code token pair.
	// Zendesk answers with a new pair and invalidates the old one, so the
	// client keeps the rotated refresh token and tells OnRefreshToken,
	// which must keep it where a restart finds it.
	RefreshToken   string
	OnRefreshToken func(refreshToken string)
}

// tokenRequest is the body of a client credentials grant: Zendesk
// documents JSON for /oauth/tokens, where RFC 6749 (and oauth2's
// clientcredentials package) send a form.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	// ExpiresIn is seconds, a number or (as some servers send it) a
	// string; absent or unreadable means the token names no expiry, and is
	// used until the API refuses it.
	ExpiresIn json.RawMessage `json:"expires_in"`
}

// lifetime reads expires_in; 0 when it names none.
func (tr tokenResponse) lifetime() time.Duration {
	raw := strings.Trim(string(tr.ExpiresIn), `"`)
	secs, err := strconv.ParseFloat(raw, 64)
	if err != nil || secs <= 0 || secs > 10*365*24*3600 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// renewMargin is how long before its expiry a token of the given lifetime
// is renewed: a quarter of its life, at most maxRenewMargin.
func renewMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/4, maxRenewMargin)
}

// tokens hands out the access token the API requests carry. The caching
// and the renewal before expiry are oauth2.ReuseTokenSource's: one request
// for a token at a time, the others wait for it and share its answer.
// tokens adds what ReuseTokenSource lacks: dropping a token the API
// refused (revoked before its expiry), once for all the requests that
// carried it.
type tokens struct {
	fetch *tokenFetcher

	mu    sync.Mutex
	reuse oauth2.TokenSource
	// latest is the access token fetched last, "" once the API refused it.
	latest string
}

func newTokens(f *tokenFetcher) *tokens {
	t := &tokens{fetch: f}
	f.fetched = t.fetched
	t.reuse = t.newReuse()
	return t
}

// newReuse returns an empty cache. The renewal margin depends on each
// token's lifetime, so tokenFetcher puts it in the token's Expiry, and the
// cache's own margin is nil (1ns: 0 would mean oauth2's default of 10s).
func (t *tokens) newReuse() oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, t.fetch, time.Nanosecond)
}

func (t *tokens) token() (*oauth2.Token, error) {
	t.mu.Lock()
	r := t.reuse
	t.mu.Unlock()
	return r.Token()
}

func (t *tokens) fetched(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.latest = tok.AccessToken
}

// refuse drops tok if it is still the current token: the next request
// asks for a new one. Requests that carried the same token and were
// refused too find it dropped already, and wait for that one renewal.
func (t *tokens) refuse(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok.AccessToken != t.latest {
		return
	}
	t.latest = ""
	t.reuse = t.newReuse()
}

// tokenFetcher asks Zendesk for a token: the oauth2.TokenSource that
// ReuseTokenSource calls when its token is missing or about to expire.
type tokenFetcher struct {
	c     *Client
	url   string
	grant tokenRequest // holds the secret
	// onRefresh is ClientCredentials.OnRefreshToken.
	onRefresh func(string)
	// mu guards grant.RefreshToken, rotated by each refresh.
	mu   sync.Mutex
	http *http.Client
	// ctx ends with Client.Close, so that a token request in flight does
	// not hold up a shutdown.
	ctx context.Context
	// fetched is told of every token fetched.
	fetched func(*oauth2.Token)
}

var _ oauth2.TokenSource = (*tokenFetcher)(nil)

// Token sends one client credentials grant. Its errors are *Error with Op
// "token".
func (f *tokenFetcher) Token() (*oauth2.Token, error) {
	// A request that waited for another's failed renewal does not ask at
	// once again: it returns to its call's retry loop, which waits for the
	// hold the failure set (the server's Retry-After, or a backoff).
	if wait := f.c.holdLeft(OpToken); wait > 0 {
		return nil, &Error{Kind: KindRateLimited, Op: OpToken, RetryAfter: wait,
			Description: "a token request just failed; waiting before asking again"}
	}
	tok, apiErr := f.request()
	if apiErr != nil {
		if apiErr.Retryable() {
			f.c.holdUntil(scopeAccount, f.c.now().Add(max(apiErr.RetryAfter, f.c.opts.InitialBackoff/2)))
		}
		return nil, apiErr
	}
	if f.fetched != nil {
		f.fetched(tok)
	}
	return tok, nil
}

func (f *tokenFetcher) request() (tok *oauth2.Token, apiErr *Error) {
	f.mu.Lock()
	grant := f.grant
	f.mu.Unlock()
	base := f.ctx
	if grant.GrantType == grantRefreshToken {
		// Zendesk rotates the pair when it answers a refresh: one cut
		// off by Close after Zendesk answered would leave only a refresh
		// token it no longer accepts. A refresh in flight finishes (within
		// RequestTimeout) and its new refresh token is kept.
		base = context.WithoutCancel(f.ctx)
	}
	ctx, cancel := context.WithTimeout(base, f.c.opts.RequestTimeout)
	defer cancel()
	body, err := json.Marshal(grant)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Op: OpToken, Err: errors.New("encoding the token request failed")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Op: OpToken, Err: errors.New("building the token request failed")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", f.c.opts.UserAgent)
	status := 0
	var lifetime time.Duration
	defer func() {
		if apiErr != nil {
			f.c.redactError(apiErr)
		}
		f.c.hookRequest(OpToken, status, apiErr)
		if apiErr == nil && f.c.opts.Hooks.OnToken != nil {
			f.c.opts.Hooks.OnToken(lifetime)
		}
	}()
	resp, err := f.http.Do(req)
	if err != nil {
		kind := KindNetwork
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			kind = KindTLS
		}
		return nil, &Error{Kind: kind, Op: OpToken, Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	var buf bytes.Buffer
	readErr := readCapped(&buf, resp.Body, resp.ContentLength, maxTokenBody)
	received := time.Now() // oauth2 judges expiry on the wall clock
	if status < 200 || status > 299 {
		e := errorFromResponse(OpToken, status, resp.Header, []byte(f.c.redact(buf.String())), f.c.now())
		classifyTokenError(e)
		return nil, e
	}
	if readErr != nil {
		return nil, &Error{Kind: KindNetwork, Op: OpToken, StatusCode: status, Err: scrubURLError(readErr)}
	}
	var tr tokenResponse
	// The decoder's message is not kept: it may quote the body, which
	// holds the token.
	if json.Unmarshal(buf.Bytes(), &tr) != nil || tr.AccessToken == "" {
		return nil, &Error{Kind: KindDecode, Op: OpToken, StatusCode: status,
			Err: fmt.Errorf("the %d-byte answer is not a JSON object with an access_token", buf.Len())}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, &Error{Kind: KindDecode, Op: OpToken, StatusCode: status,
			Err: fmt.Errorf("token_type %q is not bearer", excerpt([]byte(tr.TokenType)))}
	}
	if grant.GrantType == grantRefreshToken && tr.RefreshToken != "" && tr.RefreshToken != grant.RefreshToken {
		// The old pair is invalid from now on: keep the new refresh
		// token before anything else.
		f.mu.Lock()
		f.grant.RefreshToken = tr.RefreshToken
		f.mu.Unlock()
		if f.onRefresh != nil {
			f.onRefresh(tr.RefreshToken)
		}
	}
	tok = &oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer"}
	if lifetime = tr.lifetime(); lifetime > 0 {
		// Expiry holds the renewal margin (see tokens.newReuse).
		tok.Expiry = received.Add(lifetime - renewMargin(lifetime))
	}
	return tok, nil
}

// grantRefreshToken is the grant of a client that holds a refresh token.
const grantRefreshToken = "refresh_token"

// refreshToken is the refresh token held now, "" with client credentials.
func (f *tokenFetcher) refreshToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grant.RefreshToken
}

// tokenErrorCodes are the OAuth errors (RFC 6749 §5.2) that asking again
// cannot fix: the client, its secret, its grants or its scopes are wrong.
var tokenErrorCodes = map[string]Kind{
	"invalid_client":         KindAuth,
	"unauthorized_client":    KindAuth,
	"invalid_grant":          KindAuth,
	"invalid_scope":          KindForbidden,
	"unsupported_grant_type": KindInvalid,
	"invalid_request":        KindInvalid,
}

func classifyTokenError(e *Error) {
	if e.StatusCode != http.StatusBadRequest && e.StatusCode != http.StatusUnauthorized && e.StatusCode != http.StatusForbidden {
		return
	}
	if k, ok := tokenErrorCodes[e.Code]; ok {
		e.Kind = k
	}
}

// tokenHint names what to fix in Admin Center when the token endpoint
// refused the client.
func tokenHint(e *Error) string {
	switch e.Kind {
	case KindAuth:
		if e.Code == "invalid_grant" {
			return "Zendesk refused the refresh token (used already, revoked or expired): authorize the OAuth client again " +
				"and give its new refresh_token; the receiver keeps the token it rotated to in its storage"
		}
		return "Zendesk refused the OAuth client: in Admin Center > Apps and integrations > APIs > OAuth clients, " +
			"check the client's identifier (client_id) and secret, that its kind is Confidential and that it allows the client credentials grant"
	case KindForbidden:
		return "Zendesk refused the scope: in Admin Center > Apps and integrations > APIs > OAuth clients, " +
			"allow the client the scope asked for (auditlogs:read, or read)"
	case KindInvalid:
		return "Zendesk refused the token request's shape: check token_url (it should end in /oauth/tokens)"
	case KindNotFound:
		return "no token endpoint there: check token_url, or the subdomain or endpoint"
	}
	return ""
}

// OAuthClientRefused reports whether err is the token endpoint refusing
// the OAuth client or its scope: asking again cannot help until someone
// changes the configuration or the client in Admin Center.
func OAuthClientRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == OpToken && (e.Kind == KindAuth || e.Kind == KindForbidden)
}

// newTokenFetcher prepares the grant. The token request never follows a
// redirect: the body holds the secret.
func newTokenFetcher(c *Client, cc ClientCredentials, ctx context.Context) (*tokenFetcher, error) {
	if cc.ClientID == "" || cc.ClientSecret == "" {
		return nil, errors.New("zendesk: client credentials need a client ID and a secret")
	}
	if cc.ExpiresIn != 0 && (cc.ExpiresIn <= MinExpiresIn || cc.ExpiresIn >= MaxExpiresIn) {
		return nil, fmt.Errorf("zendesk: expires_in must be above %d and below %d seconds, got %d", MinExpiresIn, MaxExpiresIn, cc.ExpiresIn)
	}
	tokenURL := cc.TokenURL
	if tokenURL == "" {
		tokenURL = c.base.String() + TokenPath
	} else if err := CheckTokenURL(tokenURL); err != nil {
		return nil, fmt.Errorf("zendesk: token URL %w", err)
	}
	if cc.Scope == "" {
		cc.Scope = DefaultScope
	}
	grant := tokenRequest{
		GrantType:    "client_credentials",
		ClientID:     cc.ClientID,
		ClientSecret: cc.ClientSecret,
		Scope:        cc.Scope,
		ExpiresIn:    cc.ExpiresIn,
	}
	if cc.RefreshToken != "" {
		grant.GrantType, grant.RefreshToken, grant.ExpiresIn = grantRefreshToken, cc.RefreshToken, 0
	}
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &tokenFetcher{c: c, url: tokenURL, grant: grant, onRefresh: cc.OnRefreshToken, http: &hc, ctx: ctx}, nil
}

// CheckTokenURL checks a token URL: https, or http to a loopback host,
// with no credentials, query or fragment.
func CheckTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL like https://acme.zendesk.com/oauth/tokens", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must hold no credentials, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("%q uses http: the secret would travel in clear text; use https (http is allowed only to a loopback host)", raw)
		}
	default:
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	}
	return nil
}
