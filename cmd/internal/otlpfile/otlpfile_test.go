package otlpfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// line is one OTLP/JSON request of one resource with records of the ids.
func line(t *testing.T, subdomain string, ids ...int64) []byte {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("zendesk.subdomain", subdomain)
	sl := rl.ScopeLogs().AppendEmpty()
	for _, id := range ids {
		sl.LogRecords().AppendEmpty().Attributes().PutInt(IDAttribute, id)
	}
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return append(b, '\n')
}

func TestReadKeepsOrderRepeatsAndResource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	content := append(line(t, "acme", 1, 2), line(t, "globex", 2)...)
	content = append(content, "\n"...)
	require.NoError(t, os.WriteFile(path, content, 0o600))

	recs, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, []Record{
		{ID: 1, Resource: map[string]string{"zendesk.subdomain": "acme"}},
		{ID: 2, Resource: map[string]string{"zendesk.subdomain": "acme"}},
		{ID: 2, Resource: map[string]string{"zendesk.subdomain": "globex"}},
	}, recs)
	n, distinct := Count(recs)
	assert.Equal(t, 3, n)
	assert.Equal(t, 2, distinct)
}

func TestReadLeavesOutALineBeingWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	whole := line(t, "acme", 1)
	partial := line(t, "acme", 2)
	require.NoError(t, os.WriteFile(path, append(whole, partial[:len(partial)/2]...), 0o600))

	recs, err := Read(path)
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

func TestReadMissingFileIsEmpty(t *testing.T) {
	recs, err := Read(filepath.Join(t.TempDir(), "none.json"))
	require.NoError(t, err)
	assert.Empty(t, recs)
}

func TestReadRefusesARecordWithoutID(t *testing.T) {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "out.json")
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o600))

	_, err = Read(path)
	assert.ErrorContains(t, err, "line 1")
}
