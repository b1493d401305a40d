package zendesk

import (
	"net/http"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// FuzzDecodePage: any body gives a page or an error, never a panic; a body
// that is not valid JSON is always an error, never an empty page; what
// decodes re-encodes to JSON that decodes to the same records.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"audit_logs":[{"id":1,"created_at":"2024-05-01T11:32:44Z","ip_address":null,"extra":{"a":[1,"}"]}}],"meta":{"has_more":true,"after_cursor":"x"}}`))
	f.Add([]byte(`{"audit_logs":[{"\u0069d":2,"action":"up\"date"}]}`))
	f.Add([]byte(`{"audit_logs":[{"id":"1","actor_id":"system","source_id":"n/a","action":["update","bulk"],"ip_address":{"v4":"1.2.3.4"},"created_at":17}]}`))
	f.Add([]byte(`{"audit_logs":[{"id":1,"id":"x","created_at":"yesterday"},null]}`))
	f.Add([]byte(`{"audit_logs":["x",[1],2.5,false,{"id":3}]}`))
	f.Add([]byte(`{"audit_logs":[{"id":1,`))
	f.Add([]byte(`<html>503</html>`))
	f.Add(zendesksim.SamplePage(2))
	f.Fuzz(func(t *testing.T, b []byte) {
		page, err := DecodeCursorPage(b)
		if err != nil {
			return
		}
		if !jsontext.Value(b).IsValid(jsonOptions) {
			t.Fatalf("invalid JSON %q decoded without error: %+v", b, page)
		}
		for _, a := range page.AuditLogs {
			for _, m := range a.Mistyped {
				if m.Name == FieldRecord && a.NotAnObject != nil {
					continue // the whole record is kept as sent
				}
				if _, ok := a.Extra[m.Name]; !ok {
					t.Fatalf("mistyped %s not kept in Extra: %+v", m.Name, a)
				}
			}
			out, err := a.MarshalJSON()
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", a, err)
			}
			var back AuditLog
			if err := back.UnmarshalJSON(out); err != nil {
				t.Fatalf("decoding re-encoded %s: %v", out, err)
			}
			again, _ := back.MarshalJSON()
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
