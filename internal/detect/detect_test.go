package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

func ev(action, sourceType, label, body string) Event {
	return Event{Action: action, SourceType: sourceType, SourceLabel: label, Body: body}
}

// Each rule with records it flags and near misses it does not.
func TestRules(t *testing.T) {
	tests := []struct {
		rule  string
		flags map[string]Event
		// misses are near misses: no rule flags them.
		misses map[string]Event
	}{
		{
			rule: "api_token_created",
			flags: map[string]Event{
				"apitoken (the API's docs)": ev("create", "apitoken", "API token", ""),
				"api_token (real data)":     ev("create", "api_token", "API token", "Created"),
				"case and whitespace":       ev(" Create\t", " ApiToken ", "x", ""),
			},
			misses: map[string]Event{
				"destroy instead of create": ev("destroy", "apitoken", "API token", "Deleted"),
				"update":                    ev("update", "api_token", "API token: a new description", "description changed from not set to a new description"),
				"another source type":       ev("create", "api_tokens", "API token", ""),
			},
		},
		{
			rule: "account_owner_changed",
			flags: map[string]Event{
				"owner changed":          ev("update", "account", "Account: Account", "Owner changed from Bob Cat to Mountain Lion"),
				"on a line of its own":   ev("update", "account", "Account", "Name changed from Acme to Acme Inc\n  owner CHANGED from Bob Cat to Mountain Lion"),
				"surrounding whitespace": ev("update", "account", "Account", "  Owner changed from Bob Cat to Mountain Lion  "),
			},
			misses: map[string]Event{
				"another change of the account": ev("update", "account", "Account", "Name changed from Acme to Acme Inc"),
				"owner not at the start":        ev("update", "account", "Account", "Ticket owner changed from Bob Cat to Mountain Lion"),
				"create instead of update":      ev("create", "account", "Account", "Owner changed from Bob Cat to Mountain Lion"),
				"another source type":           ev("update", "account_setting", "Account", "Owner changed from Bob Cat to Mountain Lion"),
			},
		},
		{
			rule: "two_factor_disabled",
			flags: map[string]Event{
				"for all admins and agents": ev("update", "account_setting", "Two-Factor authentication for all admins and agents", "Disabled"),
				"require two factor":        ev("update", "account_setting", "Require Two Factor", "disabled"),
				"a line of the body":        ev("update", "account_setting", "Require two factor", "Disabled\nApplies to: admins, agents"),
			},
			misses: map[string]Event{
				"Enabled instead of Disabled": ev("update", "account_setting", "Two-Factor authentication for all admins and agents", "Enabled"),
				"another label":               ev("update", "account_setting", "Two-factor authentication", "Disabled"),
				"disabled inside a sentence":  ev("update", "account_setting", "Require two factor", "Not disabled"),
			},
		},
		{
			rule: "credit_card_redaction_disabled",
			flags: map[string]Event{
				"disabled":          ev("create", "account_setting", "Credit Card Redaction", "Disabled"),
				"any action counts": ev("update", "account_setting", "credit card redaction", " DISABLED "),
			},
			misses: map[string]Event{
				"Enabled instead of Disabled": ev("create", "account_setting", "Credit Card Redaction", "Enabled"),
				"another label":               ev("create", "account_setting", "Credit card redaction for agents", "Disabled"),
				"another source type":         ev("create", "user_setting", "Credit Card Redaction", "Disabled"),
			},
		},
		{
			rule: "ip_restrictions_disabled",
			flags: map[string]Event{
				"disabled":                ev("update", "account_setting", "IP restrictions", "Disabled"),
				"turned off":              ev("update", "account_setting", "Enable IP restrictions", "Turned off"),
				"label contains it":       ev("update", "account_setting", "Agent IP Restriction", "turned OFF"),
				"a line of a longer body": ev("update", "account_setting", "IP restrictions", "Allowed IPs changed\nTurned off"),
			},
			misses: map[string]Event{
				"Enabled instead of Disabled": ev("update", "account_setting", "IP restrictions", "Enabled"),
				"turned on":                   ev("update", "account_setting", "IP restrictions", "Turned on"),
				"the range changed":           ev("update", "account_setting", "IP restrictions", "IP restrictions changed from \"\" to \"203.0.113.0/24\""),
				"another label":               ev("update", "account_setting", "Session expiration", "Turned off"),
			},
		},
		{
			rule: "admin_role_assigned",
			flags: map[string]Event{
				"to Administrator":    ev("update", "user", "Bob Cat", "Role changed from End User to Administrator"),
				"to account owner":    ev("update", "user", "Bob Cat", "Role changed from Administrator to Account Owner"),
				"another product":     ev("update", "user", "Bob Cat", "Explore role changed from not set to Admin\nGuide role changed from Viewer to Agent"),
				"on the second line":  ev("update", "user", "Bob Cat", "Guide role changed from Viewer to Agent\r\nExplore role changed from not set to Admin"),
				"case and whitespace": ev(" UPDATE ", "User", "Bob Cat", "  ROLE CHANGED FROM AGENT TO ADMINISTRATOR  "),
			},
			misses: map[string]Event{
				"a demotion from admin":    ev("update", "user", "Bob Cat", "Role changed from Administrator to End User"),
				"demotions in a product":   ev("update", "user", "Bob Cat", "Explore role changed from Admin to Viewer\nGuide role changed from Admin to Agent"),
				"role set, not changed":    ev("create", "user", "Bob Cat", "Role set to Admin"),
				"create instead of update": ev("create", "user", "Bob Cat", "Role changed from End User to Administrator"),
				"another field":            ev("update", "user", "Admin Bob", "Name changed from Bob to Admin Bob"),
				"another source type":      ev("update", "group", "Admins", "Role changed from End User to Administrator"),
			},
		},
		{
			rule: "user_assumption_enabled",
			flags: map[string]Event{
				"enabled":            ev("update", "account_setting", "Account Assumption", "Enabled"),
				"changed":            ev("update", "account_setting", "Account Assumption", "Changed"),
				"created":            ev("create", "account_setting", "Assumption duration", "1 week"),
				"an empty body":      ev("update", "account_setting", "Account assumption", ""),
				"disabled elsewhere": ev("update", "account_setting", "Account assumption", "Not disabled"),
			},
			misses: map[string]Event{
				"Disabled":                  ev("update", "account_setting", "Account Assumption", "Disabled"),
				"Disabled on a line":        ev("update", "account_setting", "Account Assumption", "Duration: 1 day\n disabled "),
				"destroy instead of create": ev("destroy", "account_setting", "Account Assumption", "Enabled"),
				"another label":             ev("update", "account_setting", "Assume users", "Enabled"),
			},
		},
		{
			rule: "mobile_app_access_enabled",
			flags: map[string]Event{
				"enabled": ev("create", "account_setting", "Zendesk Support Mobile App Access", "Enabled"),
				"updated": ev("update", "account_setting", "zendesk support mobile app access", "Turned on"),
			},
			misses: map[string]Event{
				"Disabled":                  ev("update", "account_setting", "Zendesk Support Mobile App Access", "Disabled"),
				"destroy instead of create": ev("destroy", "account_setting", "Zendesk Support Mobile App Access", "Enabled"),
				"another label":             ev("update", "account_setting", "Zendesk Chat mobile app access", "Enabled"),
			},
		},
		{
			rule: "user_unsuspended",
			flags: map[string]Event{
				"unsuspended":      ev("update", "user_setting", "Suspension state: Bob Cat", "Unsuspended"),
				"any action, case": ev("create", "USER_SETTING", "Suspension state: Bob Cat", " unsuspended\n"),
			},
			misses: map[string]Event{
				"suspended":           ev("update", "user_setting", "Suspension state: Bob Cat", "Suspended"),
				"another source type": ev("update", "user", "Bob Cat", "Unsuspended"),
				"a user's flag":       ev("update", "user", "Bob Cat", "Suspended changed from true to false"),
			},
		},
	}
	d, err := New(nil)
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.rule] = true
		require.NotEmpty(t, tt.flags, tt.rule)
		require.NotEmpty(t, tt.misses, tt.rule)
		for name, e := range tt.flags {
			t.Run(tt.rule+"/flags/"+name, func(t *testing.T) {
				got := d.Match(e)
				require.NotNil(t, got)
				assert.Equal(t, tt.rule, got.Name)
			})
		}
		for name, e := range tt.misses {
			t.Run(tt.rule+"/misses/"+name, func(t *testing.T) {
				if got := d.Match(e); got != nil {
					t.Errorf("flagged by %s", got.Name)
				}
			})
		}
	}
	for _, name := range Names() {
		assert.True(t, covered[name], "rule %s has no test", name)
	}
}

