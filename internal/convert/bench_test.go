package convert

import (
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// BenchmarkDecodeCursorPageConvertPage is one 100-record page from bytes
// to plog.Logs, as the receiver does it (no HTTP): zendesk.DecodeCursorPage,
// then Logs. ns/record is reported per record.
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
