package zendesksim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allIDs returns the ids of recs in the given order.
func allIDs(recs []Record) []int64 {
	ids := make([]int64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

func requireExactlyOnce(t *testing.T, want, got []int64) {
	t.Helper()
	seen := make(map[int64]int, len(got))
	for _, id := range got {
		seen[id]++
		require.Equal(t, 1, seen[id], "id %d returned twice", id)
	}
	require.ElementsMatch(t, want, got)
}

func requireSorted(t *testing.T, created []string, asc bool) {
	t.Helper()
	for i := 1; i < len(created); i++ {
		if asc {
			require.LessOrEqual(t, created[i-1], created[i], "at %d", i)
		} else {
			require.GreaterOrEqual(t, created[i-1], created[i], "at %d", i)
		}
	}
}

func TestCursorChainExactlyOnce(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 7})
	sim.Generate(300, t0, t0.Add(time.Hour))
	sim.GenerateBurst(400, t0.Add(30*time.Minute))
	want := allIDs(sim.Records())

	for _, tt := range []struct {
		sort string
		asc  bool
	}{{"created_at", true}, {"-created_at", false}, {"", false}} {
		t.Run("sort="+tt.sort, func(t *testing.T) {
			q := url.Values{"page[size]": {"100"}}
			if tt.sort != "" {
				q.Set("sort", tt.sort)
			}
			ids, created := walkChain(t, listURL(base, q), nil)
			requireExactlyOnce(t, want, ids)
			requireSorted(t, created, tt.asc)
		})
	}
}

func TestCursorTieOrderDiffersBetweenQueries(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 1})
	burst := sim.GenerateBurst(400, t0)
	q := url.Values{"page[size]": {"100"}, "sort": {"created_at"}}

	first := pageIDs(getCursorPage(t, listURL(base, q)).AuditLogs)
	second := pageIDs(getCursorPage(t, listURL(base, q)).AuditLogs)
	require.Len(t, first, 100)
	assert.NotEqual(t, first, second, "same-second order should differ between separate queries")
	assert.False(t, slices.IsSorted(first), "same-second order should not be id order")

	// Each chain is still exact.
	for range 2 {
		ids, _ := walkChain(t, listURL(base, q), nil)
		requireExactlyOnce(t, allIDs(burst), ids)
	}
}

func TestCursorChainWithInsertions(t *testing.T) {
	for _, asc := range []bool{true, false} {
		name := map[bool]string{true: "asc", false: "desc"}[asc]
		t.Run(name, func(t *testing.T) {
			sim, base := newTestServer(t, Options{Seed: 3})
			// 10 records per second over seconds 0..49, and a burst at 25.
			for s := range 50 {
				for range 10 {
					sim.Add(recordAt(sim.NextID(), t0.Add(time.Duration(s)*time.Second)))
				}
			}
			sim.GenerateBurst(250, t0.Add(25*time.Second))
			want := allIDs(sim.Records())

			sort := "-created_at"
			ahead, behind := t0.Add(-time.Hour), t0.Add(time.Hour) // desc: older records are still ahead
			if asc {
				sort = "created_at"
				ahead, behind = behind, ahead
			}
			var unseen []int64
			q := url.Values{"page[size]": {"100"}, "sort": {sort}}
			ids, created := walkChain(t, listURL(base, q), func(page int) {
				if page > 3 {
					return
				}
				// Inserted ahead of the chain's position: must be returned.
				a := recordAt(sim.NextID(), ahead.Add(time.Duration(page)*time.Second))
				// Inserted behind the chain's position: must not be.
				b := recordAt(sim.NextID(), behind)
				sim.Add(a, b)
				want = append(want, a.ID)
				unseen = append(unseen, b.ID)
			})
			requireExactlyOnce(t, want, ids)
			requireSorted(t, created, asc)
			for _, id := range unseen {
				assert.NotContains(t, ids, id)
			}
		})
	}
}