func TestRecordsNoRuleFlags(t *testing.T) {
	d, err := New(nil)
	require.NoError(t, err)
	for _, e := range []Event{
		{},
		ev("login", "user", "Sameer Patel", "Successful sign-in using Zendesk password"),
		ev("update", "ticket", "#1 Printer on fire", "Status changed from Open to Solved"),
		ev("exported", "account_setting", "Audit log", "Audit log CSV export requested"),
		ev("update", "user", "John Doe", "Suspended changed from false to true"),
	} {
		assert.Nil(t, d.Match(e), "%+v", e)
	}
}

func TestTheMoreSevereRuleWins(t *testing.T) {
	// Two rules of different severity that flag the same record.
	both := []Rule{
		{Name: "medium", Severity: Medium, SourceTypes: []string{"user"}},
		{Name: "high", Severity: High, SourceTypes: []string{"user"}, Body: Text{Op: Is, Values: []string{"x"}}},
		{Name: "high_too", Severity: High, SourceTypes: []string{"user"}},
	}
	d := newDetector(both)
	assert.Equal(t, "high", d.Match(ev("update", "user", "", "x")).Name, "the more severe wins; the first of the table among equals")
	assert.Equal(t, "high_too", d.Match(ev("update", "user", "", "y")).Name)

	real, err := New(nil)
	require.NoError(t, err)
	for st, rules := range real.bySourceType {
		for i := 1; i < len(rules); i++ {
			assert.GreaterOrEqual(t, rules[i-1].Severity, rules[i].Severity, "%s: most severe first", st)
		}
	}
}

