package zendesksim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A typical test setup: a backlog on a fixed clock, a fault now and then,
// and a client reading the first page, oldest first.
func Example() {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sim := zendesksim.New(zendesksim.Options{
		Email:    "admin@example.com",
		APIToken: "token",
		Seed:     42,
		Now:      func() time.Time { return now },
		Faults:   zendesksim.Faults{P429: 0.05, RetryAfter: time.Second},
	})
	sim.Generate(2000, now.Add(-time.Hour), now.Add(-2*time.Minute))
	ts := httptest.NewServer(sim)
	defer ts.Close()

	req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v2/audit_logs?page[size]=100&sort=created_at", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.SetBasicAuth("admin@example.com/token", "token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		AuditLogs []struct {
			CreatedAt time.Time `json:"created_at"`
		} `json:"audit_logs"`
		Meta struct {
			HasMore bool `json:"has_more"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		fmt.Println(err)
		return
	}
	st := sim.Stats()
	fmt.Println(resp.Status, len(page.AuditLogs), "records, more:", page.Meta.HasMore)
	fmt.Println("oldest:", page.AuditLogs[0].CreatedAt.Format(time.RFC3339))
	fmt.Println("served:", st.RecordsServed, "violations:", st.RetryAfterViolations)
	// Output:
	// 200 OK 100 records, more: true
	// oldest: 2026-12-01T11:00:00Z
	// served: 100 violations: 0
}
