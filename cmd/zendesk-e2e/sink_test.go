package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// otlpLine builds one line as the file exporter writes it: an OTLP/JSON
// ExportLogsServiceRequest, marshalled by pdata itself.
func otlpLine(t *testing.T, groups ...[]any) string {
	t.Helper()
	ld := plog.NewLogs()
	for _, ids := range groups {
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for _, id := range ids {
			lr := sl.LogRecords().AppendEmpty()
			lr.Attributes().PutStr("zendesk.audit_log.action", "update")
			switch v := id.(type) {
			case int64:
				lr.Attributes().PutInt(idAttribute, v)
				lr.Attributes().PutStr(uidAttribute, strconv.FormatInt(v, 10))
			case string:
				lr.Attributes().PutStr(idAttribute, v)
				lr.Attributes().PutStr(uidAttribute, v)
			case nil:
			}
		}
	}
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return string(b) + "\n"
}

func TestParseSinkLinePdata(t *testing.T) {
	line := otlpLine(t, []any{int64(498483000001), int64(7)}, []any{int64(9_007_199_254_740_993), nil})
	// int64 is a decimal string in OTLP/JSON.
	require.Contains(t, line, `"intValue":"498483000001"`)
	c, err := parseSinkLine([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, []int64{498483000001, 7, 9_007_199_254_740_993}, c.IDs)
	assert.Equal(t, 1, c.NoID)
	assert.Equal(t, 4, c.Records)
	assert.Equal(t, 1, c.Lines)
}

func TestParseSinkLineVariants(t *testing.T) {
	c, err := parseSinkLine([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[` +
		`{"attributes":[{"key":"zendesk.audit_log.id","value":{"intValue":42}},{"key":"log.record.uid","value":{"stringValue":"42"}}]},` +
		`{"attributes":[{"key":"zendesk.audit_log.id","value":{"stringValue":"43"}}]},` +
		`{"attributes":[{"key":"log.record.uid","value":{"stringValue":"45"}},{"key":"zendesk.audit_log.id","value":{"intValue":"44"}}]},` +
		`{"attributes":[{"key":"zendesk.audit_log.id","value":{"stringValue":"x"}}]},` +
		`{"attributes":[{"key":"other","value":{"intValue":"1"}}]},` +
		`{}]}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, []int64{42, 43, 44}, c.IDs)
	assert.Equal(t, 3, c.NoID)
	assert.Equal(t, 2, c.BadUID, "43 has no log.record.uid, 44 has another")
	assert.Equal(t, 6, c.Records)

	c, err = parseSinkLine([]byte("  \n"))
	require.NoError(t, err)
	assert.Zero(t, c.Lines)

	_, err = parseSinkLine([]byte(`{"resourceLogs":[{"scopeLo`))
	assert.Error(t, err)
}

func TestParseSink(t *testing.T) {
	in := otlpLine(t, []any{int64(1), int64(2)}) + "\n" + otlpLine(t, []any{int64(2)}) +
		strings.TrimSuffix(otlpLine(t, []any{int64(3)}), "\n") // last line without newline
	c, err := parseSink(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 2, 3}, c.IDs)
	assert.Equal(t, 3, c.Lines)

	_, err = parseSink(strings.NewReader(otlpLine(t, []any{int64(1)}) + `{"resourceLogs":[`))
	assert.ErrorContains(t, err, "line 2")

	c, err = parseSink(strings.NewReader(""))
	require.NoError(t, err)
	assert.Empty(t, c.IDs)
}

func TestParseSinkFile(t *testing.T) {
	dir := t.TempDir()
	c, err := parseSinkFile(filepath.Join(dir, "absent"))
	require.NoError(t, err)
	assert.Empty(t, c.IDs)

	p := filepath.Join(dir, "logs.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("not json\n"), 0o600))
	_, err = parseSinkFile(p)
	assert.ErrorContains(t, err, p)
}

func TestSinkTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "logs.jsonl")
	tail := newSinkTail(p)
	require.NoError(t, tail.update()) // no file yet
	assert.Equal(t, 3, tail.missing([]int64{1, 2, 3}, 1))

	full := otlpLine(t, []any{int64(1)})
	second := otlpLine(t, []any{int64(2), int64(3)})
	cut := len(second) / 2
	require.NoError(t, os.WriteFile(p, []byte(full+second[:cut]), 0o600))
	require.NoError(t, tail.update())
	assert.Equal(t, 2, tail.missing([]int64{1, 2, 3}, 1), "a partial line is not read")
	assert.Zero(t, tail.bad)

	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(second[cut:] + "garbage\n" + full)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, tail.update())
	assert.Zero(t, tail.missing([]int64{1, 2, 3}, 1))
	assert.Equal(t, 2, tail.seen[1])
	assert.Equal(t, 2, tail.missing([]int64{1, 2, 3}, 2), "only 1 was delivered twice")
	assert.Equal(t, 1, tail.bad)

	// Truncation starts over.
	require.NoError(t, os.WriteFile(p, []byte(otlpLine(t, []any{int64(3)})), 0o600))
	require.NoError(t, tail.update())
	assert.Equal(t, 2, tail.missing([]int64{1, 2, 3}, 1))
}
