package convert

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// BenchmarkDecodeConvertPage is one 100-record page from bytes to
// plog.Logs, as the receiver does it (no HTTP). ns/record and
// allocs/record are reported per record.
func BenchmarkDecodeConvertPage(b *testing.B) {
	page := zendesksim.SamplePage(100)
	observed := time.Now()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var body struct {
			AuditLogs []zendesk.AuditLog `json:"audit_logs"`
		}
		if err := json.Unmarshal(page, &body); err != nil {
			b.Fatal(err)
		}
		ld := Logs(body.AuditLogs, settings, observed)
		if ld.LogRecordCount() != 100 {
			b.Fatal("wrong count")
		}
	}
	perRecord(b, 100)
}

// BenchmarkDecodeCursorPageConvertPage is the same page through
// zendesk.DecodeCursorPage, the single-pass page decoder, then Logs.
func BenchmarkDecodeCursorPageConvertPage(b *testing.B) {
	page := zendesksim.SamplePage(100)
	observed := time.Now()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := zendesk.DecodeCursorPage(page)
		if err != nil {
			b.Fatal(err)
		}
		ld := Logs(p.AuditLogs, settings, observed)
		if ld.LogRecordCount() != 100 {
			b.Fatal("wrong count")
		}
	}
	perRecord(b, 100)
}

// BenchmarkLogs is Logs alone, on records decoded beforehand, with every
// detection rule on (the default).
func BenchmarkLogs(b *testing.B) {
	p, err := zendesk.DecodeCursorPage(zendesksim.SamplePage(100))
	if err != nil {
		b.Fatal(err)
	}
	observed := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		ld := Logs(p.AuditLogs, settings, observed)
		if ld.LogRecordCount() != 100 {
			b.Fatal("wrong count")
		}
	}
	perRecord(b, 100)
}

func perRecord(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkLogsWithoutDetections is BenchmarkLogs with detections off
// (detections.enabled: false): the difference is what the rules cost.
func BenchmarkLogsWithoutDetections(b *testing.B) {
	p, err := zendesk.DecodeCursorPage(zendesksim.SamplePage(100))
	if err != nil {
		b.Fatal(err)
	}
	s := settings
	s.Detector = nil
	observed := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		ld := Logs(p.AuditLogs, s, observed)
		if ld.LogRecordCount() != 100 {
			b.Fatal("wrong count")
		}
	}
	perRecord(b, 100)
}
