package detect

import (
	"testing"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// BenchmarkMatch is the rule table applied to each record of the page the
// decode and convert benchmarks use (a user's role change, which reaches
// the role parsing of admin_role_assigned: the dearest path), so that
// ns/record compares with theirs.
func BenchmarkMatch(b *testing.B) {
	page, err := zendesk.DecodeCursorPage(zendesksim.SamplePage(100))
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range page.AuditLogs {
			if d.MatchAuditLog(&page.AuditLogs[i]) != nil {
				b.Fatal("the sample page is a demotion: no rule flags it")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(page.AuditLogs)), "ns/record")
}

// BenchmarkMatchMix is a mix of records: most fail on source_type, some
// are flagged, one has a long multi-line body.
func BenchmarkMatchMix(b *testing.B) {
	events := []Event{
		ev("login", "user", "Sameer Patel", "Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login"),
		ev("update", "ticket", "#1 Printer on fire", "Group changed from Tier 1 to Tier 2\nAssignee changed from Sameer Patel to Zoë Müller"),
		ev("update", "rule", "Auto-close", "Conditions changed\nAll: Status is Solved\nAny: Hours since solved greater than 96"),
		ev("update", "user", "John Doe", "Email changed from old@example.com to new@example.com\nPhone changed from  to +49 30 1234567\nTime zone changed from Berlin to 東京"),
		ev("update", "account_setting", "IP restrictions", "Turned off"),
		ev("create", "apitoken", "API token", "Created"),
		ev("update", "user", "Bob Cat", "Explore role changed from not set to Admin\nGuide role changed from Viewer to Agent"),
		ev("update", "account_setting", "Session expiration", "Session expiration changed from 8 hours to 30 minutes"),
	}
	d, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range events {
			d.Match(events[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/record")
}
