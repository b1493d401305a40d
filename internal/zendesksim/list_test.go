package zendesksim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filterFixture adds five distinct records one second apart from t0.
func filterFixture(sim *Server) {
	ip4, ip6 := "203.0.113.9", "2001:db8::7"
	recs := []Record{
		{ID: 101, Action: "create", ActorID: 1, SourceType: "user", SourceID: 11, IPAddress: &ip4},
		{ID: 102, Action: "update", ActorID: 1, SourceType: "user", SourceID: 12, IPAddress: &ip6},
		{ID: 103, Action: "update", ActorID: 2, SourceType: "rule", SourceID: 11, IPAddress: &ip4},
		{ID: 104, Action: "destroy", ActorID: -1, SourceType: "rule", SourceID: 13},
		{ID: 105, Action: "login", ActorID: 2, SourceType: "user", SourceID: 2, IPAddress: &ip6},
	}
	for i := range recs {
		recs[i].CreatedAt = t0.Add(time.Duration(i) * time.Second)
	}
	sim.Add(recs...)
}

func TestFilters(t *testing.T) {
	clock := newClock(t0)
	sim, base := newTestServer(t, Options{Now: clock.Now})
	filterFixture(sim)
	ts := func(d int) string { return t0.Add(time.Duration(d) * time.Second).Format(timeLayout) }

	tests := []struct {
		name string
		q    url.Values
		want []int64
	}{
		{"none", url.Values{}, []int64{101, 102, 103, 104, 105}},
		{"source_type", url.Values{"filter[source_type]": {"rule"}}, []int64{103, 104}},
		{"source_type and id", url.Values{"filter[source_type]": {"user"}, "filter[source_id]": {"11"}}, []int64{101}},
		{"actor_id", url.Values{"filter[actor_id]": {"2"}}, []int64{103, 105}},
		{"system actor", url.Values{"filter[actor_id]": {"-1"}}, []int64{104}},
		{"ip v4", url.Values{"filter[ip_address]": {"203.0.113.9"}}, []int64{101, 103}},
		{"ip v6", url.Values{"filter[ip_address]": {"2001:db8::7"}}, []int64{102, 105}},
		{"action", url.Values{"filter[action]": {"update"}}, []int64{102, 103}},
		{"blank filter ignored", url.Values{"filter[action]": {""}}, []int64{101, 102, 103, 104, 105}},
		{"created_at inclusive", url.Values{"filter[created_at][]": {ts(1), ts(3)}}, []int64{102, 103, 104}},
		{"created_at single second", url.Values{"filter[created_at][]": {ts(2), ts(2)}}, []int64{103}},
		{"created_at without brackets", url.Values{"filter[created_at]": {ts(3), ts(10)}}, []int64{104, 105}},
		{"created_at reversed bounds", url.Values{"filter[created_at][]": {ts(3), ts(1)}}, []int64{}},
		{"combined", url.Values{"filter[created_at][]": {ts(0), ts(2)}, "filter[action]": {"update"}, "filter[actor_id]": {"1"}}, []int64{102}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{"cursor", "offset"} {
				q := url.Values{}
				for k, v := range tt.q {
					q[k] = v
				}
				if mode == "cursor" {
					q.Set("page[size]", "100")
				}
				r := get(t, listURL(base, q))
				require.Equal(t, http.StatusOK, r.status, "%s: %s", mode, r.body)
				var body struct {
					AuditLogs []map[string]any `json:"audit_logs"`
				}
				require.NoError(t, json.Unmarshal(r.body, &body))
				assert.ElementsMatch(t, tt.want, pageIDs(body.AuditLogs), mode)
			}
			// Export accepts the same filters.
			clock.Advance(time.Minute)
			r := do(t, http.MethodPost, base+"/api/v2/audit_logs/export?"+tt.q.Encode(), goodAuth)
			assert.Equal(t, http.StatusAccepted, r.status, "export: %s", r.body)
		})
	}
}

func TestFilterValidation(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	filterFixture(sim)
	tests := []struct {
		name string
		q    url.Values
	}{
		{"source_id without type", url.Values{"filter[source_id]": {"11"}}},
		{"source_id not integer", url.Values{"filter[source_type]": {"user"}, "filter[source_id]": {"x"}}},
		{"actor_id not integer", url.Values{"filter[actor_id]": {"me"}}},
		{"created_at once", url.Values{"filter[created_at][]": {"2024-05-01T00:00:00Z"}}},
		{"created_at three times", url.Values{"filter[created_at][]": {"2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z"}}},
		{"created_at space", url.Values{"filter[created_at][]": {"2024-05-01 00:00:00Z", "2024-05-02T00:00:00Z"}}},
		{"created_at offset", url.Values{"filter[created_at][]": {"2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00Z"}}},
		{"created_at millis", url.Values{"filter[created_at][]": {"2024-05-01T00:00:00.000Z", "2024-05-02T00:00:00Z"}}},
		{"created_at date only", url.Values{"filter[created_at][]": {"2024-05-01", "2024-05-02"}}},
		{"created_at bad month", url.Values{"filter[created_at][]": {"2024-13-01T00:00:00Z", "2024-05-02T00:00:00Z"}}},
		{"created_at empty", url.Values{"filter[created_at][]": {"", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, u := range []string{
				listURL(base, tt.q),
				listURL(base, withParam(tt.q, "page[size]", "10")),
			} {
				r := get(t, u)
				require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
				assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
				m := r.json(t)
				assert.Equal(t, "InvalidValue", m["error"])
				assert.NotEmpty(t, m["description"])
			}
			r := do(t, http.MethodPost, base+"/api/v2/audit_logs/export?"+tt.q.Encode(), goodAuth)
			require.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "InvalidValue", r.json(t)["error"])
		})
	}
}

