package zendesk

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

const (
	listPath = "/api/v2/audit_logs"

	// DefaultMaxBodyBytes caps a response body. A full page of 100 records
	// is about 60 KB.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxAttempts is how many requests one call makes at most.
	DefaultMaxAttempts = 5
	// DefaultRequestTimeout bounds one request, body included.
	DefaultRequestTimeout = time.Minute
	// DefaultMaxExportWait bounds how long Export waits for rate limits in
	// all: two turns of the export limit (one per minute).
	DefaultMaxExportWait = 2 * time.Minute
)

// Credentials authenticate requests. Set Client, or Email and APIToken,
// or OAuthToken, or nothing when the *http.Client authenticates by itself.
type Credentials struct {
	// Client is an OAuth client whose access tokens the client asks for
	// and renews by itself (client credentials grant).
	Client     *ClientCredentials
	Email      string
	APIToken   string
	OAuthToken string
}

func (c Credentials) authorization() string {
	switch {
	case c.OAuthToken != "":
		return "Bearer " + c.OAuthToken
	case c.APIToken != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Email+"/token:"+c.APIToken))
	}
	return ""
}

// WaitReason says why a call held back a request.
type WaitReason string

const (
	// WaitBudget is the client-side request budget.
	WaitBudget WaitReason = "budget"
	// WaitRetryAfter is a server's Retry-After.
	WaitRetryAfter WaitReason = "retry_after"
	// WaitRateLimitRemaining is pacing because the server said little of
	// the account's budget remains.
	WaitRateLimitRemaining WaitReason = "rate_limit_remaining"
	// WaitBackoff is the backoff before retrying a failure that named no
	// wait.
	WaitBackoff WaitReason = "backoff"
)

// Hooks observe the client, e.g. for metrics. Each may be nil. They are
// called synchronously and must be quick.
type Hooks struct {
	// OnRequest is called once per request sent, when its outcome is
	// known: the status code (0 when no response arrived) and the failure
	// (nil when the request succeeded; see Error.Type).
	OnRequest func(op string, statusCode int, err *Error)
	// OnWait is called before the client waits.
	OnWait func(reason WaitReason, d time.Duration)
	// OnRateLimit is called with what a response said of the budget.
	OnRateLimit func(RateLimit)
	// OnToken is called when an OAuth access token was issued, with its
	// lifetime (0 when Zendesk named none). Token requests are also
	// reported to OnRequest, with op "token".
	OnToken func(lifetime time.Duration)
}

// Options configure a Client.
type Options struct {
	// BaseURL is scheme://host[:port] of the Zendesk account, e.g.
	// https://acme.zendesk.com. Every request goes there and nowhere else.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with
	// RequestTimeout and a transport of its own, a clone of
	// http.DefaultTransport: whoever closes the default transport's idle
	// connections (httptest.Server.Close does) cannot break a request of
	// this client that just took one, which for an export (a POST) the
	// transport would not send again. A client built by confighttp keeps
	// its transport, TLS and authenticator.
	HTTPClient  *http.Client
	Credentials Credentials
	// RequestsPerMinute is a client-side budget; 0 means none.
	RequestsPerMinute int
	// MaxAttempts per call for retryable failures; 0 means
	// DefaultMaxAttempts, 1 disables retries.
	MaxAttempts int
	// InitialBackoff and MaxBackoff shape the exponential backoff (with
	// full jitter) used when a failure names no Retry-After. Defaults 1s
	// and 30s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// RequestTimeout bounds each request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxBodyBytes caps response bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxExportWait bounds how long Export waits for rate limits in all
	// before it gives up; 0 means DefaultMaxExportWait.
	MaxExportWait time.Duration
	UserAgent     string
	Hooks         Hooks
	// Now and Sleep are the client's clock, for tests: every wait (the
	// server's Retry-After, pacing, the budget, backoff) is measured with
	// Now and spent in Sleep. Nil means time.Now and a timer; Sleep must
	// return ctx.Err() once ctx is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls the Zendesk Audit Logs API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	auth    string
	opts    Options
	limiter *rate.Limiter // nil without a budget
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	// secrets are credential strings that must never appear in an error,
	// even when a server or proxy echoes them back.
	secrets []string
	// bodies holds the buffers response bodies are read into (see
	// getBody).
	bodies sync.Pool
	// pages holds pages of records given back with Recycle, for List to
	// decode into (see Recycle).
	pages sync.Pool

	// sending orders sending a request against setting a hold: a request
	// is handed to the transport under its read lock, after a last look
	// at the holds, and a hold is set under its write lock. A request is
	// therefore either under way before the client learnt of a
	// Retry-After (it crossed the 429 on the wire), or waits for it; a
	// check before the handover and the handover itself apart let a
	// request leave a few microseconds after a concurrent call had read a
	// 429 (issue #22).
	sending   sync.RWMutex
	mu        sync.Mutex
	notBefore time.Time // no request before this: Retry-After or pacing
	// exportNotBefore holds back export requests only: the export
	// endpoint's own limit (one per minute) says nothing of the account's.
	exportNotBefore time.Time
	rng             *rand.Rand

	// tokens is set with client credentials; closeTokens ends a token
	// request in flight.
	tokens      *tokens
	closeTokens context.CancelFunc
}

