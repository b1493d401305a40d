//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run as root in a directory of the collector's user, a storage file the
// CLI creates goes to that user, or the collector could not open it.
func TestCheckpointNewFileGoesToDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	const nobody = 65534
	require.NoError(t, os.Chown(dir, nobody, nobody))

	r := runCLI(t, nil, "checkpoint", "set", "--storage-dir", dir, "--time", "2024-05-01T12:00:00Z", "--create")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	fi, err := entries[0].Info()
	require.NoError(t, err)
	assert.Equal(t, uint32(nobody), fi.Sys().(*syscall.Stat_t).Uid, "file %s", entries[0].Name())
	assert.Equal(t, uint32(nobody), fi.Sys().(*syscall.Stat_t).Gid)
}
