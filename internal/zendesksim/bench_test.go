package zendesksim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func BenchmarkCursorPage(b *testing.B) {
	sim := New(Options{Email: testEmail, APIToken: testToken, Seed: 1})
	sim.Generate(100_000, t0, t0.Add(24*time.Hour))
	q := url.Values{"page[size]": {"100"}, "sort": {"created_at"},
		"filter[created_at][]": {"2024-05-01T18:00:00Z", "2024-05-01T20:00:00Z"}}
	req := httptest.NewRequest(http.MethodGet, "/api/v2/audit_logs?"+q.Encode(), nil)
	req.Header.Set("Authorization", goodAuth)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkOffsetPage(b *testing.B) {
	sim := New(Options{Email: testEmail, APIToken: testToken, Seed: 1})
	sim.Generate(100_000, t0, t0.Add(24*time.Hour))
	req := httptest.NewRequest(http.MethodGet, "/api/v2/audit_logs?page=3", nil)
	req.Header.Set("Authorization", goodAuth)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
