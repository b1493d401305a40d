package zendesksim

import (
	"cmp"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// Email and APIToken enable API-token auth:
	// Authorization: Basic base64(email + "/token:" + APIToken).
	Email    string
	APIToken string
	// OAuthToken enables Authorization: Bearer <token>. Either kind is
	// accepted when configured.
	OAuthToken string
	// OAuthClients may ask POST /oauth/tokens for access tokens with the
	// client credentials grant; the API accepts those tokens until they
	// expire or are revoked.
	OAuthClients []OAuthClient
	// TokenLifetime is the lifetime of the tokens issued; 0 means the
	// request's expires_in, or DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Seed makes data and fault draws deterministic.
	Seed int64
	// Now defaults to time.Now; it dates live arrivals and drives budget
	// windows, the export limit and Retry-After tracking.
	Now func() time.Time
	// ClockOffset is added to Now: the simulated API's clock runs this much
	// ahead of it (behind when negative). It dates live arrivals and the
	// Date header of every API response, so a client whose clock differs
	// from the API's can be tried.
	ClockOffset time.Duration
	Faults      Faults
	// LinksBaseURL, if set, is the scheme://host used in links.next/prev and
	// next_page/previous_page instead of the request's own (to test that a
	// client does not follow foreign hosts). Record urls keep the request's
	// own base.
	LinksBaseURL string
	// MistypedFraction (0..1) of the generated records carry one field
	// with a value of an unexpected JSON type ("actor_id":"system", ...;
	// see MistypedKinds), as a Zendesk whose schema drifted would send.
	MistypedFraction float64
	// RetryAfterCrossingWindow is how soon after a Retry-After was sent a
	// request with the same credentials counts as having crossed it (see
	// Stats.RetryAfterCrossings); 0 means RetryAfterCrossingWindow. It is
	// measured from the request's arrival, or from when the client sent
	// it if the request says so in a SentAtHeader.
	RetryAfterCrossingWindow time.Duration
}

// SentAtHeader is a request header a test's client may set to when it sent
// the request (RFC 3339 with nanoseconds, on the simulator's clock): a
// request then counts as crossing a Retry-After by when it was sent, not by
// when it arrived. Under load a request sent before the client read a 429
// can arrive well after it: the 429 itself takes time to reach the client
// (91-117 ms were seen under -race on a loaded 2-core machine, issue #22),
// and so does the request.
const SentAtHeader = "X-Zendesk-Sim-Sent-At"

// Server simulates the Zendesk Audit Logs API. It implements http.Handler.
// All methods are safe for concurrent use.
type Server struct {
	now       func() time.Time
	linksBase string

	mu sync.Mutex

	// credentials and modes
	email, apiToken, oauthToken string
	forbidden                   bool
	faults                      Faults

	// OAuth (oauth.go)
	oauthClients  map[string]OAuthClient
	issued        map[string]*issuedToken
	refreshTokens map[string]refreshPair
	tokenLifetime time.Duration
	tokenDown     int // the status the token endpoint answers, 0 when up

	// store: recs sorted by (CreatedAt, ID); byID for show.
	recs   []Record
	byID   map[int64]Record
	nextID int64

	dataRNG, faultRNG, saltRNG *rand.Rand
	offsetSalt                 uint64

	// schema drift (mistyped.go)
	mistypedFraction float64
	mistypedRNG      *rand.Rand
	mistypedNext     int

	// account rate limit: fixed minute windows.
	windowStart time.Time
	windowUsed  int
	// export limit: one per 60s.
	lastExport time.Time
	// Retry-After deadlines by scope + Authorization value.
	deadlines map[string]deadline
	// crossingWindow is Options.RetryAfterCrossingWindow or its default.
	crossingWindow time.Duration
	// inFlight is the number of API requests being answered.
	inFlight int

	stats Stats

	// live arrivals
	live        *liveLoop
	liveRunning int
	liveCond    *sync.Cond
}

// New returns a Server with no records.
func New(opts Options) *Server {
	seed := uint64(opts.Seed)
	s := &Server{
		now:        opts.Now,
		linksBase:  strings.TrimSuffix(opts.LinksBaseURL, "/"),
		email:      opts.Email,
		apiToken:   opts.APIToken,
		oauthToken: opts.OAuthToken,
		faults:     opts.Faults,
		byID:       make(map[int64]Record),
		dataRNG:    rand.New(rand.NewPCG(seed, 0x64617461)), // "data"
		faultRNG:   rand.New(rand.NewPCG(seed, 0x6661756c)), // "faul"
		saltRNG:    rand.New(rand.NewPCG(seed, 0x73616c74)), // "salt"

		mistypedFraction: opts.MistypedFraction,
		mistypedRNG:      rand.New(rand.NewPCG(seed, 0x74797065)), // "type"
		deadlines:        make(map[string]deadline),
		stats:            newStats(),
		issued:           make(map[string]*issuedToken),
		refreshTokens:    make(map[string]refreshPair),
		tokenLifetime:    opts.TokenLifetime,
		crossingWindow:   cmp.Or(opts.RetryAfterCrossingWindow, RetryAfterCrossingWindow),
	}
	s.setOAuthClientsLocked(opts.OAuthClients)
	if s.now == nil {
		s.now = time.Now
	}
	if off := opts.ClockOffset; off != 0 {
		base := s.now
		s.now = func() time.Time { return base().Add(off) }
	}
	s.liveCond = sync.NewCond(&s.mu)
	s.nextID = 100_000_000_000 + s.dataRNG.Int64N(1_000_000_000)
	s.offsetSalt = s.saltRNG.Uint64()
	return s
}

