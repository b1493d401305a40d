package zendesksim

import (
	"net/http"
	"strconv"
	"time"
)

// exportInterval is the export endpoint's own limit: one per minute per
// account.
const exportInterval = time.Minute

const exportLimitHeader = "Zendesk-RateLimit-audit-logs-export"

// handleExport validates the filters and accepts the export (202, empty
// body) at most once per minute; Zendesk prepares the CSV out of band.
func (s *Server) handleExport(r *http.Request) response {
	if _, aerr := parseFilter(r.URL.Query()); aerr != nil {
		return aerr.response()
	}
	s.mu.Lock()
	now := s.now()
	if !s.lastExport.IsZero() && now.Sub(s.lastExport) < exportInterval {
		left := ceilSeconds(s.lastExport.Add(exportInterval).Sub(now))
		s.mu.Unlock()
		resp := textResponse(http.StatusTooManyRequests, "text/plain; charset=utf-8", "Rate limit for Audit log CSV Export exceeded")
		resp.header.Set("Retry-After", strconv.Itoa(left))
		resp.header.Set(exportLimitHeader, "total=1; remaining=0; resets="+strconv.Itoa(left))
		resp.retryScope = scopeExport
		return resp
	}
	s.lastExport = now
	s.mu.Unlock()
	resp := response{status: http.StatusAccepted, header: http.Header{"Content-Type": {jsonContentType}}}
	resp.header.Set(exportLimitHeader, "total=1; remaining=0; resets="+strconv.Itoa(int(exportInterval/time.Second)))
	return resp
}
