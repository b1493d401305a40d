package zendesksim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(t *testing.T, u, body string) result {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{resp.StatusCode, resp.Header, b}
}

func TestAdminStatsAndIDs(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.Add(recordAt(300000000000, t0), recordAt(200000000000, t0.Add(time.Second)))
	get(t, base+"/api/v2/audit_logs?per_page=500")
	do(t, http.MethodGet, base+"/api/v2/audit_logs", "")

	r := do(t, http.MethodGet, base+"/_sim/stats", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"requests":2,"by_status":{"200":1,"401":1},"retry_after_violations":0,"retry_after_crossings":0,"peak_in_flight":1,
		"oversize_page_requests":1,"list_requests":2,"show_requests":0,"export_requests":0,"records_served":2,
		"token_requests":0,"tokens_issued":0,"expired_token_requests":0,"revoked_token_requests":0,"max_refusals_per_token":0}`, string(r.body))

	r = do(t, http.MethodGet, base+"/_sim/ids", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `[200000000000,300000000000]`, string(r.body))

	assert.Equal(t, 2, sim.Stats().Requests, "admin requests are not counted")
	sim.ResetStats()
	assert.Equal(t, Stats{ByStatus: map[int]int{}, TokenByStatus: map[int]int{}}, sim.Stats())

	assert.Equal(t, http.StatusMethodNotAllowed, post(t, base+"/_sim/stats", "").status)
	assert.Equal(t, http.StatusNotFound, do(t, http.MethodGet, base+"/_sim/nope", "").status)
}

func TestAdminFaults(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	r := post(t, base+"/_sim/faults", `{"p429":1,"retry_after":"3s","slow_delay":0.25,"budget_per_minute":50}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, Faults{P429: 1, RetryAfter: 3 * time.Second, SlowDelay: 250 * time.Millisecond, BudgetPerMinute: 50}, sim.faultsSnapshot())

	got := get(t, base+"/api/v2/audit_logs")
	assert.Equal(t, http.StatusTooManyRequests, got.status)
	assert.Equal(t, "3", got.header.Get("Retry-After"))
	assert.Equal(t, "50", got.header.Get("X-Rate-Limit"))

	r = do(t, http.MethodGet, base+"/_sim/faults", "")
	require.Equal(t, http.StatusOK, r.status)
	var f map[string]any
	require.NoError(t, json.Unmarshal(r.body, &f))
	assert.Equal(t, "3s", f["retry_after"])
	assert.Equal(t, "250ms", f["slow_delay"])

	for _, bad := range []string{`{"p429":"x"}`, `{"retry_after":"soon"}`, `{"unknown":1}`, `not json`} {
		assert.Equal(t, http.StatusBadRequest, post(t, base+"/_sim/faults", bad).status, bad)
	}
	assert.Equal(t, http.StatusOK, post(t, base+"/_sim/faults", `{}`).status)
	assert.Equal(t, Faults{}, sim.faultsSnapshot())
}

func TestAdminLive(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	r := post(t, base+"/_sim/live?rate=500&late_fraction=0&max_late=2s", "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{"rate":500,"late_fraction":0,"max_late":"2s"}`, string(r.body))
	require.Eventually(t, func() bool { return len(sim.Records()) > 10 }, 10*time.Second, 10*time.Millisecond)

	r = post(t, base+"/_sim/live?rate=0", "")
	require.Equal(t, http.StatusOK, r.status)
	sim.Wait()
	n := len(sim.Records())
	assert.Len(t, sim.Records(), n)

	for _, bad := range []string{"", "?rate=x", "?rate=-1", "?rate=1&late_fraction=2", "?rate=1&max_late=x"} {
		assert.Equal(t, http.StatusBadRequest, post(t, base+"/_sim/live"+bad, "").status, bad)
	}
	assert.Equal(t, http.StatusMethodNotAllowed, do(t, http.MethodGet, base+"/_sim/live?rate=1", "").status)
	sim.StopLive()
}
