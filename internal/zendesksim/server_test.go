package zendesksim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.Add(recordAt(100000000001, t0))

	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"api token", goodAuth, http.StatusOK},
		{"api token email case-insensitive", basicAuth("ADMIN@example.com", testToken), http.StatusOK},
		{"oauth", "Bearer " + testOAuth, http.StatusOK},
		{"oauth scheme lower case", "bearer " + testOAuth, http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"wrong token", basicAuth(testEmail, "nope"), http.StatusUnauthorized},
		{"wrong email", basicAuth("other@example.com", testToken), http.StatusUnauthorized},
		{"password basic auth", "Basic " + "YWRtaW5AZXhhbXBsZS5jb206cGFzc3dvcmQ=", http.StatusUnauthorized},
		{"garbled basic", "Basic !!!", http.StatusUnauthorized},
		{"wrong bearer", "Bearer nope", http.StatusUnauthorized},
		{"unknown scheme", "Token " + testToken, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodGet, base+"/api/v2/audit_logs.json", tt.auth)
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.status == http.StatusUnauthorized {
				assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
				assert.JSONEq(t, `{"error":"Couldn't authenticate you"}`, string(r.body))
			}
			assert.NotEmpty(t, r.header.Get("X-Rate-Limit"))
		})
	}
}

func TestAuthRuntimeChanges(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	u := base + "/api/v2/audit_logs"

	sim.SetCredentials(testEmail, "rotated", "")
	assert.Equal(t, http.StatusUnauthorized, get(t, u).status)
	assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, u, "Bearer "+testOAuth).status)
	assert.Equal(t, http.StatusOK, do(t, http.MethodGet, u, basicAuth(testEmail, "rotated")).status)

	sim.SetCredentials(testEmail, testToken, testOAuth)
	sim.SetForbidden(true)
	r := get(t, u)
	require.Equal(t, http.StatusForbidden, r.status)
	assert.JSONEq(t, `{"error":"Forbidden","description":"You do not have access to this page. Please contact the account owner of this help desk for further help."}`, string(r.body))
	// Unauthenticated requests still get 401 in forbidden mode.
	assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, u, "").status)

	sim.SetForbidden(false)
	assert.Equal(t, http.StatusOK, get(t, u).status)
}

func TestNoCredentialsConfigured(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	for _, auth := range []string{"", basicAuth("", ""), "Bearer ", "Bearer x"} {
		assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, ts.URL+"/api/v2/audit_logs", auth).status, auth)
	}
}