// New returns a client for the account at opts.BaseURL.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.BaseURL)
	if err != nil {
		return nil, errors.New("zendesk: base URL is not a URL")
	}
	if base.Scheme != "https" && base.Scheme != "http" || base.Host == "" {
		return nil, fmt.Errorf("zendesk: base URL must be http(s)://host, got scheme %q host %q", base.Scheme, base.Host)
	}
	if base.User != nil {
		return nil, errors.New("zendesk: base URL must not hold credentials")
	}
	base.Path, base.RawPath, base.RawQuery, base.Fragment = strings.TrimSuffix(base.Path, "/"), "", "", ""
	if opts.Credentials.APIToken != "" && opts.Credentials.Email == "" {
		return nil, errors.New("zendesk: an API token needs the email of its user")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxExportWait <= 0 {
		opts.MaxExportWait = DefaultMaxExportWait
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "zendesk-audit-logs-go"
	}
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	} else {
		hc = http.Client{Timeout: opts.RequestTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// Follow a redirect only on the same scheme and host: credentials
	// added by an authenticating transport would go along.
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("refusing a redirect to another scheme or host (%s://%s)", req.URL.Scheme, req.URL.Host)
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}
	c := &Client{
		base:  base,
		http:  &hc,
		auth:  opts.Credentials.authorization(),
		opts:  opts,
		now:   opts.Now,
		sleep: opts.Sleep,
		rng:   rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	// The encoded form first: it does not contain the token.
	if basic, ok := strings.CutPrefix(c.auth, "Basic "); ok {
		c.secrets = append(c.secrets, secretForms(basic)...)
	}
	for _, s := range []string{opts.Credentials.APIToken, opts.Credentials.OAuthToken} {
		if s != "" {
			c.secrets = append(c.secrets, secretForms(s)...)
		}
	}
	if cc := opts.Credentials.Client; cc != nil {
		if c.auth != "" {
			return nil, errors.New("zendesk: give an OAuth client or a token, not both")
		}
		ctx, cancel := context.WithCancel(context.Background())
		f, err := newTokenFetcher(c, *cc, ctx)
		if err != nil {
			cancel()
			return nil, err
		}
		c.tokens, c.closeTokens = newTokens(f), cancel
		c.secrets = append(c.secrets, secretForms(cc.ClientSecret)...)
		if cc.RefreshToken != "" {
			c.secrets = append(c.secrets, secretForms(cc.RefreshToken)...)
		}
	}
	if opts.RequestsPerMinute > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(float64(opts.RequestsPerMinute)/60), 1)
	}
	return c, nil
}

// BaseURL returns the base URL every request goes to.
func (c *Client) BaseURL() string { return c.base.String() }

// HasClientCredentials reports whether the client authenticates as an
// OAuth client (client credentials grant).
func (c *Client) HasClientCredentials() bool { return c.tokens != nil }

// Close ends a client credentials token request in flight (a refresh_token
// grant in flight finishes, within RequestTimeout, so that the refresh
// token Zendesk rotated to is not lost); the client asks for no token
// after it. It does nothing without OAuth client credentials.
func (c *Client) Close() {
	if c.closeTokens != nil {
		c.closeTokens()
	}
}

