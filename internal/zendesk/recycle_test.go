package zendesk_test

import (
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A page given back with Recycle is where List decodes a later page: the
// later page holds exactly its own records (nothing left over from the
// page before: no Extra, no Mistyped, no field of a record it had), and a
// record copied out of the recycled page before stays as it was.
func TestListDecodesALaterPageIntoARecycledOne(t *testing.T) {
	t.Parallel()
	const (
		first = `{"audit_logs":[` +
			`{"id":1,"action":"update","actor_id":"system","actor_name":"A","created_at":"2026-12-01T10:00:00Z","source_type":"user","custom":{"k":[1,2]}},` +
			`{"id":2,"action":"login","ip_address":"10.0.0.1","created_at":"2026-12-01T10:00:01Z","change_description":"Logged in"}` +
			`],"meta":{"has_more":true,"after_cursor":"c1","before_cursor":null}}`
		second = `{"audit_logs":[{"id":3,"created_at":"2026-12-01T10:00:02Z"}],"meta":{"has_more":false,"after_cursor":null,"before_cursor":null}}`
		none   = `{"meta":{"has_more":false,"after_cursor":null,"before_cursor":null}}`
	)
	decode := func(body string) []zendesk.AuditLog {
		page, err := zendesk.DecodeCursorPage([]byte(body))
		require.NoError(t, err)
		return page.AuditLogs
	}
	wantFirst, wantSecond := decode(first), decode(second)
	require.Len(t, wantFirst, 2)
	require.NotEmpty(t, wantFirst[0].Extra)
	require.NotEmpty(t, wantFirst[0].Mistyped)

	var next string
	_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, "application/json", next)
	})
	c := newClient(t, fastOptions(ts.URL))
	list := func(body string) []zendesk.AuditLog {
		next = body
		page, err := c.List(t.Context(), zendesk.ListParams{})
		require.NoError(t, err)
		return page.AuditLogs
	}

	reused := false
	// sync.Pool may drop what it is given (under -race it drops a
	// quarter on purpose): tried until a page was reused, which the
	// checks above and below hold either way.
	for try := 0; try < 20 && !reused; try++ {
		got := list(first)
		require.Equal(t, wantFirst, got)
		kept := got[0] // a copy: valid after Recycle
		c.Recycle(got)
		later := list(second)
		assert.Equal(t, wantSecond, later, "only the later page's records")
		assert.Equal(t, wantFirst[0], kept, "a record copied out before Recycle")
		reused = &later[:1][0] == &got[:1][0]
		c.Recycle(later)
		assert.Nil(t, list(none), "no audit_logs member: no records, as without a recycled page")
	}
	assert.True(t, reused, "List never decoded into a recycled page")
}

// A body cut off in the middle of its records is read again (a decode
// error is retried); the page List returns then holds the records of the
// full body alone, nothing of what was decoded from the cut one: not a
// record, not a field of one.
func TestARetriedPageHoldsNothingOfTheAttemptCutOff(t *testing.T) {
	t.Parallel()
	const (
		cut = `{"audit_logs":[{"id":1,"ip_address":"10.9.9.9","actor_name":"Cut","source_label":"cut","created_at":"2026-12-01T10:00:00Z"},` +
			`{"id":2,"ip_address":"10.8.8.8","url":"https://x.zendesk.com/api/v2/audit_logs/2.json","created_at":"2026-12-01T10:00:01Z"},{"id":3,"act`
		full = `{"audit_logs":[{"id":1,"created_at":"2026-12-01T10:00:00Z"},{"id":2,"action":"update","created_at":"2026-12-01T10:00:01Z"}],` +
			`"meta":{"has_more":false,"after_cursor":null,"before_cursor":null}}`
	)
	want, err := zendesk.DecodeCursorPage([]byte(full))
	require.NoError(t, err)
	capture, ts := newCapture(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n%2 == 1 {
			answer(w, http.StatusOK, "application/json", cut)
			return
		}
		answer(w, http.StatusOK, "application/json", full)
	})
	c := newClient(t, fastOptions(ts.URL))
	for range 5 { // the same decoder, reused or not (see sync.Pool)
		page, err := c.List(t.Context(), zendesk.ListParams{})
		require.NoError(t, err)
		assert.Equal(t, want.AuditLogs, page.AuditLogs)
		c.Recycle(page.AuditLogs)
	}
	assert.Equal(t, 10, capture.count(), "each page read twice: cut off, then whole")
}

// What a decoded page of 100 records holds in memory: the read-ahead
// bound of the receiver (its pool of pages, README "Running many
// accounts") is stated in these. The sample page's 100 records (a 38 KB
// body) hold about 57 KB: the records (32.8 KB, a 40 KB allocation) and
// one string a record for its string fields (15.4 KB). Not parallel: it
// reads the heap while no other test of the package runs.
func TestADecodedSamplePageHoldsAbout57KB(t *testing.T) {
	body := zendesksim.SamplePage(zendesk.MaxPageSize)
	const pages = 200
	held := make([]*zendesk.Page, 0, pages)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range pages {
		p, err := zendesk.DecodeCursorPage(body)
		require.NoError(t, err)
		held = append(held, p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perPage := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / pages
	t.Logf("a decoded page of %d records (a %d-byte body) holds %d bytes", len(held[0].AuditLogs), len(body), perPage)
	assert.InDelta(t, 57_000, perPage, 4_000, "the README's and readahead.go's figure")
	runtime.KeepAlive(held)
}
