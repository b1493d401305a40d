package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// storeAt stores a checkpoint at second for receiver id in dir, as the
// receiver does, and returns the stored value.
func storeAt(t *testing.T, dir, id string, second time.Time) []byte {
	t.Helper()
	client, closeFn := openAsReceiver(t, dir, id)
	defer closeFn()
	pos := checkpoint.At(second, []int64{42})
	require.NoError(t, checkpoint.NewStore(client).Save(context.Background(), pos))
	b, err := checkpoint.Encode(pos)
	require.NoError(t, err)
	return b
}

// storedValue reads receiver id's stored checkpoint in dir.
func storedValue(t *testing.T, dir, id string) []byte {
	t.Helper()
	client, closeFn := openAsReceiver(t, dir, id)
	defer closeFn()
	b, err := client.Get(context.Background(), checkpoint.Key)
	require.NoError(t, err)
	return b
}

// A receiver name with no checkpoint in the directory (a typo, the default
// name for a named receiver, another component's directory) is refused by
// set, show and reset, with the receivers that have one: nothing is
// created or changed, and the real checkpoint is left alone. --create
// acts on such a name.
func TestCheckpointCommandsRefuseAReceiverWithNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	acme := storeAt(t, dir, "zendesk_audit_logs/acme", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	globex := storeAt(t, dir, "zendesk_audit_logs/globex", time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC))
	// Another component's file in the same directory.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exporter_otlp_http__logs"), nil, 0o600))
	before := dirNames(t, dir)

	for _, receiver := range [][]string{{"--receiver", "zendesk_audit_logs/acm"}, {}} {
		for _, args := range [][]string{
			{"checkpoint", "set", "--storage-dir", dir, "--time", "2024-01-01T00:00:00Z"},
			{"checkpoint", "show", "--storage-dir", dir},
			{"checkpoint", "show", "--storage-dir", dir, "--json"},
			{"checkpoint", "reset", "--storage-dir", dir},
		} {
			args = append(args, receiver...)
			r := runCLI(t, nil, args...)
			assert.Equal(t, 1, r.code, "%v: %s", args, r.stdout)
			assert.Empty(t, r.stdout, "%v", args)
			assert.Contains(t, r.stderr, "has no checkpoint in "+dir, "%v", args)
			assert.Contains(t, r.stderr, "checkpoints there: --receiver zendesk_audit_logs/acme, --receiver zendesk_audit_logs/globex", "%v", args)
			assert.Contains(t, r.stderr, "give --create", "%v", args)
		}
	}
	assert.Equal(t, before, dirNames(t, dir), "no file created or removed")
	assert.Equal(t, acme, storedValue(t, dir, "zendesk_audit_logs/acme"), "the real checkpoint is untouched")
	assert.Equal(t, globex, storedValue(t, dir, "zendesk_audit_logs/globex"))

	// A directory with no receiver's checkpoint says so.
	empty := t.TempDir()
	r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", empty, "--time", "2024-01-01T00:00:00Z")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no zendesk_audit_logs receiver has a checkpoint there")
	assert.Empty(t, dirNames(t, empty))

	// --create: a receiver that has not run yet.
	r = runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", "2024-01-01T00:00:00Z", "--receiver", "zendesk_audit_logs/initech", "--create")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "checkpoint stored for receiver zendesk_audit_logs/initech")
	assert.Contains(t, dirNames(t, dir), "receiver_zendesk_audit_logs_initech")
}