func TestCursorInsertionIntoCurrentSecond(t *testing.T) {
	// Records inserted into the second the chain is walking come back at
	// most once, and the original ones exactly once.
	sim, base := newTestServer(t, Options{Seed: 5})
	burst := sim.GenerateBurst(300, t0)
	var added []int64
	q := url.Values{"page[size]": {"100"}, "sort": {"created_at"}}
	ids, _ := walkChain(t, listURL(base, q), func(int) {
		added = append(added, allIDs(sim.GenerateBurst(20, t0))...)
	})
	var orig []int64
	for _, id := range ids {
		if !slices.Contains(added, id) {
			orig = append(orig, id)
		}
	}
	requireExactlyOnce(t, allIDs(burst), orig)
	requireExactlyOnce(t, ids, ids)
}

func TestCursorBackwards(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 9})
	sim.GenerateBurst(250, t0)
	sim.Generate(100, t0.Add(time.Second), t0.Add(time.Minute))

	for _, sort := range []string{"created_at", "-created_at"} {
		t.Run(sort, func(t *testing.T) {
			u := listURL(base, url.Values{"page[size]": {"100"}, "sort": {sort}})
			var pages [][]int64
			p := getCursorPage(t, u)
			assert.Nil(t, p.Links.Prev, "first page has no prev")
			for {
				pages = append(pages, pageIDs(p.AuditLogs))
				if p.Links.Next == nil {
					break
				}
				p = getCursorPage(t, *p.Links.Next)
			}
			require.Len(t, pages, 4)
			// Walk back from the last page: each prev page equals the
			// forward page before it.
			for i := len(pages) - 2; i >= 0; i-- {
				require.NotNil(t, p.Links.Prev)
				p = getCursorPage(t, *p.Links.Prev)
				assert.Equal(t, pages[i], pageIDs(p.AuditLogs), "page %d", i)
				assert.Equal(t, i > 0, p.Meta.HasMore)
				require.NotNil(t, p.Links.Next)
			}
			assert.Nil(t, p.Links.Prev)
		})
	}
}

func TestCursorMetaAndLinks(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 2})
	for i := range 5 {
		sim.Add(recordAt(sim.NextID(), t0.Add(time.Duration(i)*time.Second)))
	}
	q := url.Values{
		"page[size]":           {"2"},
		"sort":                 {"created_at"},
		"filter[source_type]":  {"user"},
		"filter[created_at][]": {"2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"},
	}
	p := getCursorPage(t, base+"/api/v2/audit_logs.json?"+q.Encode())
	require.Len(t, p.AuditLogs, 2)
	require.True(t, p.Meta.HasMore)
	require.NotNil(t, p.Meta.AfterCursor)
	require.NotNil(t, p.Meta.BeforeCursor)
	require.NotNil(t, p.Links.Next)

	next, err := url.Parse(*p.Links.Next)
	require.NoError(t, err)
	assert.Equal(t, "/api/v2/audit_logs.json", next.Path, "links keep the .json suffix")
	nq := next.Query()
	assert.Equal(t, *p.Meta.AfterCursor, nq.Get("page[after]"))
	nq.Del("page[after]")
	assert.Equal(t, q, nq, "links.next repeats the original query")

	// Following next, then the last page.
	p = getCursorPage(t, *p.Links.Next)
	require.NotNil(t, p.Links.Prev)
	assert.Contains(t, *p.Links.Prev, "page%5Bbefore%5D=")
	assert.NotContains(t, *p.Links.Prev, "page%5Bafter%5D=")
	p = getCursorPage(t, *p.Links.Next)
	require.Len(t, p.AuditLogs, 1)
	assert.False(t, p.Meta.HasMore)
	assert.Nil(t, p.Links.Next)
	require.NotNil(t, p.Meta.AfterCursor, "a finished chain can resume later")

	// Resuming after the end gives an empty page with null cursors.
	last := *p.Meta.AfterCursor
	q.Set("page[after]", last)
	p = getCursorPage(t, listURL(base, q))
	assert.Empty(t, p.AuditLogs)
	assert.NotNil(t, p.AuditLogs, "audit_logs is [] not null")
	assert.Nil(t, p.Meta.AfterCursor)
	assert.Nil(t, p.Meta.BeforeCursor)
	assert.False(t, p.Meta.HasMore)

	// A record arriving later is found from the saved cursor.
	sim.Add(recordAt(sim.NextID(), t0.Add(time.Minute)))
	p = getCursorPage(t, listURL(base, q))
	assert.Len(t, p.AuditLogs, 1)
}

