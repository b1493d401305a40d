package convert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// benchPage renders a page of n records shaped like Zendesk's.
func benchPage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"audit_logs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"url":"https://acme.zendesk.com/api/v2/audit_logs/%[1]d.json","id":%[1]d,"action_label":"Updated","actor_id":1234567890,"actor_name":"Sameer Patel","source_id":3456789,"source_type":"user","source_label":"John Doe","action":"update","change_description":"Role changed from Administrator to End User","ip_address":"209.119.38.228","created_at":"2024-05-01T11:32:%02[2]dZ"}`, 498483000000+i, i%60)
	}
	b.WriteString(`],"meta":{"has_more":true,"after_cursor":"xyz","before_cursor":"abc"},"links":{"next":null,"prev":null}}`)
	return []byte(b.String())
}

// BenchmarkDecodeConvertPage is one 100-record page from bytes to
// plog.Logs, as the receiver does it (no HTTP). ns/record and
// allocs/record are reported per record.
func BenchmarkDecodeConvertPage(b *testing.B) {
	page := benchPage(100)
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

func perRecord(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
