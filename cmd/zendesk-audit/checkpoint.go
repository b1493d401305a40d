package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	berrors "go.etcd.io/bbolt/errors"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
)

// errLocked is the storage held by another process.
var errLocked = errors.New("the storage is locked, probably by a running collector; stop it first")

type checkpointOpts struct {
	storageDir     string
	storageName    string
	storageTimeout time.Duration
	receiver       string
	create         bool
	json           bool   // show
	time           string // set
}

func checkpointFlags(sub string) (*flag.FlagSet, *checkpointOpts) {
	o := &checkpointOpts{}
	fs := newFlagSet("checkpoint " + sub)
	fs.StringVar(&o.storageDir, "storage-dir", "", "the file_storage extension's `directory` (required)")
	fs.StringVar(&o.storageName, "storage", "", "the extension instance: `NAME` for file_storage/NAME (the data lives in --storage-dir whatever the name)")
	fs.DurationVar(&o.storageTimeout, "storage-timeout", time.Second, "how long to wait for the storage's file lock")
	fs.StringVar(&o.receiver, "receiver", metadata.Type.String(), "the receiver's component `ID`: zendesk_audit_logs or zendesk_audit_logs/NAME")
	fs.BoolVar(&o.create, "create", false, "act on a receiver that has no storage file in --storage-dir yet (one that never ran); without it such a name is refused, as a likely typo")
	switch sub {
	case "show":
		fs.BoolVar(&o.json, "json", false, "print the stored value, raw JSON")
	case "set":
		fs.StringVar(&o.time, "time", "", "RFC 3339 `time` from which the receiver reads on its next start, inclusive (required)")
	}
	return fs, o
}

func (c *cli) cmdCheckpoint(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			printCommandUsage(c.stdout, "checkpoint", newFlagSet("checkpoint"))
			return nil
		}
		return usagef("checkpoint", "checkpoint needs a subcommand: show, set or reset")
	}
	sub := args[0]
	switch sub {
	case "show", "set", "reset":
	default:
		return usagef("checkpoint", "unknown checkpoint subcommand %q: show, set or reset", sub)
	}
	cmd := "checkpoint " + sub
	fs, o := checkpointFlags(sub)
	pos, err := c.parseArgs(cmd, fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(cmd, "%s takes no arguments, got %q", cmd, pos[0])
	}
	var at time.Time
	if sub == "set" {
		if at, err = c.parseCheckpointTime(cmd, o.time); err != nil {
			return err
		}
	}
	st, err := c.openStorage(ctx, cmd, o)
	if err != nil {
		return err
	}
	switch sub {
	case "show":
		err = c.checkpointShow(ctx, st, o)
	case "set":
		err = c.checkpointSet(ctx, st, at)
	case "reset":
		err = c.checkpointReset(ctx, st)
	}
	cerr := st.close(ctx)
	if sub != "set" && st.created != "" {
		// show and reset found no storage file: they leave none behind.
		cerr = errors.Join(cerr, os.Remove(st.created))
	}
	if cerr != nil {
		if err == nil {
			return cerr
		}
		fmt.Fprintf(c.stderr, "zendesk-audit: %s\n", cerr)
	}
	return err
}

func (c *cli) parseCheckpointTime(cmd, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usagef(cmd, "--time is required: the RFC 3339 time from which the receiver reads, e.g. 2024-05-01T00:00:00Z")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef(cmd, "--time %q is not an RFC 3339 time like 2024-05-01T00:00:00Z", s)
	}
	if t.Before(checkpoint.MinSecond) {
		return time.Time{}, usagef(cmd, "--time %s is before %s: Zendesk's audit log holds nothing older, and the receiver refuses such a checkpoint",
			s, checkpoint.MinSecond.Format(time.RFC3339))
	}
	if t.After(c.now()) {
		return time.Time{}, usagef(cmd, "--time %s is in the future: the receiver refuses such a checkpoint", t.UTC().Format(time.RFC3339))
	}
	if !t.Equal(t.Truncate(time.Second)) {
		fmt.Fprintf(c.stderr, "zendesk-audit: note: created_at has whole seconds; %s is truncated to %s\n",
			s, t.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	return t, nil
}

// openedStorage is a storage client from a started file_storage extension.
type openedStorage struct {
	ext      extension.Extension
	client   storage.Client
	receiver component.ID
	where    string // for messages: "file_storage in DIR"
	// created is the receiver's storage file when opening the storage
	// created it (the receiver had none), else "": removed again by the
	// commands that only read or delete, so that they leave the directory
	// as they found it. Only that file: others may appear meanwhile (a
	// running collector's compaction or queue file).
	created string
}

func (s *openedStorage) close(ctx context.Context) error {
	var errs []error
	if err := s.client.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("closing the storage: %w", err))
	}
	if err := s.ext.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutting down the storage extension: %w", err))
	}
	return errors.Join(errs...)
}

