package zendesksim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// serveAdmin serves the unauthenticated /_sim endpoints (documented in the
// package comment). They are not counted in Stats.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	var resp response
	switch r.URL.Path {
	case "/_sim/stats":
		resp = s.adminOnly(r, http.MethodGet, func() response { return jsonResponse(http.StatusOK, s.Stats()) })
	case "/_sim/ids":
		resp = s.adminOnly(r, http.MethodGet, func() response { return jsonResponse(http.StatusOK, s.ids()) })
	case "/_sim/faults":
		switch r.Method {
		case http.MethodGet:
			resp = jsonResponse(http.StatusOK, faultsToJSON(s.faultsSnapshot()))
		case http.MethodPost:
			resp = s.postFaults(r)
		default:
			resp = methodNotAllowed("GET, POST")
		}
	case "/_sim/oauth":
		resp = s.adminOnly(r, http.MethodPost, func() response { return s.postOAuth(r) })
	case "/_sim/live":
		resp = s.adminOnly(r, http.MethodPost, func() response { return s.postLive(r) })
	default:
		resp = errorResponse(http.StatusNotFound, "InvalidEndpoint", "Not found")
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (s *Server) adminOnly(r *http.Request, method string, h func() response) response {
	if r.Method != method {
		return methodNotAllowed(method)
	}
	return h()
}

func methodNotAllowed(allow string) response {
	resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed")
	resp.header.Set("Allow", allow)
	return resp
}

// duration is a time.Duration in JSON: a Go duration string, or a number
// of seconds when decoding.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*d = duration(v * float64(time.Second))
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = duration(p)
	case nil:
		*d = 0
	default:
		return fmt.Errorf("duration must be a string or a number of seconds, got %s", b)
	}
	return nil
}

// faultsJSON is the admin representation of Faults.
type faultsJSON struct {
	P429             float64  `json:"p429"`
	P429NoRetryAfter float64  `json:"p429_no_retry_after"`
	RetryAfter       duration `json:"retry_after"`
	P503HTML         float64  `json:"p503_html"`
	P500             float64  `json:"p500"`
	PTruncated       float64  `json:"p_truncated"`
	PSlow            float64  `json:"p_slow"`
	SlowDelay        duration `json:"slow_delay"`
	Latency          duration `json:"latency"`
	BudgetPerMinute  int      `json:"budget_per_minute"`
}

func faultsToJSON(f Faults) faultsJSON {
	return faultsJSON{
		P429: f.P429, P429NoRetryAfter: f.P429NoRetryAfter, RetryAfter: duration(f.RetryAfter),
		P503HTML: f.P503HTML, P500: f.P500, PTruncated: f.PTruncated,
		PSlow: f.PSlow, SlowDelay: duration(f.SlowDelay), Latency: duration(f.Latency), BudgetPerMinute: f.BudgetPerMinute,
	}
}

func (j faultsJSON) faults() Faults {
	return Faults{
		P429: j.P429, P429NoRetryAfter: j.P429NoRetryAfter, RetryAfter: time.Duration(j.RetryAfter),
		P503HTML: j.P503HTML, P500: j.P500, PTruncated: j.PTruncated,
		PSlow: j.PSlow, SlowDelay: time.Duration(j.SlowDelay), Latency: time.Duration(j.Latency), BudgetPerMinute: j.BudgetPerMinute,
	}
}

func (s *Server) postFaults(r *http.Request) response {
	var j faultsJSON
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return errorResponse(http.StatusBadRequest, "InvalidValue", err.Error())
	}
	s.SetFaults(j.faults())
	return jsonResponse(http.StatusOK, j)
}

type liveJSON struct {
	Rate         float64  `json:"rate"`
	LateFraction float64  `json:"late_fraction"`
	MaxLate      duration `json:"max_late"`
}

func (s *Server) postLive(r *http.Request) response {
	q := r.URL.Query()
	rate, err := strconv.ParseFloat(q.Get("rate"), 64)
	if err != nil || rate < 0 {
		return errorResponse(http.StatusBadRequest, "InvalidValue", "rate must be a number >= 0")
	}
	var lateFraction *float64
	if v := q.Get("late_fraction"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return errorResponse(http.StatusBadRequest, "InvalidValue", "late_fraction must be in [0, 1]")
		}
		lateFraction = &f
	}
	var maxLate *time.Duration
	if v := q.Get("max_late"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errorResponse(http.StatusBadRequest, "InvalidValue", "max_late must be a Go duration")
		}
		maxLate = &d
	}
	cfg := s.setLiveRate(rate, lateFraction, maxLate)
	return jsonResponse(http.StatusOK, liveJSON{Rate: cfg.rate, LateFraction: cfg.lateFraction, MaxLate: duration(cfg.maxLate)})
}

// oauthJSON is the body of POST /_sim/oauth; absent fields change nothing.
type oauthJSON struct {
	TokenLifetime *duration `json:"token_lifetime"`
	Revoke        bool      `json:"revoke"`
	Down          *int      `json:"down"`
}

func (s *Server) postOAuth(r *http.Request) response {
	var j oauthJSON
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return errorResponse(http.StatusBadRequest, "InvalidValue", err.Error())
	}
	if j.TokenLifetime != nil {
		if *j.TokenLifetime < 0 {
			return errorResponse(http.StatusBadRequest, "InvalidValue", "token_lifetime must not be negative")
		}
		s.SetTokenLifetime(time.Duration(*j.TokenLifetime))
	}
	if j.Down != nil {
		if d := *j.Down; d != 0 && (d < 400 || d > 599) {
			return errorResponse(http.StatusBadRequest, "InvalidValue", "down must be 0 or an error status")
		}
		s.SetTokenEndpointDown(*j.Down)
	}
	if j.Revoke {
		s.RevokeTokens()
	}
	return jsonResponse(http.StatusOK, struct{}{})
}