// show refuses while a collector holds any file of the directory, whatever
// the receiver named: one the collector does not run would otherwise read
// "no checkpoint stored". set and reset refuse too.
func TestCheckpointShowRefusesWhileACollectorHoldsTheStorage(t *testing.T) {
	dir := t.TempDir()
	storeAt(t, dir, "zendesk_audit_logs/acme", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	_, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs/acme") // the running collector
	defer closeFn()
	before := dirNames(t, dir)

	for _, args := range [][]string{
		{"checkpoint", "show", "--storage-dir", dir},
		{"checkpoint", "show", "--storage-dir", dir, "--create"},
		{"checkpoint", "show", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/other", "--create", "--json"},
		{"checkpoint", "set", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/other", "--create", "--time", "2024-01-01T00:00:00Z"},
		{"checkpoint", "reset", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/other", "--create"},
	} {
		r := runCLI(t, nil, append(args, "--storage-timeout", "50ms")...)
		assert.Equal(t, 1, r.code, "%v: %s", args, r.stdout)
		assert.Empty(t, r.stdout, "%v", args)
		assert.Contains(t, r.stderr, "the storage is locked, probably by a running collector; stop it first", "%v", args)
	}
	assert.Equal(t, before, dirNames(t, dir), "no file created or removed")
}

// show and reset remove the storage file they created for a receiver that
// had none, and no other: files that appear in the directory meanwhile (a
// collector's compaction or queue file) stay.
func TestCheckpointCommandsDeleteOnlyTheFileTheyCreated(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"show", "reset"} {
		t.Run(sub, func(t *testing.T) {
			// Another process adds files all the while the command runs.
			var (
				wg      sync.WaitGroup
				stop    = make(chan struct{})
				mu      sync.Mutex
				written []string
			)
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("exporter_otlp_http__logs_%s_%d", sub, i)
					if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
						return
					}
					mu.Lock()
					written = append(written, name)
					mu.Unlock()
					time.Sleep(50 * time.Microsecond)
				}
			})
			for range 5 {
				r := runCLI(t, nil, "checkpoint", sub, "--storage-dir", dir, "--receiver", "zendesk_audit_logs/"+sub, "--create")
				require.Equal(t, 0, r.code, r.stderr)
			}
			close(stop)
			wg.Wait()
			names := dirNames(t, dir)
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, written)
			for _, name := range written {
				assert.Contains(t, names, name, "a file the command did not create was removed")
			}
			assert.NotContains(t, names, "receiver_zendesk_audit_logs_"+sub, "the file it created is removed")
		})
	}
}

// set refuses a time before the checkpoint's floor (2007-01-01), which the
// receiver would refuse (year 0000 made every request fail with 400).
func TestCheckpointSetRefusesATimeBeforeTheFloor(t *testing.T) {
	dir := t.TempDir()
	storeAt(t, dir, "zendesk_audit_logs", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	for _, at := range []string{"0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2006-12-31T23:59:59Z"} {
		r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", at)
		assert.Equal(t, 1, r.code, "%s: %s", at, r.stdout)
		assert.Contains(t, r.stderr, "is before 2007-01-01T00:00:00Z", at)
	}
	r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", "2007-01-01T00:00:00Z")
	require.Equal(t, 0, r.code, r.stderr)
}

// storageFileName is the name file_storage gives a receiver's file, and
// receiverOfFile reads it back.
func TestStorageFileNameIsFileStorages(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"zendesk_audit_logs", "zendesk_audit_logs/acme", "zendesk_audit_logs/a-b.c_d", "zendesk_audit_logs/eu:west", "zendesk_audit_logs/zoë"} {
		before := dirNames(t, dir)
		openAsReceiverAndClose(t, dir, id)
		var cid component.ID
		require.NoError(t, cid.UnmarshalText([]byte(id)))
		name := storageFileName(cid)
		after := dirNames(t, dir)
		assert.Equal(t, []string{name}, slices.DeleteFunc(after, func(n string) bool { return slices.Contains(before, n) }), id)
		back, ok := receiverOfFile(name)
		assert.True(t, ok, id)
		assert.Equal(t, cid, back)
	}
	_, ok := receiverOfFile("exporter_otlp_http__logs")
	assert.False(t, ok)
}

func openAsReceiverAndClose(t *testing.T, dir, id string) {
	t.Helper()
	_, closeFn := openAsReceiver(t, dir, id)
	closeFn()
}
