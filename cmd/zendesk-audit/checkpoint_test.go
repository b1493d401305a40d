package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap/zaptest"

	zendeskreceiver "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
)

// extHost is a component.Host with extensions, as the collector's service
// hands to a receiver.
type extHost map[component.ID]component.Component

func (h extHost) GetExtensions() map[component.ID]component.Component { return h }

// startFileStorage starts a file_storage extension on dir, in a host as
// the collector's service makes one. The caller shuts it down.
func startFileStorage(t *testing.T, dir string) (extHost, component.ID, extension.Extension) {
	t.Helper()
	factory := filestorage.NewFactory()
	cfg := factory.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	extID := component.NewID(factory.Type())
	ext, err := factory.Create(context.Background(), extension.Settings{
		ID:                extID,
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}, cfg)
	require.NoError(t, err)
	host := extHost{extID: ext}
	require.NoError(t, ext.Start(context.Background(), host))
	return host, extID, ext
}

// openAsReceiver opens a storage client the way the receiver does in
// Start (receiver.go openStorage): a file_storage extension named in the
// host, then GetClient(ctx, KindReceiver, <receiver ID>, ""). The returned
// func closes the client and shuts the extension down.
func openAsReceiver(t *testing.T, dir, receiverID string) (storage.Client, func()) {
	t.Helper()
	ctx := context.Background()
	host, extID, ext := startFileStorage(t, dir)

	var id component.ID
	require.NoError(t, id.UnmarshalText([]byte(receiverID)))
	client, err := host.GetExtensions()[extID].(storage.Extension).GetClient(ctx, component.KindReceiver, id, "")
	require.NoError(t, err)
	closed := false
	closeFn := func() {
		if closed {
			return
		}
		closed = true
		require.NoError(t, client.Close(ctx))
		require.NoError(t, ext.Shutdown(ctx))
	}
	t.Cleanup(closeFn)
	return client, closeFn
}

func TestCheckpointShowNone(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--create")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "no checkpoint stored for receiver zendesk_audit_logs")
	assert.Empty(t, r.stderr)

	r = runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--json", "--create")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "null\n", r.stdout)
	assert.Contains(t, r.stderr, "no checkpoint stored")

	r = runCLI(t, nil, "checkpoint", "reset", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/other", "--create")
	require.Equal(t, 0, r.code, r.stderr)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "show and reset leave no file where there was none")
}