func TestLinksBaseURL(t *testing.T) {
	sim, base := newTestServer(t, Options{LinksBaseURL: "https://evil.example.com/"})
	sim.GenerateBurst(3, t0)
	p := getCursorPage(t, listURL(base, url.Values{"page[size]": {"1"}}))
	require.NotNil(t, p.Links.Next)
	assert.True(t, strings.HasPrefix(*p.Links.Next, "https://evil.example.com/api/v2/audit_logs?"), *p.Links.Next)
	assert.True(t, strings.HasPrefix(p.AuditLogs[0]["url"].(string), base+"/"), "record urls keep the request base")

	r := get(t, base+"/api/v2/audit_logs?per_page=1")
	require.Equal(t, http.StatusOK, r.status)
	assert.True(t, strings.HasPrefix(r.json(t)["next_page"].(string), "https://evil.example.com/api/v2/audit_logs?"))
}

func TestCursorValidation(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.GenerateBurst(3, t0)
	good := getCursorPage(t, listURL(base, url.Values{"page[size]": {"1"}}))
	after := *good.Meta.AfterCursor
	garbled := []byte(after)
	garbled[5] ^= 1

	pagination := "InvalidPaginationParameter"
	tests := []struct {
		name  string
		q     url.Values
		error string
	}{
		{"size zero", url.Values{"page[size]": {"0"}}, pagination},
		{"size negative", url.Values{"page[size]": {"-5"}}, pagination},
		{"size not integer", url.Values{"page[size]": {"ten"}}, pagination},
		{"size empty", url.Values{"page[size]": {""}}, pagination},
		{"size float", url.Values{"page[size]": {"1.5"}}, pagination},
		{"garbled cursor", url.Values{"page[size]": {"1"}, "page[after]": {string(garbled)}}, pagination},
		{"not base64", url.Values{"page[size]": {"1"}, "page[after]": {"***"}}, pagination},
		{"truncated cursor", url.Values{"page[size]": {"1"}, "page[after]": {after[:10]}}, pagination},
		{"garbled before", url.Values{"page[before]": {"abc"}}, pagination},
		{"after and before", url.Values{"page[after]": {after}, "page[before]": {after}}, pagination},
		{"bad sort", url.Values{"page[size]": {"1"}, "sort": {"id"}}, "InvalidValue"},
		{"sort with plus", url.Values{"page[size]": {"1"}, "sort": {"+created_at"}}, "InvalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, listURL(base, tt.q))
			require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
			m := r.json(t)
			assert.Equal(t, tt.error, m["error"])
			assert.NotEmpty(t, m["description"])
		})
	}
}

func TestCursorPageSize(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	sim.GenerateBurst(150, t0)
	for _, tt := range []struct {
		size     string
		want     int
		oversize int
	}{
		{"1", 1, 0}, {"100", 100, 0}, {"101", 100, 1}, {"1000", 100, 2},
	} {
		p := getCursorPage(t, listURL(base, url.Values{"page[size]": {tt.size}}))
		assert.Len(t, p.AuditLogs, tt.want, tt.size)
		assert.Equal(t, tt.oversize, sim.Stats().OversizePageRequests, tt.size)
	}
	// page[after] alone selects cursor pagination with 100 records a page.
	p := getCursorPage(t, listURL(base, url.Values{"page[size]": {"10"}}))
	p2 := getCursorPage(t, listURL(base, url.Values{"page[after]": {*p.Meta.AfterCursor}}))
	assert.Len(t, p2.AuditLogs, 100)
}

func TestCursorEncoding(t *testing.T) {
	c := cursor{salt: 0xdeadbeef, sec: 1714563164, id: 123456789012}
	got, err := decodeCursor(c.encode())
	require.NoError(t, err)
	assert.Equal(t, c, got)
	assert.NotContains(t, c.encode(), "=")
	assert.NotContains(t, c.encode(), "+")
}
