package zendesksim

import (
	"net/http"
	"strconv"
	"time"
)

// Faults configures injected failures. Probabilities are per authenticated
// API request; the error kinds (P429, P429NoRetryAfter, P503HTML, P500,
// PTruncated) are mutually exclusive and drawn from one uniform number, so
// their sum should not exceed 1. PSlow is drawn independently and combines
// with any outcome.
type Faults struct {
	P429             float64       // 429 with Retry-After and a JSON body
	P429NoRetryAfter float64       // 429 without Retry-After, text/plain "Too Many Requests"
	RetryAfter       time.Duration // Retry-After sent (whole seconds, min 1s; default 1s)
	P503HTML         float64       // 503 with an HTML body and Retry-After
	P500             float64       // 500 with a JSON body
	PTruncated       float64       // 200 whose JSON body is cut in the middle
	PSlow            float64       // response delayed by SlowDelay (request ctx honoured)
	SlowDelay        time.Duration
	// Latency delays every API answer (request ctx honoured), before a
	// slow fault's SlowDelay: the time a real API takes to answer.
	Latency time.Duration
	// BudgetPerMinute is the account limit: requests per fixed 60s window
	// (aligned on the minute of Now). Over it: 429 with Retry-After = seconds
	// to the window end. 0 = unlimited.
	BudgetPerMinute int
}

// SetFaults replaces the fault configuration.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

type faultKind int

const (
	faultNone faultKind = iota
	fault429
	fault429NoRetryAfter
	fault503HTML
	fault500
	faultTruncated
)

// drawFaultLocked draws the outcome and the delay of one request. It always
// consumes two numbers so the sequence only depends on the request count.
func (s *Server) drawFaultLocked() (faultKind, time.Duration) {
	f := s.faults
	u, v := s.faultRNG.Float64(), s.faultRNG.Float64()
	slow := max(f.Latency, 0)
	if v < f.PSlow && f.SlowDelay > 0 {
		slow += f.SlowDelay
	}
	for _, c := range []struct {
		p    float64
		kind faultKind
	}{
		{f.P429, fault429},
		{f.P429NoRetryAfter, fault429NoRetryAfter},
		{f.P503HTML, fault503HTML},
		{f.P500, fault500},
		{f.PTruncated, faultTruncated},
	} {
		if u < c.p {
			return c.kind, slow
		}
		u -= c.p
	}
	return faultNone, slow
}

func (f Faults) retryAfterSeconds() int {
	if f.RetryAfter <= 0 {
		return 1
	}
	return ceilSeconds(f.RetryAfter)
}

const scopeAPI, scopeExport = "api", "export"

// faultResponse builds the answer of an error fault; retryAfter is in
// seconds.
func faultResponse(k faultKind, retryAfter int) response {
	ra := strconv.Itoa(retryAfter)
	var resp response
	switch k {
	case fault429:
		resp = errorResponse(http.StatusTooManyRequests, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
		resp.header.Set("Retry-After", ra)
	case fault429NoRetryAfter:
		resp = textResponse(http.StatusTooManyRequests, "text/plain; charset=utf-8", "Too Many Requests")
	case fault503HTML:
		resp = textResponse(http.StatusServiceUnavailable, "text/html; charset=utf-8",
			"<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n"+
				"<body>\n<center><h1>503 Service Temporarily Unavailable</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n")
		resp.header.Set("Retry-After", ra)
	default:
		resp = errorResponse(http.StatusInternalServerError, "InternalServerError", "Something went wrong. Please try again later.")
	}
	resp.retryScope = scopeAPI
	return resp
}

func budgetResponse(retryAfter int) response {
	resp := errorResponse(http.StatusTooManyRequests, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded")
	resp.header.Set("Retry-After", strconv.Itoa(retryAfter))
	resp.retryScope = scopeAPI
	return resp
}

// rollWindowLocked starts a new budget window when now left the current one.
func (s *Server) rollWindowLocked(now time.Time) {
	ws := now.Truncate(time.Minute)
	if !ws.Equal(s.windowStart) {
		s.windowStart, s.windowUsed = ws, 0
	}
}

// defaultRateLimit is the Enterprise plan's limit, reported when no budget
// is configured.
const defaultRateLimit = 700

func (s *Server) rateLimitHeadersLocked(now time.Time) http.Header {
	limit := s.faults.BudgetPerMinute
	if limit <= 0 {
		limit = defaultRateLimit
	}
	remaining := strconv.Itoa(max(0, limit-s.windowUsed))
	reset := strconv.Itoa(ceilSeconds(s.windowStart.Add(time.Minute).Sub(now)))
	h := http.Header{}
	h.Set("X-Rate-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", remaining)
	h.Set("Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("Ratelimit-Remaining", remaining)
	h.Set("Ratelimit-Reset", reset)
	return h
}

// faultsSnapshot returns the current fault configuration.
func (s *Server) faultsSnapshot() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}
