package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	require.NoError(t, err)
	assert.False(t, o.seedSet)
	assert.Equal(t, 60*time.Second, o.duration)
	assert.Equal(t, 3, o.kills)
	assert.Equal(t, 1, o.ackKills)
	assert.Equal(t, 1, o.outageKills)
	assert.Equal(t, "_build/otelcol-zendesk", o.collector)
	assert.Equal(t, "bin/zendesk-sim", o.sim)
	assert.Equal(t, 3*time.Second, o.maxLate)
	require.Len(t, o.variants, 4)
	assert.Equal(t, "sync", o.variants[0].Name)
	assert.Equal(t, "queue", o.variants[1].Name)
	assert.Equal(t, "oauth", o.variants[2].Name)
	assert.Equal(t, 4*time.Second, o.tokenLifetime)
	assert.Equal(t, "serial", o.variants[3].Name)
	// The queue variant's defaults are the README's production settings.
	assert.Equal(t, 1, o.queueConsumers)
	assert.Equal(t, 1000, o.batchMinSize)
	assert.Equal(t, time.Second, o.batchFlushTimeout)

	o, err = parseOptions([]string{"--seed", "0", "--duration", "30s"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, o.seedSet)
	assert.Zero(t, o.seed)
	assert.Equal(t, 30*time.Second, o.duration)
}

func TestParseOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--settle-delay", "3s", "--max-late", "3s"}, "--settle-delay (3s) must exceed --max-late (3s)"},
		{[]string{"--duration", "2s"}, "--duration must be at least 5s, got 2s"},
		{[]string{"--p429", "0.6", "--p500", "0.6"}, "the error fault probabilities add up to 1.29 > 1"},
		{[]string{"--slow", "20s"}, "--request-timeout (10s) must exceed --slow (20s)"},
		{[]string{"--kills", "1", "--ack-kills", "2"}, "--ack-kills must be between 0 and --kills (1), got 2"},
		{[]string{"--ack-kills", "-1"}, "--ack-kills must be between 0 and --kills (3), got -1"},
		{[]string{"--kills", "2", "--ack-kills", "1", "--outage-kills", "2"}, "--outage-kills must be between 0 and --kills minus --ack-kills (1), got 2"},
		{[]string{"--outage-kills", "-1"}, "--outage-kills must be between 0 and --kills minus --ack-kills (2), got -1"},
		{[]string{"--outage-kills", "1", "--sink-down", "1s"}, "--outage-kills needs a --sink-down longer than 1s"},
		{[]string{"--variant", "nope"}, `--variant: unknown variant "nope"`},
		{[]string{"--queue-consumers", "0"}, "--queue-consumers, --batch-min-size and --batch-flush-timeout must be positive"},
		{[]string{"--batch-min-size", "-1"}, "--queue-consumers, --batch-min-size and --batch-flush-timeout must be positive"},
		{[]string{"extra"}, "unexpected arguments: [extra]"},
	} {
		_, err := parseOptions(tc.args, io.Discard)
		if assert.Error(t, err, tc.args) {
			assert.Contains(t, err.Error(), tc.want, tc.args)
		}
	}
}

func TestSimArgs(t *testing.T) {
	o, err := parseOptions([]string{"--seed", "9", "--budget", "120", "--p-slow", "0.25"}, io.Discard)
	require.NoError(t, err)
	args := o.simArgs("a@b.c", "tok")
	get := func(name string) string {
		i := slices.Index(args, name)
		require.GreaterOrEqual(t, i, 0, name)
		return args[i+1]
	}
	assert.Equal(t, "127.0.0.1:0", get("--listen"))
	assert.Equal(t, "9", get("--seed"))
	assert.Equal(t, "120", get("--budget"))
	assert.Equal(t, "0.25", get("--p-slow"))
	assert.Equal(t, "3s", get("--max-late"))
	assert.Equal(t, "a@b.c", get("--email"))
	assert.Equal(t, "500ms", get("--retry-after-crossing-window"), "half the Retry-After of 1s")
	for _, f := range []string{"--events", "--backlog", "--live-rate", "--late-fraction", "--p429", "--p429-no-retry-after",
		"--retry-after", "--p503", "--p500", "--p-truncated", "--slow"} {
		assert.NotEmpty(t, get(f), f)
	}
}

func TestPrepareWorkdir(t *testing.T) {
	p, temp, err := prepareWorkdir("")
	require.NoError(t, err)
	assert.True(t, temp)
	require.NoError(t, os.RemoveAll(p))

	dir := filepath.Join(t.TempDir(), "new")
	p, temp, err = prepareWorkdir(dir)
	require.NoError(t, err)
	assert.False(t, temp)
	assert.DirExists(t, p)
	require.NoError(t, os.WriteFile(filepath.Join(p, "x"), nil, 0o600))
	_, _, err = prepareWorkdir(dir)
	assert.ErrorContains(t, err, "not empty")
}

func TestLogTail(t *testing.T) {
	sup := childproc.NewSupervisor("test")
	p, err := sup.Start("echo", "/bin/sh", []string{"-c", "printf 'a\\nb\\nc\\n'"}, filepath.Join(t.TempDir(), "log"), nil)
	require.NoError(t, err)
	<-p.Done()
	lines := strings.Split(logTail(p, 3), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"    b", "    c"}, lines[:2])
	assert.Contains(t, lines[2], "echo exited: exit status 0") // the supervisor's last line

	require.NoError(t, os.Remove(p.LogPath()))
	assert.Equal(t, "    ("+p.LogPath()+" is empty or unreadable)", logTail(p, 3))
}

// Each variant asked for gets its summary line, an ERROR one when it
// cannot be checked, and its own directory in the work directory.
func TestRunOneLinePerVariant(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	var out strings.Builder
	code := run(t.Context(), []string{"--seed", "7", "--workdir", dir, "--collector", filepath.Join(dir, "absent"),
		"--variant", "queue,sync"}, &out, io.Discard)
	assert.Equal(t, 2, code)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "e2e variant=queue seed=7 result=ERROR error="), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "e2e variant=sync seed=7 result=ERROR error="), lines[1])
	assert.Contains(t, lines[0], "make build")
	assert.DirExists(t, filepath.Join(dir, "queue"))
	assert.DirExists(t, filepath.Join(dir, "sync"))
}