// CheckToken makes sure the client holds an access token, with client
// credentials, asking the token endpoint for one unless a valid one is
// cached, and returns how long until it is renewed (0 when Zendesk named
// no expiry). Without client credentials it returns 0 and nil. The token
// is kept for the next requests. The token request is bounded by the
// client's request timeout and by Close, not by ctx (requests that wait
// for the same token share it).
func (c *Client) CheckToken(ctx context.Context) (time.Duration, error) {
	if c.tokens == nil {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tok, err := c.tokens.token()
	if err != nil {
		return 0, err
	}
	if tok.Expiry.IsZero() {
		return 0, nil
	}
	return time.Until(tok.Expiry), nil
}

// call makes a request with retries and decodes a JSON success body into
// out (when out is not nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, out bodyDecoder) error {
	return c.do(ctx, method, path, q, out, c.opts.MaxAttempts)
}

// callOnce is call without retries.
func (c *Client) callOnce(ctx context.Context, method, path string, q url.Values, out bodyDecoder) error {
	return c.do(ctx, method, path, q, out, 1)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, out bodyDecoder, maxAttempts int) error {
	op := opName(method, path)
	u := *c.base
	u.Path = c.base.Path + path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	renewed := false
	for attempt := 1; ; attempt++ {
		if err := c.waitTurn(ctx, op); err != nil {
			return err
		}
		apiErr := c.once(ctx, op, method, u.String(), out)
		if apiErr == errHeldBack { // a hold was set since waitTurn looked
			attempt--
			continue
		}
		if apiErr == nil {
			return nil
		}
		apiErr.Attempts = attempt
		if apiErr.tokenRefused && !renewed && ctx.Err() == nil {
			// The API refused the access token before its expiry (revoked,
			// or a clock ahead of ours): once is the renewal's due, and
			// the same request goes again with the new token.
			renewed = true
			continue
		}
		if !apiErr.Retryable() || attempt >= maxAttempts || ctx.Err() != nil {
			return apiErr
		}
		delay, reason := apiErr.RetryAfter, WaitRetryAfter
		if delay == 0 {
			delay, reason = c.backoff(attempt), WaitBackoff
		}
		c.holdUntil(scopeAccount, c.now().Add(delay))
		c.hookWait(reason, delay)
	}
}

func opName(method, path string) string {
	switch {
	case method == http.MethodPost:
		return opExport
	case path == listPath:
		return "list"
	}
	return "show"
}

// waitTurn blocks until the client may send: the server's Retry-After or
// pacing, then the client-side budget, then once more the server's: a
// response to a concurrent call may have asked for a wait meanwhile.
func (c *Client) waitTurn(ctx context.Context, op string) error {
	if err := c.waitHold(ctx, op); err != nil {
		return err
	}
	if c.limiter != nil {
		now := c.now()
		r := c.limiter.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			c.hookWait(WaitBudget, d)
			if err := c.sleep(ctx, d); err != nil {
				r.CancelAt(c.now())
				return err
			}
		}
	}
	return c.waitHold(ctx, op)
}

