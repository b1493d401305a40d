package zendesk_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A cursor chain returns every record exactly once, in created_at order,
// even when 350 records share one second and a page holds 100.
func TestListCursorChainReturnsEveryRecordOnce(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now().UTC()
	sim.Generate(400, now.Add(-3*time.Hour), now.Add(-time.Hour))
	burst := sim.GenerateBurst(350, now.Add(-2*time.Hour))
	require.Len(t, burst, 350)
	want := sortedIDs(t, recordIDs(sim.Records(), nil))
	require.Len(t, want, 750)
	c := newClient(t, fastOptions(ts.URL))

	for _, tc := range []struct {
		name string
		sort zendesk.Sort
		// before reports whether a may come before b.
		inOrder func(a, b time.Time) bool
	}{
		{"ascending", zendesk.SortAscending, func(a, b time.Time) bool { return !a.After(b) }},
		{"descending", zendesk.SortDescending, func(a, b time.Time) bool { return !a.Before(b) }},
		{"default is newest first", zendesk.SortDefault, func(a, b time.Time) bool { return !a.Before(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := walk(t, c, zendesk.ListParams{PageSize: 100, Sort: tc.sort})
			assert.Equal(t, want, sortedIDs(t, ids(got)), "every record exactly once")
			assert.GreaterOrEqual(t, pages, 8)
			for i := 1; i < len(got); i++ {
				require.True(t, tc.inOrder(got[i-1].CreatedAt.Value, got[i].CreatedAt.Value),
					"record %d (%s) is out of order after %s", i, got[i].CreatedAt.Value, got[i-1].CreatedAt.Value)
			}
			inBurst := 0
			for _, l := range got {
				if l.CreatedAt.Value.Equal(burst[0].CreatedAt) {
					inBurst++
				}
			}
			assert.GreaterOrEqual(t, inBurst, 350, "the whole same-second burst")
		})
	}
	assert.Zero(t, sim.Stats().OversizePageRequests)
}

// A page reports whether more follows and the cursors to move on or back.
func TestListPageCursors(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now()
	sim.Generate(30, now.Add(-time.Hour), now.Add(-time.Minute))
	c := newClient(t, fastOptions(ts.URL))

	first, err := c.List(ctxBG, zendesk.ListParams{PageSize: 10, Sort: zendesk.SortAscending})
	require.NoError(t, err)
	require.Len(t, first.AuditLogs, 10)
	assert.True(t, first.HasMore)
	assert.NotEmpty(t, first.AfterCursor)
	assert.NotEmpty(t, first.BeforeCursor)

	second, err := c.List(ctxBG, zendesk.ListParams{PageSize: 10, Sort: zendesk.SortAscending, After: first.AfterCursor})
	require.NoError(t, err)
	require.Len(t, second.AuditLogs, 10)

	back, err := c.List(ctxBG, zendesk.ListParams{PageSize: 10, Sort: zendesk.SortAscending, Before: second.BeforeCursor})
	require.NoError(t, err)
	assert.Equal(t, ids(first.AuditLogs), ids(back.AuditLogs), "page[before] leads back to the first page")
}

// Parameters the API would refuse are refused before any request.
func TestListRejectsInvalidParamsWithoutARequest(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	c := newClient(t, fastOptions(ts.URL))
	now := time.Now()

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"source_id without source_type (list)", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{Filter: zendesk.Filter{SourceID: 42}})
			return err
		}},
		{"source_id without source_type (offset)", func() error {
			_, err := c.ListOffset(ctxBG, zendesk.OffsetParams{Filter: zendesk.Filter{SourceID: 42}})
			return err
		}},
		{"source_id without source_type (export)", func() error {
			return c.Export(ctxBG, zendesk.Filter{SourceID: 42})
		}},
		{"created_at start without end", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{Filter: zendesk.Filter{CreatedAtStart: now}})
			return err
		}},
		{"created_at end before start", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{Filter: zendesk.Filter{CreatedAtStart: now, CreatedAtEnd: now.Add(-time.Hour)}})
			return err
		}},
		{"page size over 100", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{PageSize: 101})
			return err
		}},
		{"negative page size", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{PageSize: -1})
			return err
		}},
		{"after and before", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{After: "a", Before: "b"})
			return err
		}},
		{"unknown sort", func() error {
			_, err := c.List(ctxBG, zendesk.ListParams{Sort: "id"})
			return err
		}},
		{"per_page over 100", func() error {
			_, err := c.ListOffset(ctxBG, zendesk.OffsetParams{PerPage: 101})
			return err
		}},
		{"unknown sort_order", func() error {
			_, err := c.ListOffset(ctxBG, zendesk.OffsetParams{SortOrder: "up"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.call())
		})
	}
	assert.Zero(t, sim.Stats().Requests, "no request reaches the server")
}