func TestDisabledRules(t *testing.T) {
	d, err := New([]string{"api_token_created", "user_unsuspended"})
	require.NoError(t, err)
	assert.Nil(t, d.Match(ev("create", "apitoken", "API token", "")))
	assert.Nil(t, d.Match(ev("update", "user_setting", "Suspension state: Bob", "Unsuspended")))
	got := d.Match(ev("update", "account", "Account", "Owner changed from A to B"))
	require.NotNil(t, got, "the other rules stay on")
	assert.Equal(t, "account_owner_changed", got.Name)
}

func TestUnknownDisabledRuleIsAnErrorNamingIt(t *testing.T) {
	_, err := New([]string{"api_token_created", "api_token_creatd"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown rule "api_token_creatd"`)
	assert.Contains(t, err.Error(), "api_token_created, account_owner_changed", "the message lists the rules")
}

func TestNilDetectorFlagsNothing(t *testing.T) {
	var d *Detector
	assert.Nil(t, d.Match(ev("create", "apitoken", "", "")))
	assert.Nil(t, d.MatchAuditLog(&zendesk.AuditLog{}))
}

func TestMatchAuditLog(t *testing.T) {
	d, err := New(nil)
	require.NoError(t, err)
	a := zendesk.AuditLog{
		Action:            zendesk.Some("update"),
		SourceType:        zendesk.Some("user"),
		SourceLabel:       zendesk.Some("Bob Cat"),
		ChangeDescription: zendesk.Some("Role changed from End User to Administrator"),
	}
	got := d.MatchAuditLog(&a)
	require.NotNil(t, got)
	assert.Equal(t, "admin_role_assigned", got.Name)
	assert.Nil(t, d.MatchAuditLog(&zendesk.AuditLog{}), "absent fields are empty")
}

// The table's values are what the matcher assumes: lower case ASCII,
// trimmed, not empty; names are unique and every rule is documented.
func TestRuleTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		assert.False(t, seen[r.Name], "duplicate rule %s", r.Name)
		seen[r.Name] = true
		assert.Regexp(t, `^[a-z0-9_]+$`, r.Name)
		assert.Contains(t, []Severity{Medium, High}, r.Severity, r.Name)
		assert.NotEmpty(t, r.Category, r.Name)
		assert.NotEmpty(t, r.Description, r.Name)
		assert.NotEmpty(t, r.SourceTypes, r.Name, "a rule without source types would test every record")
		assert.Equal(t, ReferenceBase+r.Name, r.Reference())
		values := append(append(append([]string{}, r.Actions...), r.SourceTypes...), r.Label.Values...)
		values = append(values, r.Body.Values...)
		for _, v := range values {
			assert.NotEmpty(t, v, r.Name)
			assert.Equal(t, strings.TrimSpace(strings.ToLower(v)), v, r.Name)
			assert.Regexp(t, `^[\x20-\x7e]+$`, v, r.Name)
		}
		for _, tx := range []Text{r.Label, r.Body} {
			if tx.Op != Any {
				assert.NotEmpty(t, tx.Values, r.Name)
			}
		}
	}
}
