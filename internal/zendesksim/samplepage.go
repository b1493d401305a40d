package zendesksim

import (
	"fmt"
	"strings"
)

// SamplePage renders, without a server, a cursor-pagination page of n
// records shaped like Zendesk's (every field present, no escapes): the one
// page the decoder benchmarks and tests share, so their figures compare.
func SamplePage(n int) []byte {
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