// Each filter narrows the listing to the records it names.
func TestListFilters(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now().UTC().Truncate(time.Second)
	recs := sim.Generate(600, now.Add(-4*time.Hour), now.Add(-time.Hour))
	c := newClient(t, fastOptions(ts.URL))

	// Values taken from the data, so every filter matches something.
	var withIP zendesksim.Record
	for _, r := range recs {
		if r.IPAddress != nil && r.ActorID > 0 {
			withIP = r
			break
		}
	}
	require.NotNil(t, withIP.IPAddress)
	pick := recs[len(recs)/3]
	start, end := now.Add(-3*time.Hour), now.Add(-2*time.Hour)

	for _, tc := range []struct {
		name   string
		filter zendesk.Filter
		match  func(zendesksim.Record) bool
		// edge is true for records the filter may or may not return
		// (the created_at bounds, whose inclusiveness is undocumented).
		edge func(zendesksim.Record) bool
	}{
		{
			name:   "source_type",
			filter: zendesk.Filter{SourceType: "rule"},
			match:  func(r zendesksim.Record) bool { return r.SourceType == "rule" },
		},
		{
			name:   "source_type and source_id",
			filter: zendesk.Filter{SourceType: pick.SourceType, SourceID: pick.SourceID},
			match: func(r zendesksim.Record) bool {
				return r.SourceType == pick.SourceType && r.SourceID == pick.SourceID
			},
		},
		{
			name:   "actor_id",
			filter: zendesk.Filter{ActorID: withIP.ActorID},
			match:  func(r zendesksim.Record) bool { return r.ActorID == withIP.ActorID },
		},
		{
			name:   "system actor -1",
			filter: zendesk.Filter{ActorID: -1},
			match:  func(r zendesksim.Record) bool { return r.ActorID == -1 },
		},
		{
			name:   "ip_address",
			filter: zendesk.Filter{IPAddress: *withIP.IPAddress},
			match: func(r zendesksim.Record) bool {
				return r.IPAddress != nil && *r.IPAddress == *withIP.IPAddress
			},
		},
		{
			name:   "action",
			filter: zendesk.Filter{Action: "update"},
			match:  func(r zendesksim.Record) bool { return r.Action == "update" },
		},
		{
			name:   "created_at",
			filter: zendesk.Filter{CreatedAtStart: start, CreatedAtEnd: end},
			match: func(r zendesksim.Record) bool {
				return r.CreatedAt.After(start) && r.CreatedAt.Before(end)
			},
			edge: func(r zendesksim.Record) bool {
				return r.CreatedAt.Equal(start) || r.CreatedAt.Equal(end)
			},
		},
		{
			name:   "combined",
			filter: zendesk.Filter{Action: "update", SourceType: "user", CreatedAtStart: start, CreatedAtEnd: end},
			match: func(r zendesksim.Record) bool {
				return r.Action == "update" && r.SourceType == "user" && r.CreatedAt.After(start) && r.CreatedAt.Before(end)
			},
			edge: func(r zendesksim.Record) bool {
				return r.Action == "update" && r.SourceType == "user" && (r.CreatedAt.Equal(start) || r.CreatedAt.Equal(end))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := recordIDs(recs, tc.match)
			require.NotEmpty(t, want, "the filter matches some records")
			require.Less(t, len(want), len(recs), "the filter leaves some records out")
			edge := recordIDs(recs, tc.edge)
			if tc.edge == nil {
				edge = nil
			}

			got, _ := walk(t, c, zendesk.ListParams{Filter: tc.filter, PageSize: 100, Sort: zendesk.SortAscending})
			gotIDs := sortedIDs(t, ids(got))
			var core []int64
			for _, id := range gotIDs {
				if !slices.Contains(edge, id) {
					core = append(core, id)
				}
			}
			assert.Equal(t, sortedIDs(t, want), core)

			off, err := c.ListOffset(ctxBG, zendesk.OffsetParams{Filter: tc.filter, PerPage: 100})
			require.NoError(t, err)
			assert.Equal(t, len(gotIDs), off.Count, "offset pagination applies the same filter")
		})
	}
}

