package zendesk

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// FuzzDecodePage: any body gives records or an error, never a panic; what
// decodes re-encodes to JSON that decodes to the same records.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"audit_logs":[{"id":1,"created_at":"2024-05-01T11:32:44Z","ip_address":null,"extra":{"a":[1,"}"]}}],"meta":{"has_more":true,"after_cursor":"x"}}`))
	f.Add([]byte(`{"audit_logs":[{"\u0069d":2,"action":"up\"date"}]}`))
	f.Add([]byte(`{"audit_logs":[{"id":"1"}]}`))
	f.Add([]byte(`{"audit_logs":[{"id":1,`))
	f.Add([]byte(`<html>503</html>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var page cursorPageBody
		if json.Unmarshal(b, &page) != nil {
			return
		}
		for _, a := range page.AuditLogs {
			out, err := json.Marshal(a)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", a, err)
			}
			var back AuditLog
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("decoding re-encoded %s: %v", out, err)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(out) {
				t.Fatalf("round trip changed %s into %s", out, again)
			}
		}
	})
}

// FuzzParseRetryAfter: any header value gives a wait within bounds.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "0", "-1", "1.5", "NaN", "Inf", "1e309", "Wed, 21 Oct 2015 07:28:00 GMT", "garbage"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("%q gave %s", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q unreadable but gave %s", v, d)
		}
	})
}

// FuzzParseRateLimit: any header values give a pace within bounds.
func FuzzParseRateLimit(f *testing.F) {
	f.Add("700", "0", "60", "total=1; remaining=0; resets=60")
	f.Add("x", "-5", "999999999999", "remaining=;;=")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, zd string) {
		h := http.Header{}
		h.Set("X-Rate-Limit", limit)
		h.Set("X-Rate-Limit-Remaining", remaining)
		h.Set("Ratelimit-Reset", reset)
		h.Set("Zendesk-RateLimit-audit-logs-export", zd)
		rl := parseRateLimit(h)
		if d := rl.paceDelay(); d < 0 || d > maxRetryAfter {
			t.Fatalf("pace %s from %+v", d, rl)
		}
	})
}