func TestCheckpointShowReadsReceiverStore(t *testing.T) {
	dir := t.TempDir()
	second := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	pos := checkpoint.At(second, []int64{1003, 1001, 1002})

	client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs/prod")
	require.NoError(t, checkpoint.NewStore(client).Save(context.Background(), pos))
	closeFn()

	r := runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/prod")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "receiver:        zendesk_audit_logs/prod (file_storage in "+dir+")\n")
	assert.Contains(t, r.stdout, "position:        2024-05-01T12:00:00Z (")
	assert.Contains(t, r.stdout, "ids held:        3: ")
	assert.Contains(t, r.stdout, "format version:  1\n")
	assert.Contains(t, r.stdout, "next start:      reads from 2024-05-01T11:59:59Z")

	r = runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/prod", "--json", "--storage", "cp")
	require.Equal(t, 0, r.code, r.stderr)
	want, err := checkpoint.Encode(pos)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), r.stdout)
	var raw struct {
		Version int     `json:"version"`
		Second  string  `json:"second"`
		IDs     []int64 `json:"ids"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	assert.Equal(t, []int64{1001, 1002, 1003}, raw.IDs)

	// Another receiver's checkpoint is another one.
	r = runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--create")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "no checkpoint stored for receiver zendesk_audit_logs ")
}

func TestCheckpointSetIsReadByReceiverStore(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2024, 4, 30, 22, 15, 0, 0, time.FixedZone("CEST", 2*3600))

	// Over an existing checkpoint: the old value is printed for undo.
	client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs")
	old := checkpoint.At(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), []int64{7})
	require.NoError(t, checkpoint.NewStore(client).Save(context.Background(), old))
	closeFn()

	r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", at.Format(time.RFC3339))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "reads records created from 2024-04-30T20:15:00Z on, inclusive")
	oldRaw, err := checkpoint.Encode(old)
	require.NoError(t, err)
	assert.Contains(t, r.stdout, "previous value: "+string(oldRaw)+"\n")

	client, closeFn = openAsReceiver(t, dir, "zendesk_audit_logs")
	got, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	require.True(t, found)
	assert.True(t, got.Equal(checkpoint.Start(at)), "got %v", got)
	assert.Empty(t, got.IDs())
	closeFn()

	// A fraction of a second is dropped, with a note.
	r = runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", "2024-05-01T10:00:00.75Z")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "truncated to 2024-05-01T10:00:00Z")
	client, closeFn = openAsReceiver(t, dir, "zendesk_audit_logs")
	got, found, err = checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	require.True(t, found)
	assert.True(t, got.Equal(checkpoint.Start(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))))
	closeFn()
}

func TestCheckpointReset(t *testing.T) {
	dir := t.TempDir()
	client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs/b")
	require.NoError(t, checkpoint.NewStore(client).Save(context.Background(), checkpoint.At(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), []int64{1})))
	closeFn()

	r := runCLI(t, nil, "checkpoint", "reset", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "checkpoint deleted for receiver zendesk_audit_logs/b")
	assert.Contains(t, r.stdout, `previous value: {"version":1,"second":"2024-05-01T00:00:00Z","ids":[1]}`)

	client, closeFn = openAsReceiver(t, dir, "zendesk_audit_logs/b")
	_, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	assert.False(t, found)
	closeFn()

	r = runCLI(t, nil, "checkpoint", "reset", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "nothing to delete")
}

func TestCheckpointCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		value []byte
		want  string
	}{
		{[]byte("garbage\x00"), "checkpoint is not valid JSON"},
		{[]byte(`{"version":9,"second":"2024-05-01T00:00:00Z","ids":[]}`), "checkpoint version 9 is not supported"},
		{[]byte(`{"version":1,"second":"2999-01-01T00:00:00Z","ids":[]}`), "is in the future"},
		{[]byte(`{"version":1,"second":"2024-05-01T00:00:00Z","ids":[-4]}`), "the id -4, which is not positive"},
	} {
		client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs")
		require.NoError(t, client.Set(context.Background(), checkpoint.Key, tc.value))
		closeFn()

		for _, args := range [][]string{
			{"checkpoint", "show", "--storage-dir", dir},
			{"checkpoint", "show", "--storage-dir", dir, "--json"},
		} {
			r := runCLI(t, nil, args...)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Contains(t, r.stderr, "cannot be used")
			assert.Contains(t, r.stderr, "stored value: ")
			assert.Empty(t, r.stdout)
		}
	}
	// reset clears it.
	r := runCLI(t, nil, "checkpoint", "reset", "--storage-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "no checkpoint stored")
}

// A running collector holds the bbolt file lock; bbolt's flock is per open
// file, so a client held open in this process locks the CLI out the same
// way.
func TestCheckpointLocked(t *testing.T) {
	dir := t.TempDir()
	client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs")
	pos := checkpoint.At(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), []int64{5})
	require.NoError(t, checkpoint.NewStore(client).Save(context.Background(), pos))

	for _, args := range [][]string{
		{"checkpoint", "show", "--storage-dir", dir},
		{"checkpoint", "set", "--storage-dir", dir, "--time", "2024-01-01T00:00:00Z"},
		{"checkpoint", "reset", "--storage-dir", dir},
	} {
		args = append(args, "--storage-timeout", "50ms")
		start := time.Now()
		r := runCLI(t, nil, args...)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.Contains(t, r.stderr, "the storage is locked, probably by a running collector; stop it first")
		assert.Contains(t, r.stderr, "holds a lock on receiver_zendesk_audit_logs_")
		assert.Empty(t, r.stdout)
		assert.Less(t, time.Since(start), 5*time.Second)
	}

	got, found, err := checkpoint.NewStore(client).Load(context.Background())
	require.NoError(t, err)
	require.True(t, found)
	assert.True(t, got.Equal(pos), "untouched while locked")
	closeFn()

	// Once the holder is gone the CLI gets in.
	r := runCLI(t, nil, "checkpoint", "show", "--storage-dir", dir, "--storage-timeout", "50ms")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ids held:        1:")
}

func TestCheckpointStorageDirProblems(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, nil, "checkpoint", "show", "--storage-dir", filepath.Join(dir, "missing"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "storage directory: ")
	assert.Contains(t, r.stderr, "no such file or directory")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	r = runCLI(t, nil, "checkpoint", "show", "--storage-dir", file)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "is not a directory")
}

// What `checkpoint set` stores, the receiver starts from: it delivers the
// records created from that time on, and none before.
func TestCheckpointSetIsHonouredByTheReceiver(t *testing.T) {
	a := newHandAPI(t)
	dir := t.TempDir()
	from := base.Add(3 * time.Minute) // record 1004's second
	r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", from.Format(time.RFC3339), "--create")
	require.Equal(t, 0, r.code, r.stderr)

	ctx := context.Background()
	host, extID, ext := startFileStorage(t, dir)
	defer func() { require.NoError(t, ext.Shutdown(ctx)) }()

	f := zendeskreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*zendeskreceiver.Config)
	cfg.Endpoint = a.url
	cfg.Email, cfg.APIToken = testEmail, configopaque.String(testToken)
	cfg.PollInterval, cfg.SettleDelay = time.Hour, 0
	cfg.MaxRequestsPerMinute = 0
	cfg.StorageID = &extID
	require.NoError(t, cfg.Validate())
	sink := new(consumertest.LogsSink)
	set := receivertest.NewNopSettings(f.Type())
	set.ID = component.NewID(f.Type()) // zendesk_audit_logs, the CLI's default --receiver
	set.Logger = zaptest.NewLogger(t)
	rcv, err := f.CreateLogs(ctx, set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(ctx, host))
	defer func() { require.NoError(t, rcv.Shutdown(ctx)) }()

	want := []int64{1004, 1005, 1006, 1007, 1008}
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= len(want) }, 10*time.Second, 10*time.Millisecond)
	var got []int64
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := range lrs.Len() {
			id, _ := lrs.At(i).Attributes().Get("zendesk.audit_log.id")
			got = append(got, id.Int())
		}
	}
	assert.Equal(t, want, got)
}