// The filters go on the wire as the API names them; created_at twice,
// start then end, in UTC whole seconds.
func TestFilterQueryOnTheWire(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			answer(w, http.StatusAccepted, "", "")
			return
		}
		answer(w, http.StatusOK, "application/json", emptyPage)
	})
	c := newClient(t, fastOptions(ts.URL))
	berlin := time.FixedZone("CEST", 2*60*60)
	f := zendesk.Filter{
		SourceType:     "zendesk/app_market/app",
		SourceID:       361782910283,
		ActorID:        -1,
		IPAddress:      "2001:db8::1",
		Action:         "update",
		CreatedAtStart: time.Date(2024, 5, 1, 13, 32, 44, 999_000_000, berlin),
		CreatedAtEnd:   time.Date(2024, 5, 2, 1, 2, 3, 0, time.UTC),
	}

	_, err := c.List(ctxBG, zendesk.ListParams{Filter: f, PageSize: 25, Sort: zendesk.SortAscending, After: "abc=="})
	require.NoError(t, err)
	_, err = c.ListOffset(ctxBG, zendesk.OffsetParams{Filter: f, Page: 2, PerPage: 50, SortBy: "created_at", SortOrder: "asc"})
	require.NoError(t, err)
	require.NoError(t, c.Export(ctxBG, f))

	reqs := capt.all()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, []string{"2024-05-01T11:32:44Z", "2024-05-02T01:02:03Z"}, r.query["filter[created_at][]"], "start then end, UTC, fraction dropped")
		startAt := strings.Index(r.rawQuery, "2024-05-01T11%3A32%3A44Z")
		endAt := strings.Index(r.rawQuery, "2024-05-02T01%3A02%3A03Z")
		require.GreaterOrEqual(t, startAt, 0, r.rawQuery)
		assert.Less(t, startAt, endAt, "start comes first in the raw query: %s", r.rawQuery)
		assert.Equal(t, 2, strings.Count(r.rawQuery, "filter%5Bcreated_at%5D%5B%5D="), "the key is sent twice: %s", r.rawQuery)
		assert.Equal(t, "zendesk/app_market/app", r.query.Get("filter[source_type]"))
		assert.Equal(t, "361782910283", r.query.Get("filter[source_id]"))
		assert.Equal(t, "-1", r.query.Get("filter[actor_id]"))
		assert.Equal(t, "2001:db8::1", r.query.Get("filter[ip_address]"))
		assert.Equal(t, "update", r.query.Get("filter[action]"))
	}

	list, offset, export := reqs[0], reqs[1], reqs[2]
	assert.Equal(t, "/api/v2/audit_logs", list.path)
	assert.Equal(t, "25", list.query.Get("page[size]"))
	assert.Equal(t, "created_at", list.query.Get("sort"))
	assert.Equal(t, "abc==", list.query.Get("page[after]"))
	assert.False(t, list.query.Has("page[before]"))

	assert.Equal(t, "/api/v2/audit_logs", offset.path)
	assert.False(t, offset.query.Has("page[size]"), "offset pagination sends no page[size]")
	assert.Equal(t, "2", offset.query.Get("page"))
	assert.Equal(t, "50", offset.query.Get("per_page"))
	assert.Equal(t, "created_at", offset.query.Get("sort_by"))
	assert.Equal(t, "asc", offset.query.Get("sort_order"))

	assert.Equal(t, http.MethodPost, export.method)
	assert.Equal(t, "/api/v2/audit_logs/export", export.path)
	for _, k := range []string{"page[size]", "page", "per_page", "sort"} {
		assert.False(t, export.query.Has(k), "export sends no %s", k)
	}
}

// Zero values are not sent; an empty listing asks for pages of 100.
func TestListDefaultsOnTheWire(t *testing.T) {
	t.Parallel()
	capt, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, "application/json", emptyPage)
	})
	c := newClient(t, fastOptions(ts.URL))
	page, err := c.List(ctxBG, zendesk.ListParams{})
	require.NoError(t, err)
	assert.Empty(t, page.AuditLogs)
	assert.False(t, page.HasMore)
	assert.Empty(t, page.AfterCursor)

	reqs := capt.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, "page%5Bsize%5D=100", reqs[0].rawQuery)
}

