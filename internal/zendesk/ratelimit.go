package zendesk

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter bounds a server-requested wait, so that a hostile or broken
// header cannot park a caller for days.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// ok is false when the header is absent or unreadable. The result is
// clamped to [0, maxRetryAfter].
//
// delay-seconds is a whole number of seconds (RFC 9110, 10.2.3): "1.5",
// "0.001" or "1e-9" are unreadable, and the caller backs off as if no
// Retry-After came, rather than sending again at once. A date is measured
// from date, the response's own Date header (the server's clock: a
// collector whose clock is off would otherwise wait too little or too
// long), or the local clock when the response had none.
func parseRetryAfter(v string, date time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // only digits: too many to parse
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(date), 0), maxRetryAfter), true
}

// responseClock is the time a response was sent by the server's clock: its
// Date header, or local when it has none that reads.
func responseClock(h http.Header, local time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return local
}

// RateLimit is what a response said about the account's request budget.
// Fields are -1 when the response did not say.
type RateLimit struct {
	Limit     int
	Remaining int
	// Reset is the time until the budget refills; -1 when unknown.
	Reset time.Duration
}

// parseRateLimit reads whichever rate-limit headers are present:
// X-Rate-Limit and X-Rate-Limit-Remaining, the IETF draft's
// ratelimit-limit / ratelimit-remaining / ratelimit-reset, and Zendesk's
// zendesk-ratelimit-<name>: total=N; remaining=N; resets=N. Where several
// speak, the lowest remaining wins.
func parseRateLimit(h http.Header) RateLimit {
	rl := RateLimit{Limit: -1, Remaining: -1, Reset: -1}
	take := func(limit, remaining int, reset time.Duration) {
		if remaining < 0 {
			return
		}
		if rl.Remaining >= 0 && remaining >= rl.Remaining {
			return
		}
		rl.Remaining, rl.Limit = remaining, limit
		if reset >= 0 {
			rl.Reset = reset
		}
	}
	take(headerInt(h, "X-Rate-Limit"), headerInt(h, "X-Rate-Limit-Remaining"), -1)
	take(headerInt(h, "Ratelimit-Limit"), headerInt(h, "Ratelimit-Remaining"), headerSeconds(h, "Ratelimit-Reset"))
	for name, values := range h {
		if !strings.HasPrefix(strings.ToLower(name), "zendesk-ratelimit-") || len(values) == 0 {
			continue
		}
		total, remaining, reset := -1, -1, time.Duration(-1)
		for part := range strings.SplitSeq(values[0], ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				continue
			}
			switch strings.TrimSpace(k) {
			case "total":
				total = n
			case "remaining":
				remaining = n
			case "resets":
				reset = cappedSeconds(n)
			}
		}
		take(total, remaining, reset)
	}
	if rl.Remaining >= 0 && rl.Reset < 0 {
		// The per-minute limits all refill within a minute.
		if s := headerSeconds(h, "Ratelimit-Reset"); s >= 0 {
			rl.Reset = s
		}
	}
	return rl
}

func headerInt(h http.Header, name string) int {
	v := h.Get(name)
	if v == "" {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func headerSeconds(h http.Header, name string) time.Duration {
	n := headerInt(h, name)
	if n < 0 {
		return -1
	}
	return cappedSeconds(n)
}

// cappedSeconds is n >= 0 seconds, at most maxRetryAfter (and no overflow
// on the way there).
func cappedSeconds(n int) time.Duration {
	return time.Duration(min(n, int(maxRetryAfter/time.Second))) * time.Second
}

// paceDelay is how long to hold the next request so that the remaining
// budget lasts until it refills: nothing while more than a tenth of the
// limit (or, with no limit known, more than lowRemaining requests) is
// left; then the time to the reset spread over what remains; the whole
// reset when nothing remains.
func (rl RateLimit) paceDelay() time.Duration {
	const lowRemaining = 10
	if rl.Remaining < 0 {
		return 0
	}
	threshold := lowRemaining
	if rl.Limit > 0 {
		threshold = max(rl.Limit/10, 1)
	}
	if rl.Remaining > threshold {
		return 0
	}
	reset := rl.Reset
	if reset < 0 {
		reset = time.Minute
	}
	if rl.Remaining == 0 {
		return reset
	}
	return reset / time.Duration(rl.Remaining+1)
}