// waitHold sleeps until no hold applies to op, however often it is
// extended while sleeping.
func (c *Client) waitHold(ctx context.Context, op string) error {
	for {
		wait := c.holdLeft(op)
		if wait <= 0 {
			return ctx.Err()
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// holdLeft is how long the holds that bind op still run.
func (c *Client) holdLeft(op string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	until := c.notBefore
	if op == opExport && c.exportNotBefore.After(until) {
		until = c.exportNotBefore
	}
	return until.Sub(c.now())
}

// tokenError is the *Error of a failed token request. ReuseTokenSource
// passes the fetcher's errors on as they are.
func tokenError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindUnknown, Op: OpToken, Err: err}
}

// holdScope says which requests a hold binds.
type holdScope int

const (
	// scopeAccount binds every request of this client: a 429 speaks for
	// the whole account, not only for the call that got it.
	scopeAccount holdScope = iota
	// scopeExport binds export requests only.
	scopeExport
)

const opExport = "export"

// holdUntil makes the requests of scope wait until t.
func (c *Client) holdUntil(scope holdScope, t time.Time) {
	c.sending.Lock() // after the requests being handed over (see sending)
	defer c.sending.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	hold := &c.notBefore
	if scope == scopeExport {
		hold = &c.exportNotBefore
	}
	if t.After(*hold) {
		*hold = t
	}
}

// retryAfterScope is the scope of a Retry-After in an error response. An
// export refused by the export endpoint's own limit binds exports only;
// the account-wide limit (APIRateLimitExceeded) and anything else bind
// every request.
func retryAfterScope(op string, e *Error) holdScope {
	if op == opExport && e.ExportLimited() {
		return scopeExport
	}
	return scopeAccount
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.InitialBackoff << min(attempt-1, 20)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Half fixed, half jitter: never zero, never in lockstep.
	return d/2 + time.Duration(c.rng.Int64N(int64(d/2)+1))
}

func (c *Client) hookWait(reason WaitReason, d time.Duration) {
	if c.opts.Hooks.OnWait != nil && d > 0 {
		c.opts.Hooks.OnWait(reason, d)
	}
}

// errHeldBack is what once returns, without sending, when a hold was set
// after the caller waited for the holds: the caller waits again.
var errHeldBack = &Error{Kind: KindRateLimited, Description: "held back by a Retry-After read meanwhile"}

// once sends one request and returns nil or an *Error (errHeldBack if it
// did not send).
func (c *Client) once(ctx context.Context, op, method, target string, out bodyDecoder) (apiErr *Error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, http.NoBody)
	if err != nil {
		return &Error{Kind: KindInvalid, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	var tok *oauth2.Token
	var changing []string // the access token: it changes, so it is not in c.secrets
	if c.tokens != nil {
		if tok, err = c.tokens.token(); err != nil {
			return tokenError(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		changing = []string{tok.AccessToken}
	}
	// The request is handed to the transport under the read lock of
	// c.sending, after a last look at the holds, and the lock is released
	// once it is under way (the transport getting a connection for it, or
	// at the latest when the round trip ended). Not before the token: its
	// request may set a hold.
	c.sending.RLock()
	handedOver := sync.OnceFunc(c.sending.RUnlock)
	defer handedOver()
	if c.holdLeft(op) > 0 {
		return errHeldBack
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GetConn: func(string) { handedOver() }}))
	status := 0 // until a response arrives
	defer func() {
		if apiErr != nil {
			c.redactError(apiErr, changing...)
		}
		c.hookRequest(op, status, apiErr)
	}()
	sent := c.now()
	resp, err := c.http.Do(req)
	// Do returns once the response's head is read: the API's answer time
	// without the body (see Page.Latency).
	answered := c.now().Sub(sent)
	handedOver() // before anything below sets a hold
	if err != nil {
		if resp != nil {
			// CheckRedirect refused a redirect (resp is the redirect, its
			// body closed): asking again would get the same answer.
			status = resp.StatusCode
			return &Error{Kind: KindUnknown, Op: op, StatusCode: resp.StatusCode, Err: scrubURLError(err)}
		}
		kind := KindNetwork
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			kind = KindTLS
		}
		return &Error{Kind: kind, Op: op, Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	c.observeRateLimit(resp.Header)

	buf := c.getBody()
	defer c.putBody(buf)
	readErr := readCapped(buf, resp.Body, resp.ContentLength, c.opts.MaxBodyBytes)
	roundTrip := c.now().Sub(sent)
	body := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Redacted before the excerpt is cut, so that no part of a
		// credential survives at its end; and after, for one that was
		// written with JSON escapes.
		apiErr := errorFromResponse(op, resp.StatusCode, resp.Header, []byte(c.redact(string(body), changing...)), c.now())
		if tok != nil {
			apiErr.oauthClient = true
			if resp.StatusCode == http.StatusUnauthorized {
				c.tokens.refuse(tok)
				apiErr.tokenRefused = true
			}
		}
		if apiErr.RetryAfter > 0 {
			// Kept for the next call too, retried or not.
			c.holdUntil(retryAfterScope(op, apiErr), c.now().Add(apiErr.RetryAfter))
		}
		return apiErr
	}
	switch {
	case errors.Is(readErr, errTooLarge):
		return &Error{Kind: KindTooLarge, Op: op, StatusCode: resp.StatusCode, Description: fmt.Sprintf("body over %d bytes", c.opts.MaxBodyBytes)}
	case readErr != nil:
		return &Error{Kind: KindNetwork, Op: op, StatusCode: resp.StatusCode, Err: scrubURLError(readErr)}
	}
	if out == nil {
		return nil
	}
	if err := out.decode(body); err != nil {
		return &Error{Kind: KindDecode, Op: op, StatusCode: resp.StatusCode, Err: fmt.Errorf("reading the %d-byte body: %w", len(body), err)}
	}
	if d, ok := out.(dated); ok {
		date, _ := http.ParseTime(resp.Header.Get("Date"))
		d.setResponse(date, roundTrip, answered)
	}
	return nil
}

// dated is a success body that keeps the response's Date header (the
// API's own clock, which the receiver's window follows), how long the
// answer took (body read) and how long until its head arrived (the
// latency, see Page.Latency).
type dated interface {
	setResponse(date time.Time, roundTrip, latency time.Duration)
}

func (c *Client) hookRequest(op string, status int, err *Error) {
	if c.opts.Hooks.OnRequest != nil {
		c.opts.Hooks.OnRequest(op, status, err)
	}
}

// redact replaces any credential in s, e.g. echoed by a proxy in an error
// page.
// extra are credentials that change (an access token): redacted in the
// same forms.
func (c *Client) redact(s string, extra ...string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	if c.tokens != nil {
		// The refresh token rotates.
		if rt := c.tokens.fetch.refreshToken(); rt != "" {
			extra = append(extra, rt)
		}
	}
	for _, secret := range extra {
		if secret == "" {
			continue
		}
		for _, form := range secretForms(secret) {
			s = strings.ReplaceAll(s, form, "[REDACTED]")
		}
	}
	return s
}

// secretForms are the ways a credential can be written in what a response
// makes of it: as sent, in a JSON pointer (a decode error's path names the
// member it failed in, "/" written "~1" and "~" "~0"), and in a JSON
// string with "/" escaped.
func secretForms(s string) []string {
	forms := []string{s}
	for _, f := range []string{
		strings.NewReplacer("~", "~0", "/", "~1").Replace(s),
		strings.ReplaceAll(s, "/", `\/`),
	} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// redactError removes every credential from what e says: a server or a
// proxy may echo one back in a body, a header or a JSON member name, and
// e ends up in logs and component status. An underlying error whose text
// held one is replaced by its redacted text.
func (c *Client) redactError(e *Error, extra ...string) *Error {
	e.Code, e.Description = c.redact(e.Code, extra...), c.redact(e.Description, extra...)
	if e.Err != nil {
		if msg := e.Err.Error(); c.redact(msg, extra...) != msg {
			e.Err = errors.New(c.redact(msg, extra...))
		}
	}
	return e
}

// exportRateLimitHeader is the export endpoint's own limit (one per minute):
// "remaining=0" after every export, which says nothing of the account.
const exportRateLimitHeader = "Zendesk-Ratelimit-Audit-Logs-Export"

// observeRateLimit reports the account's rate-limit headers and paces the
// client when little of the budget remains.
func (c *Client) observeRateLimit(h http.Header) {
	if _, ok := h[exportRateLimitHeader]; ok {
		h = h.Clone()
		h.Del(exportRateLimitHeader)
	}
	rl := parseRateLimit(h)
	if rl.Remaining < 0 {
		return
	}
	if c.opts.Hooks.OnRateLimit != nil {
		c.opts.Hooks.OnRateLimit(rl)
	}
	if d := rl.paceDelay(); d > 0 {
		c.holdUntil(scopeAccount, c.now().Add(d))
		c.hookWait(WaitRateLimitRemaining, d)
	}
}

var errTooLarge = errors.New("body too large")

// readCapped reads at most limit bytes into buf; a longer body is
// errTooLarge. A declared length (-1 when unknown) sizes the buffer once,
// within the cap: it is a hint, never trusted for the cap itself.
func readCapped(buf *bytes.Buffer, r io.Reader, declared, limit int64) error {
	if declared > 0 {
		buf.Grow(int(min(declared, limit)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		buf.Reset()
		return errTooLarge
	}
	return nil
}

// Response bodies are read into pooled buffers: a drain reads one page
// after another, and a new buffer for each page was a fifth of the bytes
// it allocated. Nothing decoded from a body refers to its bytes (the
// decoders copy; TestDecodedRecordsDoNotAliasTheBody), so a buffer goes
// back once its body is decoded. A buffer grown past maxPooledBody (a
// large export response) is left to the garbage collector.
const maxPooledBody = 1 << 20

func (c *Client) getBody() *bytes.Buffer {
	if b, ok := c.bodies.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (c *Client) putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	c.bodies.Put(b)
}

// scrubURLError drops the URL from a *url.Error: it holds no secret here,
// but the operation already names the endpoint, and the message stays
// short.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bodyDecoder is a success body: one of the body types of page.go.
type bodyDecoder interface{ decode([]byte) error }