// openStorage builds a file_storage extension with the extension's own
// factory, starts it and asks it for the receiver's client, exactly as a
// collector does for the receiver (receiver.go): the same file and the same
// lock. A running collector holds that lock, so this fails with errLocked
// after --storage-timeout.
func (c *cli) openStorage(ctx context.Context, cmd string, o *checkpointOpts) (*openedStorage, error) {
	if o.storageDir == "" {
		return nil, usagef(cmd, "--storage-dir is required: the directory of the collector's file_storage extension")
	}
	if o.storageTimeout <= 0 {
		return nil, usagef(cmd, "--storage-timeout must be positive, got %s", o.storageTimeout)
	}
	var receiverID component.ID
	if err := receiverID.UnmarshalText([]byte(o.receiver)); err != nil {
		return nil, usagef(cmd, "--receiver %q is not a component ID: %s", o.receiver, err)
	}
	if receiverID.Type() != metadata.Type {
		return nil, usagef(cmd, "--receiver %q is not a %s receiver: give %s or %s/NAME", o.receiver, metadata.Type, metadata.Type, metadata.Type)
	}
	factory := filestorage.NewFactory()
	extID := component.NewID(factory.Type())
	if o.storageName != "" {
		text := o.storageName
		if !strings.Contains(text, "/") {
			text = factory.Type().String() + "/" + text
		}
		if err := extID.UnmarshalText([]byte(text)); err != nil {
			return nil, usagef(cmd, "--storage %q is not an extension name: %s", o.storageName, err)
		}
		if extID.Type() != factory.Type() {
			return nil, usagef(cmd, "--storage %q is not a %s extension", o.storageName, factory.Type())
		}
	}

	if fi, err := os.Stat(o.storageDir); err != nil {
		return nil, fmt.Errorf("storage directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("storage directory %s is not a directory", o.storageDir)
	}
	// A collector running on this directory: nothing here may be read or
	// changed now, whichever receiver is named (one it does not run
	// would read "no checkpoint stored" and mislead).
	if held := lockedFiles(o.storageDir); len(held) > 0 {
		return nil, fmt.Errorf("%w (%s holds a lock on %s)", errLocked, o.storageDir, strings.Join(held, ", "))
	}
	file := filepath.Join(o.storageDir, storageFileName(receiverID))
	_, err := os.Stat(file)
	existed := err == nil
	if !existed && !o.create {
		return nil, fmt.Errorf("receiver %s has no checkpoint in %s (no file %s): a mistyped --receiver, or another --storage-dir? %s; "+
			"for a receiver that has not run yet, give --create", receiverID, o.storageDir, filepath.Base(file), storedReceivers(o.storageDir))
	}
	cfg := factory.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = o.storageDir
	cfg.Timeout = o.storageTimeout
	cfg.FSync = true // a change made here must survive a crash
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("storage configuration: %w", err)
	}
	set := extension.Settings{
		ID:                extID,
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	ext, err := factory.Create(ctx, set, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the %s extension: %w", extID, err)
	}
	if err := ext.Start(ctx, componenttest.NewNopHost()); err != nil {
		return nil, fmt.Errorf("starting the %s extension: %w", extID, err)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		_ = ext.Shutdown(ctx)
		return nil, fmt.Errorf("extension %s is not a storage extension", extID)
	}
	client, err := se.GetClient(ctx, component.KindReceiver, receiverID, "")
	if err != nil {
		_ = ext.Shutdown(ctx)
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w (no lock on the storage of receiver %s in %s within %s)", errLocked, receiverID, o.storageDir, o.storageTimeout)
		}
		return nil, fmt.Errorf("opening the storage of receiver %s in %s: %w", receiverID, o.storageDir, err)
	}
	created := ""
	if _, err := os.Stat(file); err == nil && !existed {
		created = file
		if err := adoptFile(o.storageDir, file); err != nil {
			fmt.Fprintf(c.stderr, "zendesk-audit: warning: %s; run this as the collector's user\n", err)
		}
	}
	return &openedStorage{ext: ext, client: client, receiver: receiverID, where: fmt.Sprintf("%s in %s", extID, o.storageDir), created: created}, nil
}

// receiverFilePrefix begins the name of every storage file of a
// zendesk_audit_logs receiver: file_storage names a component's file
// <kind>_<type>_<name>, with every character but letters, digits, ".", "-"
// and "_" written ~XXXX (its code point in hex).
var receiverFilePrefix = "receiver_" + metadata.Type.String() + "_"

// storageFileName is the name of the file file_storage keeps id's data in
// (contrib's filestorage GetClient with no client name).
func storageFileName(id component.ID) string {
	raw := "receiver_" + id.Type().String() + "_" + id.Name()
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "~%04X", r)
		}
	}
	return b.String()
}

// receiverOfFile is the receiver whose storage file name is, or false when
// it is not one of this receiver type's.
func receiverOfFile(name string) (component.ID, bool) {
	rest, ok := strings.CutPrefix(name, receiverFilePrefix)
	if !ok {
		return component.ID{}, false
	}
	var b strings.Builder
	for rest != "" {
		if len(rest) >= 5 && rest[0] == '~' {
			if n, err := strconv.ParseUint(rest[1:5], 16, 32); err == nil {
				b.WriteRune(rune(n))
				rest = rest[5:]
				continue
			}
		}
		b.WriteByte(rest[0])
		rest = rest[1:]
	}
	id := component.NewIDWithName(metadata.Type, b.String())
	return id, storageFileName(id) == name
}