// Now is the simulated API's clock: Options.Now plus Options.ClockOffset.
func (s *Server) Now() time.Time { return s.now() }

// SetCredentials replaces the accepted credentials at runtime.
func (s *Server) SetCredentials(email, apiToken, oauthToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.email, s.apiToken, s.oauthToken = email, apiToken, oauthToken
}

// SetForbidden makes every authenticated request answer 403, like an
// account without audit log access.
func (s *Server) SetForbidden(forbidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = forbidden
}

// ServeHTTP serves the API and the /_sim admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveAdmin(w, r)
		return
	}
	if r.URL.Path == tokenPath {
		s.serveToken(w, r)
		return
	}
	s.serveAPI(w, r)
}

// response is a fully built HTTP answer, written in one go so faults such
// as truncation can be applied to it.
type response struct {
	status int
	header http.Header
	body   []byte
	// records is the number of audit logs in body (for Stats.RecordsServed).
	records int
	// retryScope is the scope a Retry-After header in this response applies
	// to (scopeAPI or scopeExport).
	retryScope string
}

const jsonContentType = "application/json; charset=utf-8"

func jsonResponse(status int, v any) response {
	body, err := json.Marshal(v)
	if err != nil {
		return textResponse(http.StatusInternalServerError, "text/plain; charset=utf-8", err.Error())
	}
	return response{status: status, header: http.Header{"Content-Type": {jsonContentType}}, body: body}
}

func textResponse(status int, contentType, body string) response {
	return response{status: status, header: http.Header{"Content-Type": {contentType}}, body: []byte(body)}
}

type apiError struct {
	Error       string `json:"error"`
	Description string `json:"description,omitempty"`
}

func errorResponse(status int, code, description string) response {
	return jsonResponse(status, apiError{Error: code, Description: description})
}

func (e *apiError) response() response {
	return errorResponse(http.StatusBadRequest, e.Error, e.Description)
}

func invalidValue(desc string) *apiError { return &apiError{"InvalidValue", desc} }

func invalidPagination(desc string) *apiError { return &apiError{"InvalidPaginationParameter", desc} }

// route identifies an API endpoint.
type routeKind int

const (
	routeNone routeKind = iota
	routeList
	routeShow
	routeExport
)

type route struct {
	kind   routeKind
	id     string // show only
	method string // the method the endpoint answers
}

const apiPrefix = "/api/v2/audit_logs"

func matchRoute(path string) route {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return route{}
	}
	if rest == "" || rest == ".json" {
		return route{kind: routeList, method: http.MethodGet}
	}
	seg, ok := strings.CutPrefix(rest, "/")
	if !ok {
		return route{}
	}
	seg = strings.TrimSuffix(seg, ".json")
	switch {
	case seg == "" || strings.Contains(seg, "/"):
		return route{}
	case seg == "export":
		return route{kind: routeExport, method: http.MethodPost}
	}
	return route{kind: routeShow, id: seg, method: http.MethodGet}
}

