package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
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

// BenchmarkLogs is Logs alone, on records decoded beforehand.
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

// putRawReference is putRaw as it was: every value through a json.Decoder.
func putRawReference(m pcommon.Map, k string, raw json.RawMessage) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || v == nil {
		return
	}
	setValue(m.PutEmpty(k), v)
}

// FuzzPutRawMatchesDecoder: putRaw's path for scalars puts what the
// json.Decoder path puts, for any bytes, into an empty map and over an
// existing attribute.
func FuzzPutRawMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `false`, `0`, `-0`, `12`, `-1`, `0.5`, `1e3`, `1E+3`, `-2.5e-3`, `9223372036854775807`, `9223372036854775808`,
		`-9223372036854775809`, `1e400`, `-1e400`, `123456789012345678901234567890`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `NaN`,
		`""`, `"x"`, `"é🚀"`, `"a\"b"`, `"a\nb"`, "\"tab\there\"", "\"\xff\"", "\"\xed\xa0\x80\"", `"a"b"`, `"`, `"x`,
		`[]`, `{}`, `[1,"a",null]`, `{"a":{"b":[true]}}`, ` 1`, `1 `, `1 2`, `"a" "b"`, `tru`, `nul`, `truex`, ``, `x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, existing := range []bool{false, true} {
			got, want := pcommon.NewMap(), pcommon.NewMap()
			if existing {
				got.PutInt("k", 5)
				want.PutInt("k", 5)
				got.PutStr("after", "x")
				want.PutStr("after", "x")
			}
			putRaw(got, "k", bytes.Clone(raw))
			putRawReference(want, "k", bytes.Clone(raw))
			if g, w := describeMap(got), describeMap(want); g != w {
				t.Fatalf("%q: got %s, want %s", raw, g, w)
			}
		}
	})
}

// describeMap lists a map's attributes in order, with their types.
func describeMap(m pcommon.Map) string {
	var b strings.Builder
	m.Range(func(k string, v pcommon.Value) bool {
		fmt.Fprintf(&b, "%s=%s:%#v;", k, v.Type(), v.AsRaw())
		return true
	})
	return b.String()
}
