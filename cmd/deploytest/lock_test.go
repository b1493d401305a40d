package deploytest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// README, Credentials: "file_storage locks each receiver's file in its
// directory, so a second collector running the same receiver on the same
// storage does not start (its storage times out waiting for the lock)".
// The built collector runs a receiver with its checkpoint in a file_storage
// (the lock wait set with the extension's own `timeout`, 2 s), its
// exporter without a persistent queue, so that the receiver's file is the
// only one in the directory, and the simulator adds records as time goes.
// A second collector with the same configuration and directory waits for
// the lock for the timeout, then exits with an error that names the
// receiver, the storage and the timeout; the first goes on delivering the
// records created after that, each once, and stops cleanly.
func TestASecondCollectorOnTheSameStorageTimesOutOnTheLockAndExits(t *testing.T) {
	collector := builtCollector(t)
	dir := t.TempDir()
	acme := newAccount(t, "acme", 300)
	live, stopLive := context.WithCancel(context.Background())
	t.Cleanup(func() { stopLive(); acme.sim.Wait() })
	acme.sim.StartLive(live, 20, 0, 0)
	sink := newOTLPSink(t)

	const lockTimeout = 2 * time.Second
	cfg := collectorConfig(dir, sink.url, true, acme)
	dig(cfg, "extensions", "file_storage").(map[string]any)["timeout"] = lockTimeout.String()
	// No port of its own (the default telemetry serves metrics on :8888),
	// so that the lock is the only thing the two collectors share.
	dig(cfg, "service").(map[string]any)["telemetry"] = map[string]any{"metrics": map[string]any{"level": "none"}}
	sup := childproc.NewSupervisor("deploytest")
	t.Cleanup(sup.KillAll)

	first := runCollector(t, sup, collector, dir, "first", cfg)
	waitFor(t, first, time.Minute, "the first collector delivers its backlog", func() bool {
		return len(distinctIDs(sink)) >= 300
	})

	started := time.Now()
	second := runCollector(t, sup, collector, dir, "second", cfg)
	select {
	case <-second.Done():
	case <-time.After(lockTimeout + 30*time.Second):
		t.Fatalf("the second collector still runs %s after it started:\n%s", time.Since(started), second.LogTail(30))
	}
	took := time.Since(started)
	t.Logf("the second collector exited after %s: %s", took.Round(time.Millisecond), second.ExitStatus())
	t.Logf("its log:\n%s", second.LogTail(4))
	assert.NotEqual(t, "exit status 0", second.ExitStatus(), "the second collector exits with an error")
	// bbolt gives up one retry (50 ms) before the timeout is over.
	assert.GreaterOrEqual(t, took, lockTimeout-100*time.Millisecond, "it waited for the lock for the storage's timeout")
	assert.True(t, logHas(second, acme.id, `storage extension "file_storage"`, "timeout"),
		"no line of the second collector's log names the receiver, its storage and the timeout:\n%s", second.LogTail(30))
	assert.False(t, logHas(second, "address already in use"), "the second collector failed on a port, not on the lock")
	assert.False(t, first.Exited(), "the first collector still runs")

	// The first goes on: the records created from now on arrive, each once.
	after := time.Now().Add(time.Second)
	var want []int64
	waitFor(t, first, time.Minute, "the first collector delivers the records created after the second exited", func() bool {
		want = want[:0]
		for _, r := range acme.sim.Records() {
			if r.CreatedAt.After(after) && r.CreatedAt.Before(after.Add(3*time.Second)) {
				want = append(want, r.ID)
			}
		}
		if time.Now().Before(after.Add(3 * time.Second)) {
			return false
		}
		got := distinctIDs(sink)
		for _, id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
	assert.NotEmpty(t, want)
	count := map[int64]int{}
	for _, r := range sink.records() {
		count[r.ID]++
	}
	for _, id := range want {
		assert.Equal(t, 1, count[id], "record %d arrived %d times", id, count[id])
	}
	require.NoError(t, first.Stop(time.Minute), first.LogTail(30))
	assert.False(t, logHas(first, "timeout"), "the first collector's storage saw no timeout")
}

// distinctIDs is the set of record ids the sink accepted.
func distinctIDs(s *otlpSink) map[int64]bool {
	got := map[int64]bool{}
	for _, r := range s.records() {
		got[r.ID] = true
	}
	return got
}