func TestRouting(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.Add(recordAt(100000000001, t0))

	tests := []struct {
		name, method, path string
		status             int
		body               string
		allow              string
	}{
		{"list", http.MethodGet, "/api/v2/audit_logs", 200, "", ""},
		{"list json", http.MethodGet, "/api/v2/audit_logs.json", 200, "", ""},
		{"show", http.MethodGet, "/api/v2/audit_logs/100000000001", 200, "", ""},
		{"show json", http.MethodGet, "/api/v2/audit_logs/100000000001.json", 200, "", ""},
		{"export", http.MethodPost, "/api/v2/audit_logs/export", 202, "", ""},
		{"list post", http.MethodPost, "/api/v2/audit_logs.json", 405, "", "GET"},
		{"show delete", http.MethodDelete, "/api/v2/audit_logs/100000000001", 405, "", "GET"},
		{"export get", http.MethodGet, "/api/v2/audit_logs/export.json", 405, "", "POST"},
		{"unknown", http.MethodGet, "/api/v2/tickets.json", 404, `{"error":"InvalidEndpoint","description":"Not found"}`, ""},
		{"nested", http.MethodGet, "/api/v2/audit_logs/1/2", 404, `{"error":"InvalidEndpoint","description":"Not found"}`, ""},
		{"trailing slash", http.MethodGet, "/api/v2/audit_logs/", 404, `{"error":"InvalidEndpoint","description":"Not found"}`, ""},
		{"show unknown id", http.MethodGet, "/api/v2/audit_logs/999.json", 404, `{"error":"RecordNotFound","description":"Not found"}`, ""},
		{"show non-integer id", http.MethodGet, "/api/v2/audit_logs/abc", 404, `{"error":"RecordNotFound","description":"Not found"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, goodAuth)
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.body != "" {
				assert.JSONEq(t, tt.body, string(r.body))
			}
			if tt.allow != "" {
				assert.Equal(t, tt.allow, r.header.Get("Allow"))
			}
		})
	}
	st := sim.Stats()
	assert.Equal(t, len(tests), st.Requests)
	assert.Equal(t, 2, st.ListRequests) // 405s and 404s are not endpoint requests
	assert.Equal(t, 4, st.ShowRequests)
	assert.Equal(t, 1, st.ExportRequests)
}

func TestShowRecordJSON(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	r := recordAt(123456789012, t0.Add(44*1e9))
	r.ChangeDescription = "Role changed\nfrom A to B"
	r.ActorName = "Zoë Müller"
	r.Extra = map[string]any{"new_field": map[string]any{"x": 1}, "source_label": nil}
	sys := recordAt(123456789013, t0)
	sys.ActorID, sys.ActorName, sys.IPAddress = -1, "Zendesk", nil
	sim.Add(r, sys)

	got := get(t, base+"/api/v2/audit_logs/123456789012.json")
	require.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, "application/json; charset=utf-8", got.header.Get("Content-Type"))
	assert.JSONEq(t, `{"audit_log":{
		"url":"`+base+`/api/v2/audit_logs/123456789012.json","id":123456789012,
		"action_label":"Updated","actor_id":42,"actor_name":"Zoë Müller",
		"source_id":7,"source_type":"user","source_label":null,"action":"update",
		"change_description":"Role changed\nfrom A to B","ip_address":"192.0.2.1",
		"created_at":"2024-05-01T11:32:44Z","new_field":{"x":1}}}`, string(got.body))

	got = get(t, base+"/api/v2/audit_logs/123456789013")
	require.Equal(t, http.StatusOK, got.status)
	var body struct {
		AuditLog map[string]json.RawMessage `json:"audit_log"`
	}
	require.NoError(t, json.Unmarshal(got.body, &body))
	assert.Equal(t, "null", string(body.AuditLog["ip_address"]))
	assert.Equal(t, "-1", string(body.AuditLog["actor_id"]))
	assert.Equal(t, 2, sim.Stats().RecordsServed)
}

func TestAddRejectsDuplicates(t *testing.T) {
	sim := New(Options{})
	sim.Add(recordAt(100000000001, t0))
	assert.Panics(t, func() { sim.Add(recordAt(100000000001, t0)) })
	assert.Panics(t, func() { sim.Add(recordAt(5, t0), recordAt(5, t0)) })
	assert.Panics(t, func() { sim.Add(recordAt(0, t0)) })
	// NextID never collides with added ids.
	sim.Add(recordAt(900000000000, t0))
	assert.Equal(t, int64(900000000001), sim.NextID())
	assert.Equal(t, int64(900000000002), sim.NextID())
}

func TestRecordsSortedCopy(t *testing.T) {
	sim := New(Options{})
	sim.Add(recordAt(3, t0.Add(2e9)), recordAt(2, t0), recordAt(1, t0))
	recs := sim.Records()
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = strconv.FormatInt(r.ID, 10)
	}
	assert.Equal(t, []string{"1", "2", "3"}, ids)
	*recs[0].IPAddress = "mutated"
	assert.Equal(t, "192.0.2.1", *sim.Records()[0].IPAddress)
}

// ClockOffset moves the API's clock: the Date header of every response
// and the date of live arrivals follow Now plus the offset.
func TestClockOffsetMovesTheDateHeaderAndLiveArrivals(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now, ClockOffset: -time.Minute})
	assert.Equal(t, t0.Add(-time.Minute), sim.Now())

	r := get(t, base+"/api/v2/audit_logs")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "Wed, 01 May 2024 11:31:00 GMT", r.header.Get("Date"))

	sim.mu.Lock()
	sim.addLiveLocked(1, liveConfig{rate: 1})
	sim.mu.Unlock()
	recs := sim.Records()
	require.Len(t, recs, 1)
	assert.Equal(t, t0.Add(-time.Minute), recs[0].CreatedAt)
}
