package bench

import (
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// PageRecords is the number of records in the page of
// [DecodeCursorPageConvertPage]: a full page of the API.
const PageRecords = 100

// convertSettings are those of internal/convert's tests, with every
// detection rule on, as the receiver runs by default.
var convertSettings = convert.Settings{
	Resource:     benchResource(),
	ScopeName:    "github.com/zendesk-audit-otel/zendeskauditlogsreceiver",
	ScopeVersion: "1.2.3",
	Detector:     allRules(),
}

func benchResource() pcommon.Resource {
	r := pcommon.NewResource()
	r.Attributes().PutStr("zendesk.subdomain", "acme")
	r.Attributes().PutStr("server.address", "acme.zendesk.com")
	return r
}

// allRules is a Detector with every rule on.
func allRules() *detect.Detector {
	d, err := detect.New(nil)
	if err != nil {
		panic(err) // the table's own names: cannot fail
	}
	return d
}

// DecodeCursorPageConvert decodes a page with zendesk.DecodeCursorPage, the
// client's decoder (github.com/go-json-experiment/json, the envelope then
// each record on its own), and converts its records to plog.Logs, as the
// receiver does after reading a response body.
func DecodeCursorPageConvert(page []byte, observed time.Time) (plog.Logs, error) {
	p, err := zendesk.DecodeCursorPage(page)
	if err != nil {
		return plog.Logs{}, err
	}
	return convert.Logs(p.AuditLogs, convertSettings, observed), nil
}

// DecodePage benchmarks zendesk.DecodeCursorPage alone on one 100-record
// page (the page of internal/convert's benchmarks): the decode share of
// [DecodeCursorPageConvertPage]. Besides ns/op and allocs/op it reports
// ns/record and allocs/record.
func DecodePage(b *testing.B) {
	benchPage(b, func(page []byte, _ time.Time) (int, error) {
		p, err := zendesk.DecodeCursorPage(page)
		if err != nil {
			return 0, err
		}
		return len(p.AuditLogs), nil
	})
}

// DecodeCursorPageConvertPage benchmarks one 100-record page from bytes to
// plog.Logs (no HTTP) with [DecodeCursorPageConvert], as internal/convert's
// BenchmarkDecodeCursorPageConvertPage: the receiver's decode cost. Besides
// ns/op and allocs/op it reports ns/record and allocs/record.
func DecodeCursorPageConvertPage(b *testing.B) { benchPage(b, counted(DecodeCursorPageConvert)) }

// DecodeCursorPageConvertPagePooled is [DecodeCursorPageConvertPage] with
// the collector's pdata.useProtoPooling feature gate (alpha, off by
// default) switched on for its duration, and each plog.Logs released once
// converted, as the collector's pipeline releases what a receiver's
// ConsumeLogs call handed it when the call returns
// (service/internal/refconsumer). It tells pdata's allocations from the
// receiver's: with the gate, pdata takes its objects from pools. The
// receiver builds a new plog.Logs for every ConsumeLogs call, retries
// included, so it is safe with the gate on.
func DecodeCursorPageConvertPagePooled(b *testing.B) {
	if err := setProtoPooling(true); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = setProtoPooling(false) }()
	benchPage(b, func(page []byte, observed time.Time) (int, error) {
		ld, err := DecodeCursorPageConvert(page, observed)
		if err != nil {
			return 0, err
		}
		n := ld.LogRecordCount()
		if pref.MarkPipelineOwnedLogs(ld) {
			pref.UnrefLogs(ld)
		}
		return n, nil
	})
}

func setProtoPooling(on bool) error {
	return featuregate.GlobalRegistry().Set(pref.UseProtoPooling.ID(), on)
}

// counted makes a decode function report the number of log records.
func counted(decode func([]byte, time.Time) (plog.Logs, error)) func([]byte, time.Time) (int, error) {
	return func(page []byte, observed time.Time) (int, error) {
		ld, err := decode(page, observed)
		return ld.LogRecordCount(), err
	}
}

// benchPage benchmarks decode on a 100-record page; decode returns the
// number of log records it made. Besides ns/op and allocs/op it reports
// ns/record and allocs/record.
func benchPage(b *testing.B, decode func([]byte, time.Time) (int, error)) {
	page := zendesksim.SamplePage(PageRecords)
	observed := time.Now()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	allocs0 := mallocs()
	for b.Loop() {
		n, err := decode(page, observed)
		if err != nil {
			b.Fatal(err)
		}
		if n != PageRecords {
			b.Fatalf("%d log records, want %d", n, PageRecords)
		}
	}
	allocs := mallocs() - allocs0
	records := float64(b.N * PageRecords)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	b.ReportMetric(float64(allocs)/records, "allocs/record")
}

// mallocs is the number of heap objects allocated so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}
