package zendesksim

import (
	"maps"
	"net/http"
	"strconv"
	"time"
)

// Stats counts what clients did. Admin (/_sim) requests are not counted.
type Stats struct {
	// Requests counts all API requests, whatever their answer.
	Requests int `json:"requests"`
	// ByStatus counts API requests by response status; 499 means the client
	// went away while a slow fault delayed the answer.
	ByStatus map[int]int `json:"by_status"`
	// RetryAfterViolations counts requests that arrived (with the same
	// Authorization value) before a previously sent Retry-After expired,
	// with 50ms tolerance. An export Retry-After only binds export requests.
	// Requests sent within the crossing window after it was sent (see
	// Options.RetryAfterCrossingWindow) are counted in RetryAfterCrossings
	// instead.
	RetryAfterViolations int `json:"retry_after_violations"`
	// RetryAfterCrossings counts requests with the same Authorization
	// value sent (by their SentAtHeader, or arrival) within the crossing
	// window after a Retry-After was sent: a client reading concurrently
	// sent them before the Retry-After reached it (they crossed on the
	// wire).
	RetryAfterCrossings int `json:"retry_after_crossings"`
	// PeakInFlight is the most API requests being answered at once (a
	// request counts from its arrival until its answer is written).
	PeakInFlight int `json:"peak_in_flight"`
	// OversizePageRequests counts list requests asking page[size] or
	// per_page > 100.
	OversizePageRequests int `json:"oversize_page_requests"`
	ListRequests         int `json:"list_requests"`
	ShowRequests         int `json:"show_requests"`
	ExportRequests       int `json:"export_requests"`
	// RecordsServed counts audit logs in complete (not truncated) 200
	// responses.
	RecordsServed int `json:"records_served"`

	// TokenRequests counts requests to POST /oauth/tokens (not counted in
	// Requests), and TokenByStatus their answers.
	TokenRequests int         `json:"token_requests"`
	TokenByStatus map[int]int `json:"token_by_status,omitempty"`
	// RefreshGrants counts the token requests with a refresh_token grant.
	RefreshGrants int `json:"refresh_grants,omitempty"`
	// TokensIssued counts the access tokens issued.
	TokensIssued int `json:"tokens_issued"`
	// ExpiredTokenRequests and RevokedTokenRequests count the API requests
	// refused (401 invalid_token) for carrying an issued token past its
	// expiry, or revoked.
	ExpiredTokenRequests int `json:"expired_token_requests"`
	RevokedTokenRequests int `json:"revoked_token_requests"`
	// MaxRefusalsPerToken is the most API requests refused with any one
	// issued token, not counting those that arrived within
	// TokenRefusalCrossingWindow of its first refusal: 1 means no client
	// sent a token again once it had heard it was refused (no 401 storm).
	MaxRefusalsPerToken int `json:"max_refusals_per_token"`
}

func newStats() Stats { return Stats{ByStatus: map[int]int{}, TokenByStatus: map[int]int{}} }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = maps.Clone(s.stats.ByStatus)
	st.TokenByStatus = maps.Clone(s.stats.TokenByStatus)
	return st
}

// ResetStats zeroes the counters (Retry-After deadlines are kept).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

// retryAfterTolerance is how early a request may come back after a
// Retry-After without counting as a violation.
const retryAfterTolerance = 50 * time.Millisecond

// RetryAfterCrossingWindow is how soon after a Retry-After was sent a
// request with the same credentials counts as having crossed it on the
// wire (sent concurrently, before the answer reached the client) rather
// than as a violation, unless Options.RetryAfterCrossingWindow says
// otherwise.
const RetryAfterCrossingWindow = 50 * time.Millisecond

// sentAt is when the client sent r, by its SentAtHeader, or arrived
// without one (or with one that cannot be read).
func sentAt(r *http.Request, arrived time.Time) time.Time {
	if v := r.Header.Get(SentAtHeader); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return arrived
}

// deadline is a Retry-After sent: no request before until; sent is when.
type deadline struct{ sent, until time.Time }

func deadlineKey(scope, authKey string) string { return scope + "\x00" + authKey }

// checkViolationLocked counts a violation if a Retry-After sent for this
// Authorization value has not expired yet when a request arrives (now),
// or a crossing if the request was sent (sent) within the crossing window
// after the Retry-After.
func (s *Server) checkViolationLocked(authKey string, export bool, now, sent time.Time) {
	early := func(scope string) (bool, bool) {
		d, ok := s.deadlines[deadlineKey(scope, authKey)]
		if !ok || !now.Add(retryAfterTolerance).Before(d.until) {
			return false, false
		}
		return true, sent.Before(d.sent.Add(s.crossingWindow))
	}
	violated, crossed := early(scopeAPI)
	if !violated && export {
		violated, crossed = early(scopeExport)
	}
	switch {
	case crossed:
		s.stats.RetryAfterCrossings++
	case violated:
		s.stats.RetryAfterViolations++
	}
}

// finish records a response about to be written: its status, records, and
// the deadline of a Retry-After it carries.
func (s *Server) finish(authKey string, resp response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	s.stats.ByStatus[resp.status]++
	s.stats.RecordsServed += resp.records
	if ra := resp.header.Get("Retry-After"); ra != "" && resp.retryScope != "" {
		if n, err := strconv.Atoi(ra); err == nil {
			now := s.now()
			s.deadlines[deadlineKey(resp.retryScope, authKey)] = deadline{sent: now, until: now.Add(time.Duration(n) * time.Second)}
		}
	}
}