// has_more without an after_cursor would loop forever: it is a decode
// error.
func TestListHasMoreWithoutCursorIsADecodeError(t *testing.T) {
	t.Parallel()
	_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, "application/json", `{"audit_logs":[{"id":1}],"meta":{"has_more":true,"after_cursor":null}}`)
	})
	c := newClient(t, fastOptions(ts.URL))
	_, err := c.List(ctxBG, zendesk.ListParams{})
	assert.Equal(t, zendesk.KindDecode, zendesk.KindOf(err))
}

// Offset pages: count, next_page and previous_page, and the 10,000-record
// cap answered with Zendesk's own error.
func TestListOffset(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	now := time.Now()
	sim.Generate(250, now.Add(-time.Hour), now.Add(-time.Minute))
	c := newClient(t, fastOptions(ts.URL))

	var got []zendesk.AuditLog
	for n, want := range []struct {
		records          int
		hasNext, hasPrev bool
	}{
		{100, true, false},
		{100, true, true},
		{50, false, true},
	} {
		page, err := c.ListOffset(ctxBG, zendesk.OffsetParams{Page: n + 1, PerPage: 100, SortOrder: "asc"})
		require.NoError(t, err)
		assert.Len(t, page.AuditLogs, want.records, "page %d", n+1)
		assert.Equal(t, 250, page.Count)
		assert.Equal(t, want.hasNext, page.NextPage != "", "next_page of page %d: %q", n+1, page.NextPage)
		assert.Equal(t, want.hasPrev, page.PreviousPage != "", "previous_page of page %d: %q", n+1, page.PreviousPage)
		got = append(got, page.AuditLogs...)
	}
	assert.Equal(t, sortedIDs(t, recordIDs(sim.Records(), nil)), sortedIDs(t, ids(got)))
	for i := 1; i < len(got); i++ {
		require.False(t, got[i].CreatedAt.Value.Before(got[i-1].CreatedAt.Value), "ascending order")
	}

	defaults, err := c.ListOffset(ctxBG, zendesk.OffsetParams{})
	require.NoError(t, err)
	assert.Len(t, defaults.AuditLogs, 100, "per_page defaults to 100")
	for i := 1; i < len(defaults.AuditLogs); i++ {
		require.False(t, defaults.AuditLogs[i].CreatedAt.Value.After(defaults.AuditLogs[i-1].CreatedAt.Value), "newest first by default")
	}

	_, err = c.ListOffset(ctxBG, zendesk.OffsetParams{Page: 101, PerPage: 100})
	e := asError(t, err)
	assert.Equal(t, zendesk.KindInvalid, e.Kind)
	assert.Equal(t, http.StatusBadRequest, e.StatusCode)
	assert.Equal(t, "InvalidPaginationParameter", e.Code)
	assert.Contains(t, e.Description, "10000")
	assert.False(t, e.Retryable())
	assert.Equal(t, 1, e.Attempts, "a refused request is not retried")
	assert.Contains(t, e.Error(), "InvalidPaginationParameter")
}

// A page says how long the API took to start answering (Latency: until
// the response's head arrived) apart from how long the whole answer took
// (RoundTrip: the body read too), so that the receiver can tell the API's
// own latency from time spent on this side reading the body.
func TestListPageLatencyEndsWithTheResponsesHead(t *testing.T) {
	t.Parallel()
	_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the head goes now, the body later
		time.Sleep(60 * time.Millisecond)
		_, _ = w.Write([]byte(emptyPage))
	})
	page, err := newClient(t, fastOptions(ts.URL)).List(t.Context(), zendesk.ListParams{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, page.Latency, 30*time.Millisecond, "the wait before the head")
	assert.GreaterOrEqual(t, page.RoundTrip, 90*time.Millisecond, "both waits")
	assert.Less(t, page.Latency, page.RoundTrip, "the body is read after the head")
}

// A page carries the API's clock: the response's Date header, to the
// second; zero when the header cannot be read. And how long the answer
// took.
func TestListPageCarriesTheResponseDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, date string
		want       time.Time
	}{
		{"IMF-fixdate", "Tue, 01 Dec 2026 15:04:05 GMT", time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)},
		{"unreadable", "yesterday", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				time.Sleep(30 * time.Millisecond)
				answer(w, http.StatusOK, "application/json", emptyPage, "Date", tc.date)
			})
			page, err := newClient(t, fastOptions(ts.URL)).List(t.Context(), zendesk.ListParams{})
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(page.Date), "Date %s, want %s", page.Date, tc.want)
			assert.GreaterOrEqual(t, page.RoundTrip, 30*time.Millisecond)
			assert.Less(t, page.RoundTrip, 10*time.Second)
		})
	}
}