func withParam(q url.Values, k, v string) url.Values {
	out := cloneValues(q)
	out.Set(k, v)
	return out
}

type offsetResp struct {
	AuditLogs    []map[string]any `json:"audit_logs"`
	NextPage     *string          `json:"next_page"`
	PreviousPage *string          `json:"previous_page"`
	Count        int              `json:"count"`
}

func getOffsetPage(t *testing.T, u string) offsetResp {
	t.Helper()
	r := get(t, u)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var p offsetResp
	require.NoError(t, json.Unmarshal(r.body, &p))
	return p
}

func TestOffsetPagination(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 4})
	sim.Generate(250, t0, t0.Add(time.Hour))
	want := allIDs(sim.Records())

	for _, tt := range []struct {
		name string
		q    url.Values
		asc  bool
	}{
		{"default desc", url.Values{"per_page": {"30"}}, false},
		{"asc", url.Values{"per_page": {"30"}, "sort_by": {"created_at"}, "sort_order": {"asc"}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ids []int64
			var created []string
			u := base + "/api/v2/audit_logs.json?" + tt.q.Encode()
			pages := 0
			for {
				p := getOffsetPage(t, u)
				pages++
				assert.Equal(t, 250, p.Count)
				assert.Equal(t, pages > 1, p.PreviousPage != nil)
				ids = append(ids, pageIDs(p.AuditLogs)...)
				for _, l := range p.AuditLogs {
					created = append(created, l["created_at"].(string))
				}
				if p.NextPage == nil {
					break
				}
				nu, err := url.Parse(*p.NextPage)
				require.NoError(t, err)
				assert.Equal(t, strconv.Itoa(pages+1), nu.Query().Get("page"))
				assert.Equal(t, "/api/v2/audit_logs.json", nu.Path)
				u = *p.NextPage
			}
			assert.Equal(t, 9, pages)
			requireExactlyOnce(t, want, ids)
			requireSorted(t, created, tt.asc)
		})
	}

	// Same-second order is stable across offset queries.
	sim.GenerateBurst(50, t0.Add(2*time.Hour))
	q := url.Values{"per_page": {"20"}}
	a := pageIDs(getOffsetPage(t, listURL(base, q)).AuditLogs)
	b := pageIDs(getOffsetPage(t, listURL(base, q)).AuditLogs)
	assert.Equal(t, a, b)

	// Beyond the last page: empty, with a previous page.
	p := getOffsetPage(t, listURL(base, url.Values{"page": {"50"}}))
	assert.Empty(t, p.AuditLogs)
	assert.Nil(t, p.NextPage)
	assert.NotNil(t, p.PreviousPage)
}

func TestOffsetValidationAndCap(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.GenerateBurst(5, t0)
	tests := []struct {
		name   string
		q      url.Values
		status int
		error  string
	}{
		{"page 100 of 100", url.Values{"page": {"100"}, "per_page": {"100"}}, 200, ""},
		{"page 101 of 100", url.Values{"page": {"101"}, "per_page": {"100"}}, 400, "InvalidPaginationParameter"},
		{"default per_page is 100", url.Values{"page": {"101"}}, 400, "InvalidPaginationParameter"},
		{"page 334 of 30", url.Values{"page": {"334"}, "per_page": {"30"}}, 400, "InvalidPaginationParameter"},
		{"page 333 of 30", url.Values{"page": {"333"}, "per_page": {"30"}}, 200, ""},
		{"huge page", url.Values{"page": {"9223372036854775807"}}, 400, "InvalidPaginationParameter"},
		{"page zero", url.Values{"page": {"0"}}, 400, "InvalidPaginationParameter"},
		{"page text", url.Values{"page": {"two"}}, 400, "InvalidPaginationParameter"},
		{"per_page zero", url.Values{"per_page": {"0"}}, 400, "InvalidPaginationParameter"},
		{"per_page oversize clamps", url.Values{"per_page": {"500"}, "page": {"100"}}, 200, ""},
		{"sort_by other", url.Values{"sort_by": {"id"}}, 400, "InvalidValue"},
		{"sort_order other", url.Values{"sort_order": {"up"}}, 400, "InvalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, listURL(base, tt.q))
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.error != "" {
				m := r.json(t)
				assert.Equal(t, tt.error, m["error"])
				assert.NotEmpty(t, m["description"])
			}
		})
	}
	assert.Equal(t, 1, sim.Stats().OversizePageRequests)
	p := getOffsetPage(t, listURL(base, url.Values{"per_page": {"2"}}))
	assert.Len(t, p.AuditLogs, 2)
	assert.Equal(t, 5, p.Count)
}
