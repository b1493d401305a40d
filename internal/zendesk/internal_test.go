package zendesk

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"   ", 0, false},
		{"0", 0, true},
		{"1", time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"1.5", 0, false}, // whole seconds only
		{"0.001", 0, false},
		{"1e-9", 0, false},
		{"+1", 0, false},
		{"600", 10 * time.Minute, true},
		{"86400", maxRetryAfter, true},
		{"1e9", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"soon", 0, false},
		{"1s", 0, false},
		{"Wed, 01 May 2024 11:32:46 GMT", 2 * time.Second, true},           // IMF-fixdate
		{"Wednesday, 01-May-24 11:33:44 GMT", time.Minute, true},           // RFC 850
		{"Wed May  1 11:32:54 2024", 10 * time.Second, true},               // ANSI C asctime
		{"Wed, 01 May 2024 11:00:00 GMT", 0, true},                         // in the past
		{"Thu, 01 May 2025 11:32:44 GMT", maxRetryAfter, true},             // a year away
		{"Wed, 01 May 2024 11:32:46 +0200", 0, false},                      // not an HTTP date
		{"Wed, 32 May 2024 11:32:46 GMT", 0, false},                        // no such day
		{"Wed, 01 May 2024 11:32:46 GMT garbage", 0, false},                // trailing junk
		{"\x00\xff", 0, false},                                             // binary
		{"99999999999999999999999999999999999999999", maxRetryAfter, true}, // huge
	} {
		d, ok := parseRetryAfter(tc.in, now)
		assert.Equal(t, tc.wantOK, ok, "%q", tc.in)
		assert.Equal(t, tc.want, d, "%q", tc.in)
		assert.GreaterOrEqual(t, d, time.Duration(0))
		assert.LessOrEqual(t, d, maxRetryAfter)
	}
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	unknown := RateLimit{Limit: -1, Remaining: -1, Reset: -1}
	for _, tc := range []struct {
		name string
		h    http.Header
		want RateLimit
	}{
		{"none", header(), unknown},
		{"X-Rate-Limit", header("X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "699"),
			RateLimit{Limit: 700, Remaining: 699, Reset: -1}},
		{"X-Rate-Limit with ratelimit-reset", header("X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "0", "ratelimit-reset", "1"),
			RateLimit{Limit: 700, Remaining: 0, Reset: time.Second}},
		{"remaining alone", header("X-Rate-Limit-Remaining", "5"),
			RateLimit{Limit: -1, Remaining: 5, Reset: -1}},
		{"limit alone says nothing", header("X-Rate-Limit", "700"), unknown},
		{"IETF draft", header("ratelimit-limit", "400", "ratelimit-remaining", "12", "ratelimit-reset", "30"),
			RateLimit{Limit: 400, Remaining: 12, Reset: 30 * time.Second}},
		{"lowest remaining wins", header("X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "600",
			"Ratelimit-Limit", "700", "Ratelimit-Remaining", "3", "Ratelimit-Reset", "9"),
			RateLimit{Limit: 700, Remaining: 3, Reset: 9 * time.Second}},
		{"zendesk-ratelimit-<name>", header("zendesk-ratelimit-tickets-index", "total=100; remaining=4; resets=20"),
			RateLimit{Limit: 100, Remaining: 4, Reset: 20 * time.Second}},
		{"zendesk-ratelimit-<name> without spaces, any order", header("Zendesk-RateLimit-audit-logs", "resets=7;remaining=0;total=10"),
			RateLimit{Limit: 10, Remaining: 0, Reset: 7 * time.Second}},
		{"zendesk-ratelimit-<name> lower than X-Rate-Limit", header("X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "650",
			"Zendesk-RateLimit-search", "total=50; remaining=2; resets=40"),
			RateLimit{Limit: 50, Remaining: 2, Reset: 40 * time.Second}},
		{"zendesk-ratelimit-<name> higher than X-Rate-Limit", header("X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "1",
			"Zendesk-RateLimit-search", "total=50; remaining=20; resets=40"),
			RateLimit{Limit: 700, Remaining: 1, Reset: -1}},
		{"zendesk-ratelimit-<name> without remaining", header("Zendesk-RateLimit-x", "total=50; resets=40"), unknown},
		{"zendesk-ratelimit-<name> garbage", header("Zendesk-RateLimit-x", "total=lots; remaining=; resets=-3; =; ;;"), unknown},
		{"zendesk-ratelimit-<name> partly garbage", header("Zendesk-RateLimit-x", "total=abc; remaining=6; resets=soon"),
			RateLimit{Limit: -1, Remaining: 6, Reset: -1}},
		{"garbage numbers", header("X-Rate-Limit", "seven hundred", "X-Rate-Limit-Remaining", "-4",
			"Ratelimit-Limit", "1.5", "Ratelimit-Remaining", "0x10", "Ratelimit-Reset", "later"), unknown},
		{"garbage limit, good remaining", header("X-Rate-Limit", "lots", "X-Rate-Limit-Remaining", "3"),
			RateLimit{Limit: -1, Remaining: 3, Reset: -1}},
		{"spaces around numbers", header("X-Rate-Limit", " 700 ", "X-Rate-Limit-Remaining", " 0 "),
			RateLimit{Limit: 700, Remaining: 0, Reset: -1}},
		{"reset clamped", header("X-Rate-Limit-Remaining", "0", "Ratelimit-Reset", "999999"),
			RateLimit{Limit: -1, Remaining: 0, Reset: maxRetryAfter}},
		{"reset alone says nothing", header("Ratelimit-Reset", "5"), unknown},
		// Found by FuzzParseRateLimit: the zendesk-ratelimit-<name> reset
		// was not clamped, and paced the client for 11m40s.
		{"zendesk-ratelimit-<name> reset clamped", header("Zendesk-RateLimit-x", "remaining=0;resets=700"),
			RateLimit{Limit: -1, Remaining: 0, Reset: maxRetryAfter}},
		{"zendesk-ratelimit-<name> reset that would overflow", header("Zendesk-RateLimit-x", "remaining=0; resets=9223372036854775807"),
			RateLimit{Limit: -1, Remaining: 0, Reset: maxRetryAfter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseRateLimit(tc.h))
		})
	}
}

func TestPaceDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		rl   RateLimit
		want time.Duration
	}{
		{"unknown", RateLimit{Limit: -1, Remaining: -1, Reset: -1}, 0},
		{"plenty left", RateLimit{Limit: 700, Remaining: 600, Reset: 30 * time.Second}, 0},
		{"just over a tenth", RateLimit{Limit: 700, Remaining: 71, Reset: 30 * time.Second}, 0},
		{"a tenth left: spread the reset", RateLimit{Limit: 700, Remaining: 70, Reset: 71 * time.Second}, time.Second},
		{"one left", RateLimit{Limit: 700, Remaining: 1, Reset: 30 * time.Second}, 15 * time.Second},
		{"none left: the whole reset", RateLimit{Limit: 700, Remaining: 0, Reset: time.Second}, time.Second},
		{"none left, reset unknown: a minute", RateLimit{Limit: 700, Remaining: 0, Reset: -1}, time.Minute},
		{"limit unknown, plenty left", RateLimit{Limit: -1, Remaining: 11, Reset: 10 * time.Second}, 0},
		{"limit unknown, 10 left", RateLimit{Limit: -1, Remaining: 10, Reset: 11 * time.Second}, time.Second},
		{"tiny limit", RateLimit{Limit: 5, Remaining: 1, Reset: 10 * time.Second}, 5 * time.Second},
		{"tiny limit, more left", RateLimit{Limit: 5, Remaining: 2, Reset: 10 * time.Second}, 0},
		{"reset zero", RateLimit{Limit: 700, Remaining: 0, Reset: 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.rl.paceDelay())
		})
	}
}

func TestRetryAfterScope(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		op   string
		err  Error
		want holdScope
	}{
		{"list 429", "list", Error{StatusCode: 429, Code: "APIRateLimitExceeded"}, scopeAccount},
		{"show 503", "show", Error{StatusCode: 503}, scopeAccount},
		{"export's own limit", "export", Error{StatusCode: 429, Description: "Rate limit for Audit log CSV Export exceeded"}, scopeExport},
		{"account limit met by an export", "export", Error{StatusCode: 429, Code: "APIRateLimitExceeded"}, scopeAccount},
		{"export 503", "export", Error{StatusCode: 503}, scopeAccount},
		{"a proxy's 429 met by an export", "export", Error{StatusCode: 429, Description: "Too Many Requests"}, scopeAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.err.Op = tc.op
			assert.Equal(t, tc.want, retryAfterScope(tc.op, &tc.err))
		})
	}
}

func TestBackoffStaysWithinBounds(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://acme.zendesk.com", InitialBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	require.NoError(t, err)
	for attempt := 1; attempt <= 70; attempt++ {
		ceiling := min(10*time.Millisecond<<min(attempt-1, 20), 80*time.Millisecond)
		for range 20 {
			d := c.backoff(attempt)
			require.GreaterOrEqual(t, d, ceiling/2, "attempt %d", attempt)
			require.LessOrEqual(t, d, ceiling, "attempt %d", attempt)
		}
	}
}