// plan is what the locked admission phase of a request decided.
type plan struct {
	early      *response // answer without running the handler
	slow       time.Duration
	fault      faultKind
	retryAfter int // seconds, for fault responses
	rateLimit  http.Header
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt := matchRoute(r.URL.Path)
	authorization := r.Header.Get("Authorization")
	p, authKey := s.admit(r, rt, authorization)

	if p.slow > 0 {
		t := time.NewTimer(p.slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.finish(authKey, response{status: statusClientClosed})
			return
		}
	}

	var resp response
	switch {
	case p.early != nil:
		resp = *p.early
	case p.fault != faultNone && p.fault != faultTruncated:
		resp = faultResponse(p.fault, p.retryAfter)
	default:
		resp = s.handle(r, rt)
		if p.fault == faultTruncated && resp.status == http.StatusOK && len(resp.body) > 1 {
			resp.body = resp.body[:len(resp.body)/2]
			resp.records = 0
		}
	}
	// Record before writing, so Stats reflect a response as soon as the
	// client has it.
	s.finish(authKey, resp)
	// The API's clock, as Zendesk's servers send it (net/http would
	// send the machine's).
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	for k, v := range p.rateLimit {
		w.Header()[k] = v
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// statusClientClosed is recorded when the client went away while a slow
// fault delayed its request.
const statusClientClosed = 499

// admit runs the locked part of a request: stats, Retry-After tracking,
// routing, auth, budget and fault draws.
// It returns the key under which the request's credentials are tracked.
func (s *Server) admit(r *http.Request, rt route, authorization string) (plan, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	authKey := s.trackKeyLocked(authorization)
	now := s.now()
	s.stats.Requests++
	s.inFlight++
	s.stats.PeakInFlight = max(s.stats.PeakInFlight, s.inFlight)
	s.checkViolationLocked(authKey, rt.kind == routeExport, now, sentAt(r, now))
	s.rollWindowLocked(now)
	p := s.admitLocked(r, rt, authorization, now)
	p.rateLimit = s.rateLimitHeadersLocked(now)
	return p, authKey
}

func (s *Server) admitLocked(r *http.Request, rt route, authorization string, now time.Time) plan {
	var p plan

	if rt.kind == routeNone {
		p.early = ptr(errorResponse(http.StatusNotFound, "InvalidEndpoint", "Not found"))
		return p
	}
	if r.Method != rt.method {
		p.early = ptr(methodNotAllowed(rt.method))
		return p
	}
	switch rt.kind {
	case routeList:
		s.stats.ListRequests++
		if isOversize(r.URL.Query()) {
			s.stats.OversizePageRequests++
		}
	case routeShow:
		s.stats.ShowRequests++
	case routeExport:
		s.stats.ExportRequests++
	}
	if ok, known := s.issuedTokenLocked(authorization); known {
		if !ok {
			// An OAuth access token past its expiry, or revoked.
			resp := oauthError(http.StatusUnauthorized, "invalid_token", "The access token is invalid or has expired")
			resp.header.Set("WWW-Authenticate", `Bearer realm="Zendesk", error="invalid_token"`)
			p.early = &resp
			return p
		}
	} else if !s.authenticatedLocked(authorization) {
		resp := errorResponse(http.StatusUnauthorized, "Couldn't authenticate you", "")
		resp.header.Set("WWW-Authenticate", `Basic realm="Web Password"`)
		p.early = &resp
		return p
	}
	s.windowUsed++
	if s.forbidden {
		p.early = ptr(errorResponse(http.StatusForbidden, "Forbidden",
			"You do not have access to this page. Please contact the account owner of this help desk for further help."))
		return p
	}
	if b := s.faults.BudgetPerMinute; b > 0 && s.windowUsed > b {
		p.early = ptr(budgetResponse(ceilSeconds(s.windowStart.Add(time.Minute).Sub(now))))
		return p
	}
	p.fault, p.slow = s.drawFaultLocked()
	p.retryAfter = s.faults.retryAfterSeconds()
	return p
}

func ptr[T any](v T) *T { return &v }

// issuedTokenLocked checks a bearer token the token endpoint issued: known
// is false for any other Authorization value.
func (s *Server) issuedTokenLocked(authorization string) (ok, known bool) {
	token, isBearer := bearer(authorization)
	if !isBearer {
		return false, false
	}
	return s.bearerLocked(token)
}

// authenticatedLocked checks an Authorization header value.
func (s *Server) authenticatedLocked(h string) bool {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		if s.email == "" || s.apiToken == "" {
			return false
		}
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return false
		}
		email, token, ok := strings.Cut(string(raw), "/token:")
		return ok && strings.EqualFold(email, s.email) &&
			subtle.ConstantTimeCompare([]byte(token), []byte(s.apiToken)) == 1
	case "bearer":
		return s.oauthToken != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(s.oauthToken)) == 1
	}
	return false
}

// handle runs an admitted request's endpoint.
func (s *Server) handle(r *http.Request, rt route) response {
	switch rt.kind {
	case routeList:
		return s.handleList(r)
	case routeShow:
		return s.handleShow(r, rt.id)
	case routeExport:
		return s.handleExport(r)
	}
	return errorResponse(http.StatusNotFound, "InvalidEndpoint", "Not found")
}

func (s *Server) handleShow(r *http.Request, rawID string) response {
	notFound := errorResponse(http.StatusNotFound, "RecordNotFound", "Not found")
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		return notFound
	}
	s.mu.Lock()
	rec, ok := s.byID[id]
	s.mu.Unlock()
	if !ok {
		return notFound
	}
	body := []byte(`{"audit_log":` + string(renderRecord(requestBase(r), &rec)) + `}`)
	return response{status: http.StatusOK, header: http.Header{"Content-Type": {jsonContentType}}, body: body, records: 1}
}

// requestBase is scheme://host of the request.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// linkBase is the base used in pagination links.
func (s *Server) linkBase(r *http.Request) string {
	if s.linksBase != "" {
		return s.linksBase
	}
	return requestBase(r)
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	return max(n, 1)
}
