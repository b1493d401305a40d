// Package detect flags the audit events a security team must see: a new API
// token, two-factor authentication turned off, a new account owner, a new
// admin. The rules are data (Rules); a Detector applies the enabled ones to
// one record at a time.
package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// Severity ranks a rule. The zero value is no rule.
type Severity int

const (
	None Severity = iota
	Medium
	High
)

func (s Severity) String() string {
	switch s {
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "none"
}

// Rule is one detection: a record is flagged when every condition holds.
// An empty Actions or a zero Text holds for any value.
type Rule struct {
	Name        string
	Severity    Severity
	Category    string
	Description string

	// Actions and SourceTypes: the field equals one of these.
	Actions     []string
	SourceTypes []string
	// Label is tested on source_label, Body on each line of
	// change_description.
	Label Text
	Body  Text

	// reference is Reference, made once by the Detector (a record it
	// flags carries it: no string built per record).
	reference string
}

// Reference is the address of the rule's documentation.
func (r *Rule) Reference() string {
	if r.reference != "" {
		return r.reference
	}
	return ReferenceBase + r.Name
}

// Event is what the rules read of an audit log.
type Event struct {
	Action      string
	SourceType  string
	SourceLabel string
	// Body is the change_description.
	Body string
}

// EventOf returns the fields of a the rules read; absent fields are empty.
func EventOf(a *zendesk.AuditLog) Event {
	return Event{
		Action:      a.Action.Value,
		SourceType:  a.SourceType.Value,
		SourceLabel: a.SourceLabel.Value,
		Body:        a.ChangeDescription.Value,
	}
}

// Detector applies the enabled rules. A nil *Detector flags nothing.
type Detector struct {
	// bySourceType holds the rules of each source_type (lower case), most
	// severe first, the table's order among equals: a record is tested
	// only against the rules of its source_type.
	bySourceType map[string][]*Rule
}

// newDetector indexes rules by source type.
func newDetector(rules []Rule) *Detector {
	rules = sortBySeverity(rules)
	d := &Detector{bySourceType: map[string][]*Rule{}}
	for i := range rules {
		rules[i].reference = ReferenceBase + rules[i].Name
		for _, st := range rules[i].SourceTypes {
			d.bySourceType[st] = append(d.bySourceType[st], &rules[i])
		}
	}
	return d
}

// New returns a Detector with every rule except those named in disabled. A
// name that is not a rule is an error that names it.
func New(disabled []string) (*Detector, error) {
	rules := Rules()
	for _, name := range disabled {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return r.Name == name }) {
			return nil, fmt.Errorf("unknown rule %q (the rules are: %s)", name, strings.Join(Names(), ", "))
		}
	}
	rules = slices.DeleteFunc(rules, func(r Rule) bool { return slices.Contains(disabled, r.Name) })
	return newDetector(rules), nil
}

// sortBySeverity sorts rules most severe first, keeping the order of
// rules of the same severity.
func sortBySeverity(rules []Rule) []Rule {
	slices.SortStableFunc(rules, func(a, b Rule) int { return int(b.Severity) - int(a.Severity) })
	return rules
}

// Names returns the names of all rules, in the table's order.
func Names() []string {
	rules := Rules()
	names := make([]string, len(rules))
	for i := range rules {
		names[i] = rules[i].Name
	}
	return names
}

// Match returns the most severe enabled rule that flags e, or nil. Among
// rules of the same severity the first in the table wins.
func (d *Detector) Match(e Event) *Rule {
	if d == nil {
		return nil
	}
	sourceType := strings.TrimSpace(e.SourceType)
	rules, ok := d.bySourceType[sourceType] // no allocation: the usual case
	if !ok && hasUpper(sourceType) {
		rules = d.bySourceType[strings.ToLower(sourceType)]
	}
	if len(rules) == 0 {
		return nil
	}
	e = Event{
		Action:      strings.TrimSpace(e.Action),
		SourceType:  sourceType,
		SourceLabel: strings.TrimSpace(e.SourceLabel),
		Body:        e.Body, // trimmed line by line
	}
	for _, r := range rules {
		if r.matches(&e) {
			return r
		}
	}
	return nil
}

// MatchAuditLog is Match(EventOf(a)).
func (d *Detector) MatchAuditLog(a *zendesk.AuditLog) *Rule {
	if d == nil {
		return nil
	}
	return d.Match(EventOf(a))
}

// matches reports whether r flags e, whose fields other than Body are
// trimmed. The cheap tests go first.
func (r *Rule) matches(e *Event) bool {
	return isOneOf(e.SourceType, r.SourceTypes) &&
		(len(r.Actions) == 0 || isOneOf(e.Action, r.Actions)) &&
		r.Label.matchValue(e.SourceLabel) &&
		r.Body.matchLines(e.Body)
}
