// Package otlpfile reads what the collector's file exporter wrote with
// `format: json`: one OTLP/JSON ExportLogsServiceRequest a line.
package otlpfile

import (
	"bytes"
	"fmt"
	"os"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// IDAttribute is the log record attribute that carries the audit log id.
const IDAttribute = "zendesk.audit_log.id"

// Record is one log record of the file: its audit log id and the string
// attributes of its resource.
type Record struct {
	ID       int64
	Resource map[string]string
}

// Read returns the records of every complete line of the file at path, in
// file order, repeats included. A last line without its newline is left
// out: the exporter may be writing it. A missing file holds no records.
func Read(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var (
		recs []Record
		u    plog.JSONUnmarshaler
	)
	for n, line := range bytes.Split(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ld, err := u.UnmarshalLogs(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n+1, err)
		}
		got, err := Records(ld)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n+1, err)
		}
		recs = append(recs, got...)
	}
	return recs, nil
}

// Records returns the log records of ld, in order: each one's audit log
// id and the string attributes of its resource.
func Records(ld plog.Logs) ([]Record, error) {
	var recs []Record
	for _, rl := range ld.ResourceLogs().All() {
		res := map[string]string{}
		for k, v := range rl.Resource().Attributes().All() {
			res[k] = v.AsString()
		}
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				v, ok := lr.Attributes().Get(IDAttribute)
				if !ok || v.Type() != pcommon.ValueTypeInt {
					return nil, fmt.Errorf("a log record without an int %s", IDAttribute)
				}
				recs = append(recs, Record{ID: v.Int(), Resource: res})
			}
		}
	}
	return recs, nil
}

// Count is how many records there are and how many distinct ids among them.
func Count(recs []Record) (records, distinct int) {
	seen := make(map[int64]struct{}, len(recs))
	for _, r := range recs {
		seen[r.ID] = struct{}{}
	}
	return len(recs), len(seen)
}
