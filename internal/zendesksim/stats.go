package zendesksim

import (
	"maps"
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
	RetryAfterViolations int `json:"retry_after_violations"`
	// OversizePageRequests counts list requests asking page[size] or
	// per_page > 100.
	OversizePageRequests int `json:"oversize_page_requests"`
	ListRequests         int `json:"list_requests"`
	ShowRequests         int `json:"show_requests"`
	ExportRequests       int `json:"export_requests"`
	// RecordsServed counts audit logs in complete (not truncated) 200
	// responses.
	RecordsServed int `json:"records_served"`
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = maps.Clone(s.stats.ByStatus)
	return st
}

// ResetStats zeroes the counters (Retry-After deadlines are kept).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByStatus: map[int]int{}}
}

// retryAfterTolerance is how early a request may come back after a
// Retry-After without counting as a violation.
const retryAfterTolerance = 50 * time.Millisecond

func deadlineKey(scope, authKey string) string { return scope + "\x00" + authKey }

// checkViolationLocked counts a violation if a Retry-After sent for this
// Authorization value has not expired yet.
func (s *Server) checkViolationLocked(authKey string, export bool, now time.Time) {
	early := func(scope string) bool {
		d, ok := s.deadlines[deadlineKey(scope, authKey)]
		return ok && now.Add(retryAfterTolerance).Before(d)
	}
	if early(scopeAPI) || (export && early(scopeExport)) {
		s.stats.RetryAfterViolations++
	}
}

// finish records a response about to be written: its status, records, and
// the deadline of a Retry-After it carries.
func (s *Server) finish(authKey string, resp response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ByStatus[resp.status]++
	s.stats.RecordsServed += resp.records
	if ra := resp.header.Get("Retry-After"); ra != "" && resp.retryScope != "" {
		if n, err := strconv.Atoi(ra); err == nil {
			s.deadlines[deadlineKey(resp.retryScope, authKey)] = s.now().Add(time.Duration(n) * time.Second)
		}
	}
}
