package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// list stops a cursor chain that the API never ends (has_more with no
// records, a new cursor every time or a cycle A, B, A) after a few
// requests, keeps the records read before and says what the API did.
func TestListStopsAnEndlessCursorChain(t *testing.T) {
	for _, mode := range []string{"new", "cycle"} {
		t.Run(mode, func(t *testing.T) {
			var requests atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := requests.Add(1)
				w.Header().Set("Content-Type", "application/json")
				after := r.URL.Query().Get("page[after]")
				if after == "" {
					fmt.Fprint(w, `{"audit_logs":[{"id":1,"created_at":"2024-05-01T12:00:00Z"},{"id":2,"created_at":"2024-05-01T12:00:01Z"}],`+
						`"meta":{"has_more":true,"after_cursor":"first","before_cursor":null}}`)
					return
				}
				cursor := fmt.Sprintf("c%d", n)
				if mode == "cycle" {
					cursor = map[bool]string{true: "B", false: "A"}[after == "A"]
				}
				// Code that follows the chain forever still ends, at 500.
				fmt.Fprintf(w, `{"audit_logs":[],"meta":{"has_more":%t,"after_cursor":%q,"before_cursor":null}}`, n < 500, cursor)
			}))
			t.Cleanup(ts.Close)
			env := map[string]string{envEndpoint: ts.URL, envEmail: testEmail, envAPIToken: testToken}

			r := runCLI(t, env, "list", "--max-requests-per-minute", "0", "--sort", "asc")
			assert.Equal(t, 1, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, zendesk.ErrEndlessChain.Error())
			assert.Contains(t, r.stderr, "stopping after 2 records")
			require.Len(t, parseLines(t, r.stdout), 2, "the records read before are kept")
			assert.LessOrEqual(t, int(requests.Load()), 1+zendesk.MaxEmptyPages)
		})
	}
}
