package zendesksim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A typical test setup: a backlog, live arrivals and a few faults.
func Example() {
	sim := zendesksim.New(zendesksim.Options{
		Email:    "admin@example.com",
		APIToken: "token",
		Seed:     42,
		Faults:   zendesksim.Faults{P429: 0.05, RetryAfter: time.Second},
	})
	now := time.Now()
	sim.Generate(2000, now.Add(-time.Hour), now.Add(-2*time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	sim.StartLive(ctx, 20, 0.1, 5*time.Second)
	defer func() { cancel(); sim.Wait() }()

	ts := httptest.NewServer(sim)
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v2/audit_logs?page[size]=100&sort=created_at", nil)
	req.SetBasicAuth("admin@example.com/token", "token")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	fmt.Println(sim.Stats().RetryAfterViolations)
}
