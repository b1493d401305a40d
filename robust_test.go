package zendeskauditlogsreceiver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// storedPosition reads the receiver's checkpoint from host's storage
// extension, once the receiver is shut down.
func storedPosition(t *testing.T, e *env, host *storageHost) (checkpoint.Position, bool) {
	t.Helper()
	ext := host.GetExtensions()[*e.cfg.StorageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindReceiver, e.set.ID, "")
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	pos, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	return pos, found
}

// endlessChain answers every request that follows a cursor with has_more
// and no records: each time a new cursor ("new"), or A, B, A, ... ("cycle").
// The first page of a chain comes from the simulator. After giveUp such
// answers it ends the chain (has_more false), so that code that follows a
// chain forever still ends.
type endlessChain struct {
	mode   string
	giveUp int

	mu       sync.Mutex
	answered int
}

func (e *endlessChain) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := r.URL.Query().Get("page[after]")
		if after == "" {
			next.ServeHTTP(w, r)
			return
		}
		e.mu.Lock()
		e.answered++
		n := e.answered
		e.mu.Unlock()
		cursor := fmt.Sprintf("c%d", n)
		if e.mode == "cycle" {
			cursor = "A"
			if after == "A" {
				cursor = "B"
			}
		}
		more := n < e.giveUp
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"audit_logs":[],"meta":{"has_more":%t,"after_cursor":%q,"before_cursor":null}}`, more, cursor)
	})
}

func (e *endlessChain) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.answered
}

// A cursor chain the API never ends (has_more with no records, with a new
// cursor every time or a cycle A, B, A) fails the poll within a bounded
// number of requests, with an error that says what the API did and a
// recoverable error status; the checkpoint stays before what was not
// read, and the next poll tries again.
func TestEndlessCursorChainFailsThePollAndKeepsTheCheckpoint(t *testing.T) {
	for _, mode := range []string{"new", "cycle"} {
		t.Run(mode, func(t *testing.T) {
			chain := &endlessChain{mode: mode, giveUp: 2000}
			e := newEnvWith(t, zendesksim.Options{}, chain.wrap)
			now := time.Now()
			e.sim.Generate(600, now.Add(-2*time.Hour), now.Add(-time.Minute))
			e.cfg.PollInterval = 300 * time.Millisecond
			host := withFileStorage(e, t.TempDir())
			r := e.start(t, new(consumertest.LogsSink), host)

			require.Eventually(t, func() bool {
				return len(e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()) >= 2
			}, 20*time.Second, 10*time.Millisecond, "the poll fails, and the next one too")
			require.NoError(t, r.Shutdown(context.Background()))

			failed := e.logs.FilterMessageSnippet("Polling the Zendesk audit log failed").All()
			msg := fmt.Sprint(failed[0].ContextMap()["error"])
			assert.Contains(t, msg, zendesk.ErrEndlessChain.Error())
			if mode == "cycle" {
				assert.Contains(t, msg, "a cycle")
			} else {
				assert.Contains(t, msg, "pages in a row")
			}
			// At most two slices read at once without a budget, each
			// followed for MaxEmptyPages pages: a few dozen requests a
			// poll, not thousands.
			polls := len(failed) + 1
			assert.LessOrEqual(t, chain.count(), polls*4*zendesk.MaxEmptyPages, "requests per poll are bounded")
			assert.Contains(t, host.statuses(), componentstatus.StatusRecoverableError)

			// The checkpoint did not move past what was not read.
			pos, found := storedPosition(t, e, host)
			require.True(t, found, "the first page was delivered and saved")
			undone := 0
			for _, rec := range e.sim.Records() {
				if !pos.Done(rec.ID, rec.CreatedAt) {
					undone++
				}
			}
			assert.Positive(t, undone, "records the chain did not read are not marked done")
		})
	}
}