// storedReceivers says which receivers have a storage file in dir, for a
// message.
func storedReceivers(dir string) string {
	entries, _ := os.ReadDir(dir)
	var ids []string
	for _, e := range entries {
		if id, ok := receiverOfFile(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, "--receiver "+id.String())
		}
	}
	if len(ids) == 0 {
		return fmt.Sprintf("no %s receiver has a checkpoint there", metadata.Type)
	}
	return "checkpoints there: " + strings.Join(ids, ", ")
}

func (c *cli) checkpointShow(ctx context.Context, st *openedStorage, o *checkpointOpts) error {
	raw, err := st.client.Get(ctx, checkpoint.Key)
	if err != nil {
		return fmt.Errorf("reading the checkpoint: %w", err)
	}
	if raw == nil {
		if o.json {
			fmt.Fprintln(c.stdout, "null")
		}
		msg := fmt.Sprintf("no checkpoint stored for receiver %s (%s): it starts from its configured start_time or initial_lookback", st.receiver, st.where)
		if o.json {
			fmt.Fprintln(c.stderr, "zendesk-audit: "+msg)
		} else {
			fmt.Fprintln(c.stdout, msg)
		}
		return nil
	}
	pos, err := checkpoint.Decode(raw, c.now())
	if err != nil {
		fmt.Fprintf(c.stderr, "zendesk-audit: the checkpoint of receiver %s (%s) cannot be used: %s\n", st.receiver, st.where, err)
		fmt.Fprintf(c.stderr, "stored value: %s\n", excerpt(raw))
		fmt.Fprintln(c.stderr, "The receiver reads nothing while it is stored (a permanent error status says so); 'checkpoint set' replaces it, 'checkpoint reset' deletes it (the receiver then starts from start_time or initial_lookback).")
		return errSilent
	}
	if o.json {
		_, err := fmt.Fprintf(c.stdout, "%s\n", raw)
		return err
	}
	var head struct {
		Version int `json:"version"`
	}
	_ = json.Unmarshal(raw, &head) // Decode checked it
	ids := pos.IDs()
	age := humanAge(c.now().Sub(pos.Second))
	fmt.Fprintf(c.stdout, "receiver:        %s (%s)\n", st.receiver, st.where)
	fmt.Fprintf(c.stdout, "position:        %s (%s ago): every record created before it is done\n", pos.Second.UTC().Format(time.RFC3339), age)
	fmt.Fprintf(c.stdout, "ids held:        %d: records created in that second and already delivered\n", len(ids))
	fmt.Fprintf(c.stdout, "format version:  %d\n", head.Version)
	fmt.Fprintf(c.stdout, "next start:      reads from %s (a second early: Zendesk does not say whether its time bounds are inclusive) and skips the held ids\n", pos.QueryStart().UTC().Format(time.RFC3339))
	return nil
}

func (c *cli) checkpointSet(ctx context.Context, st *openedStorage, at time.Time) error {
	prev, err := st.client.Get(ctx, checkpoint.Key)
	if err != nil {
		return fmt.Errorf("reading the checkpoint: %w", err)
	}
	pos := checkpoint.Start(at)
	if err := checkpoint.NewStore(st.client).Save(ctx, pos); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "checkpoint stored for receiver %s (%s): on its next start it reads records created from %s on, inclusive\n",
		st.receiver, st.where, pos.Second.Format(time.RFC3339))
	if prev != nil {
		fmt.Fprintf(c.stdout, "previous value: %s\n", excerpt(prev))
	}
	return nil
}

func (c *cli) checkpointReset(ctx context.Context, st *openedStorage) error {
	prev, err := st.client.Get(ctx, checkpoint.Key)
	if err != nil {
		return fmt.Errorf("reading the checkpoint: %w", err)
	}
	if prev == nil {
		fmt.Fprintf(c.stdout, "no checkpoint stored for receiver %s (%s): nothing to delete\n", st.receiver, st.where)
		return nil
	}
	if err := checkpoint.NewStore(st.client).Delete(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "checkpoint deleted for receiver %s (%s): on its next start it reads from its configured start_time or initial_lookback\n", st.receiver, st.where)
	fmt.Fprintf(c.stdout, "previous value: %s\n", excerpt(prev))
	return nil
}

// humanAge renders a duration for a person: seconds, or days when long.
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Second).String()
}

// excerpt renders a stored value for a message: printable, at most 300
// bytes.
func excerpt(b []byte) string {
	const limit = 300
	cut := len(b) > limit
	if cut {
		b = b[:limit]
	}
	s := string(b)
	if !json.Valid(b) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\uFFFD' }) {
		s = fmt.Sprintf("%q", s)
	}
	if cut {
		s += "…"
	}
	return s
}
