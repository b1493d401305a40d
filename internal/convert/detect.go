package convert

import (
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
)

// The semantic conventions' security_rule attributes of a flagged record.
const (
	AttrSecurityRuleName        = "security_rule.name"
	AttrSecurityRuleRulesetName = "security_rule.ruleset.name"
	AttrSecurityRuleCategory    = "security_rule.category"
	AttrSecurityRuleReference   = "security_rule.reference"
)

// Severity texts, with the severity numbers they go with.
const (
	SeverityTextError = "ERROR" // a high rule
	SeverityTextWarn  = "WARN"  // a medium rule
	SeverityTextInfo  = "INFO"  // every other record
)

// Severity is the severity of a record that rule flags (nil: none): ERROR
// for a high rule, WARN for a medium one, INFO otherwise.
func Severity(rule *detect.Rule) (plog.SeverityNumber, string) {
	switch {
	case rule == nil:
		return plog.SeverityNumberInfo, SeverityTextInfo
	case rule.Severity == detect.High:
		return plog.SeverityNumberError, SeverityTextError
	}
	return plog.SeverityNumberWarn, SeverityTextWarn
}

// setSeverity sets the severity of lr by the rule that flags it (nil: none,
// INFO), and on a flagged record the security_rule attributes.
func setSeverity(lr plog.LogRecord, rule *detect.Rule) {
	number, text := Severity(rule)
	lr.SetSeverityNumber(number)
	lr.SetSeverityText(text)
	if rule == nil {
		return
	}
	attrs := lr.Attributes()
	attrs.PutStr(AttrSecurityRuleName, rule.Name)
	attrs.PutStr(AttrSecurityRuleRulesetName, detect.RulesetName)
	attrs.PutStr(AttrSecurityRuleCategory, rule.Category)
	attrs.PutStr(AttrSecurityRuleReference, rule.Reference())
}

// ruleAttrCount is how many attributes setSeverity puts for rule: the four
// security_rule ones on a flagged record.
func ruleAttrCount(rule *detect.Rule) int {
	if rule == nil {
		return 0
	}
	return 4
}
