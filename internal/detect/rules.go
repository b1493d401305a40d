package detect

// RulesetName is the security_rule.ruleset.name of every rule here.
const RulesetName = "zendesk_audit_logs"

// ReferenceBase is where the rules are documented: a rule's reference is
// ReferenceBase + its name, an anchor in the README's Detections table.
const ReferenceBase = "https://github.com/zendesk-audit-otel/zendeskauditlogsreceiver/blob/main/README.md#"

// Rules returns the rule table, in the order of the README. It comes from
// public detection content for Zendesk: Panther's panther-analysis Zendesk
// rules and data model, and Datadog's default Zendesk rules. Every value is
// lower case and trimmed; matching folds case and trims the record's fields.
// Categories are MITRE ATT&CK tactics.
func Rules() []Rule {
	return []Rule{
		{
			Name: "api_token_created", Severity: High, Category: "Credential Access",
			Description: "a new API token: it acts with its creator's rights and does not expire",
			Actions:     []string{"create"},
			SourceTypes: []string{"apitoken", "api_token"},
		},
		{
			Name: "account_owner_changed", Severity: High, Category: "Privilege Escalation",
			Description: "the account owner, the one user no admin can restrict, changed",
			Actions:     []string{"update"},
			SourceTypes: []string{"account"},
			Body:        Text{Op: StartsWith, Values: []string{"owner changed from"}},
		},
		{
			Name: "two_factor_disabled", Severity: High, Category: "Defense Evasion",
			Description: "two-factor authentication is no longer required",
			SourceTypes: []string{"account_setting"},
			Label:       Text{Op: Is, Values: []string{"two-factor authentication for all admins and agents", "require two factor"}},
			Body:        Text{Op: Is, Values: []string{"disabled"}},
		},
		{
			Name: "credit_card_redaction_disabled", Severity: High, Category: "Collection",
			Description: "credit card numbers are no longer redacted from tickets",
			SourceTypes: []string{"account_setting"},
			Label:       Text{Op: Is, Values: []string{"credit card redaction"}},
			Body:        Text{Op: Is, Values: []string{"disabled"}},
		},
		{
			Name: "ip_restrictions_disabled", Severity: High, Category: "Defense Evasion",
			Description: "agents and admins may sign in from any IP address",
			SourceTypes: []string{"account_setting"},
			Label:       Text{Op: Contains, Values: []string{"ip restriction"}},
			Body:        Text{Op: Is, Values: []string{"disabled", "turned off"}},
		},
		{
			Name: "admin_role_assigned", Severity: Medium, Category: "Privilege Escalation",
			Description: "a user became an admin or the account owner (in Support or another product)",
			Actions:     []string{"update"},
			SourceTypes: []string{"user"},
			Body:        Text{Op: RoleChangedTo, Values: []string{"admin", "account owner"}},
		},
		{
			Name: "user_assumption_enabled", Severity: Medium, Category: "Lateral Movement",
			Description: "Zendesk staff may sign in as users of the account (account assumption)",
			Actions:     []string{"create", "update"},
			SourceTypes: []string{"account_setting"},
			Label:       Text{Op: Is, Values: []string{"account assumption", "assumption duration"}},
			Body:        Text{Op: IsNot, Values: []string{"disabled"}},
		},
		{
			Name: "mobile_app_access_enabled", Severity: Medium, Category: "Persistence",
			Description: "agents may use the Support mobile app, a session outside the browser's controls",
			Actions:     []string{"create", "update"},
			SourceTypes: []string{"account_setting"},
			Label:       Text{Op: Is, Values: []string{"zendesk support mobile app access"}},
			Body:        Text{Op: IsNot, Values: []string{"disabled"}},
		},
		{
			Name: "user_unsuspended", Severity: Medium, Category: "Persistence",
			Description: "a suspended user may sign in again",
			SourceTypes: []string{"user_setting"},
			Body:        Text{Op: Is, Values: []string{"unsuspended"}},
		},
	}
}
