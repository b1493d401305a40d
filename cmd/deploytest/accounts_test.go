package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/otlpfile"
)

const (
	recordsPerAccount = 1500
	// Two pages a second per account: the stop lands mid-backfill.
	requestsPerMinute = 120
)

// The many-accounts configuration that deploy/kubernetes ships (one
// collector, one receiver per account, each with its own credentials and
// its own checkpoint in the same file_storage) run by the built collector
// against one simulator per account, stopped mid-backfill and started
// again: each account's records arrive exactly once, and the resource tells
// the accounts apart.
//
// What the test changes in the shipped configuration: what newShipped
// does (each account's subdomain becomes its simulator's endpoint, the
// storage directory a temporary one, the health_check port 0, the polling
// faster), and the OTLP exporter becomes a file exporter. The OTLP
// exporter and its persistent queue across a graceful restart are
// queue_test.go's.
func TestManyAccountsDeliverTheirOwnRecordsOnceAcrossARestart(t *testing.T) {
	s := newShipped(t, recordsPerAccount, requestsPerMinute)
	accounts := s.accounts
	out := filepath.Join(s.dir, "records.json")
	s.cfg["exporters"] = map[string]any{"file": map[string]any{
		"path": out, "format": "json", "append": true, "flush_interval": "100ms",
	}}
	dig(s.cfg, "service", "pipelines", "logs").(map[string]any)["exporters"] = []string{"file"}
	s.cfg["service"].(map[string]any)["telemetry"] = map[string]any{"metrics": map[string]any{"level": "none"}}

	start := func(n int) *childproc.Process { return s.start(t, fmt.Sprintf("collector-%d", n)) }
	read := func() []otlpfile.Record {
		recs, err := otlpfile.Read(out)
		require.NoError(t, err)
		return recs
	}

	// Stop it (SIGTERM) once every account is a fifth of the way.
	first := start(1)
	require.Eventually(t, func() bool {
		return !first.Exited() && s.everyAccountHas(read(), recordsPerAccount/5)
	}, 60*time.Second, 100*time.Millisecond, "the accounts' backfills did not start: %s", first.LogTail(20))
	require.NoError(t, first.Stop(30*time.Second), first.LogTail(20))
	atStop := byHost(read())
	for _, a := range accounts {
		require.Less(t, atStop[a.host], recordsPerAccount, "%s had delivered everything before the stop: not mid-backfill", a.receiver)
	}

	second := start(2)
	require.Eventually(t, func() bool {
		return !second.Exited() && s.everyAccountHas(read(), recordsPerAccount)
	}, 90*time.Second, 100*time.Millisecond, "not every record arrived after the restart: %v\n%s", byHost(read()), second.LogTail(20))
	require.NoError(t, second.Stop(30*time.Second), second.LogTail(20))

	// Each account: its own records, each once, on a resource of its own.
	recs := read()
	s.assertEachOnce(t, recs)
	for _, a := range accounts {
		st := a.sim.Stats()
		assert.Zero(t, st.ByStatus[401], "%s: requests with another account's credentials", a.receiver)
		t.Logf("%s (%s): %d records, %d requests, stopped at %d", a.receiver, a.host, byHost(recs)[a.host], st.Requests, atStop[a.host])
	}

	// Their checkpoints: one file_storage, a database for each receiver.
	files, err := os.ReadDir(filepath.Join(s.dir, "storage"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	for _, a := range accounts {
		account := strings.TrimPrefix(a.receiver, "zendesk_audit_logs/")
		assert.True(t, slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "_"+account) }),
			"no checkpoint database of %s in the storage directory: %v", a.receiver, names)
	}
}
