package zendesksim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// actionLabels maps actions to the labels Zendesk shows (English locale).
var actionLabels = map[string]string{
	"create":   "Created",
	"update":   "Updated",
	"destroy":  "Deleted",
	"login":    "Signed in",
	"exported": "Exported",
}

type actor struct {
	id   int64
	name string
	ips  []string
}

// systemActorID is the actor of changes made by Zendesk itself; such
// records carry a null ip_address.
const systemActorID = -1

var actors = []actor{
	{361782910283, "Sameer Patel", []string{"203.0.113.17", "2001:db8:85a3::8a2e:370:7334"}},
	{361782910291, "Zoë Müller", []string{"198.51.100.42"}},
	{361782910307, "José Ñúñez", []string{"192.0.2.201", "2001:db8::1"}},
	{361782910315, "山田 太郎", []string{"2400:cb00:2049:1::a29f:1804"}},
	{361782910323, "Priya 🚀 Sharma", []string{"203.0.113.254"}},
	{361782910331, "Olivia O'Brien", []string{"198.51.100.7", "fe80::1ff:fe23:4567:890a"}},
	{361782910349, "Łukasz Żółć", []string{"192.0.2.33"}},
	{361782910357, "Admin API Integration", []string{"10.12.0.5"}},
}

// sourceKind describes one source_type: its labels, id range and the
// change descriptions of each action.
type sourceKind struct {
	sourceType string
	weight     int
	idBase     int64
	idSpan     int64
	labels     []string
	changes    map[string][]string // by action; "" entries give empty descriptions
	// settings, when set, replace labels and changes: a label whose
	// changes are its own.
	settings []setting
}

// setting is a source label with the changes (by action) it has.
type setting struct {
	label   string
	changes map[string][]string
}

var sourceKinds = []sourceKind{
	{
		sourceType: "user", weight: 30, idBase: 361782900000, idSpan: 90000,
		labels: []string{"John Doe", "Zoë Müller", "山田 太郎", "Ærøskøbing Support", "Priya 🚀 Sharma", "Jane \"JJ\" Roe"},
		changes: map[string][]string{
			"create":  {"Created", "", "Role set to Agent"},
			"update":  {"Role changed from Administrator to End User", "Role changed from End User to Administrator", "Explore role changed from not set to Admin\nGuide role changed from Viewer to Agent", "Role changed from End User to Agent", "Phone changed from  to +1 555 0100", "Tags changed from vip to none", "Alias changed from not set to JJ", "Organization changed from Acme to Globex", "Name changed from \"Zoe Muller\" to \"Zoë Müller\"", "Email changed from old@example.com to new@example.com\nPhone changed from  to +49 30 1234567\nTime zone changed from Berlin to 東京", "Suspended changed from false to true", ""},
			"destroy": {"Deleted", ""},
		},
	},
	{
		sourceType: "rule", weight: 15, idBase: 360001000000, idSpan: 5000,
		labels: []string{"Auto-close solved tickets after 4 days", "Notify requester of received request", "Escalate VIP ⚡ priority", "Macro: Réponse standard"},
		changes: map[string][]string{
			"create":  {"Created", ""},
			"update":  {"Conditions changed\nAll: Status is Solved\nAny: Hours since solved greater than 96", "Title changed from \"Notify requester\" to \"Notify requester of received request\"", "Active changed from true to false"},
			"destroy": {"Deleted"},
		},
	},
	{
		sourceType: "ticket", weight: 15, idBase: 1, idSpan: 250000,
		labels: []string{"Printer on fire 🔥", "Cannot log in", "Rückerstattung angefordert", "注文がまだ届きません", "Question about invoice #4471"},
		changes: map[string][]string{
			"create":   {"Created"},
			"update":   {"Status changed from Open to Solved", "Group changed from Tier 1 to Tier 2\nAssignee changed from Sameer Patel to Zoë Müller"},
			"destroy":  {"Deleted", "Permanently deleted"},
			"exported": {"Exported 1,234 tickets to JSON", "Exported ticket to PDF"},
		},
	},
	{
		// Zendesk's docs spell it apitoken, and real data api_token.
		sourceType: "api_token", weight: 1, idBase: 4200000, idSpan: 100000,
		labels: []string{"API token", "API token: SIEM export"},
		changes: map[string][]string{
			"create":  {""},
			"destroy": {""},
		},
	},
	{
		sourceType: "apitoken", weight: 5, idBase: 4200000, idSpan: 100000,
		labels: []string{"API token", "Zapier integration token", "Audit log shipper"},
		changes: map[string][]string{
			"create":  {"Created"},
			"update":  {"Description changed from \"\" to \"Audit log shipper\""},
			"destroy": {"Deleted", ""},
		},
	},
	{
		// A setting's changes depend on the setting: settings, not labels
		// and changes, describe them.
		sourceType: "account_setting", weight: 10, idBase: 1234567, idSpan: 1,
		settings: []setting{
			{"Password policy", map[string][]string{"update": {"Minimum password length changed from 6 to 12"}}},
			{"Two-Factor authentication for all admins and agents", map[string][]string{"update": {"Enabled", "Disabled"}}},
			{"Require two factor", map[string][]string{"update": {"Enabled", "Disabled\nApplies to: admins, agents"}}},
			{"Session expiration", map[string][]string{"update": {"Session expiration changed from 8 hours to 30 minutes"}}},
			{"IP restrictions", map[string][]string{"update": {"IP restrictions changed from \"\" to \"203.0.113.0/24, 2001:db8::/32\"", "Turned off", "Turned on"}}},
			{"Credit card redaction", map[string][]string{"update": {"Enabled", "Disabled"}}},
			{"Account assumption", map[string][]string{"create": {"Enabled"}, "update": {"Enabled", "Disabled"}}},
			{"Assumption duration", map[string][]string{"update": {"Changed from 1 day to 1 week"}}},
			{"Zendesk Support mobile app access", map[string][]string{"update": {"Enabled", "Disabled"}}},
			{"Single sign-on", map[string][]string{"update": {"Enabled"}}},
			{"Audit log", map[string][]string{"exported": {"Audit log CSV export requested", ""}}},
		},
	},
	{
		sourceType: "account", weight: 1, idBase: 1234567, idSpan: 1,
		labels: []string{"Account"},
		changes: map[string][]string{
			"update": {"Owner changed from Sameer Patel to Zoë Müller", "Name changed from \"Acme\" to \"Acme Inc\""},
		},
	},
	{
		sourceType: "user_setting", weight: 2, idBase: 361782900000, idSpan: 90000,
		labels: []string{"Suspension state: John Doe", "Suspension state: Jane \"JJ\" Roe"},
		changes: map[string][]string{
			"update": {"Suspended", "Unsuspended"},
		},
	},
	{
		sourceType: "brand", weight: 5, idBase: 360000100000, idSpan: 50,
		labels: []string{"Acme Support", "日本語ブランド", "Marca Española", "Brand 🌈 Rainbow"},
		changes: map[string][]string{
			"create":  {"Created"},
			"update":  {"Subdomain changed from acme-old to acme", "Name changed from \"Acme\" to \"日本語ブランド\""},
			"destroy": {"Deleted"},
		},
	},
	{
		sourceType: "ticket_field", weight: 10, idBase: 360020000000, idSpan: 400,
		labels: []string{"Priority level", "Kundennummer", "製品カテゴリ", "Escalation reason"},
		changes: map[string][]string{
			"create":  {"Created", ""},
			"update":  {"Title changed from \"Prio\" to \"Priority level\"", "Options changed\nadded: urgent\nremoved: legacy"},
			"destroy": {"Deleted"},
		},
	},
	{
		sourceType: "zendesk/app_market/app", weight: 5, idBase: 100000, idSpan: 900000,
		labels: []string{"Slack", "Jira", "Shopify", "Answer Bot"},
		changes: map[string][]string{
			"create":  {"Installed"},
			"update":  {"Settings changed", "Enabled changed from false to true"},
			"destroy": {"Uninstalled"},
		},
	},
}

var sourceWeightTotal = func() int {
	t := 0
	for _, k := range sourceKinds {
		t += k.weight
	}
	return t
}()

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// randomRecordLocked builds a realistic record (without id) at second at.
func (s *Server) randomRecordLocked(at time.Time) Record {
	rng := s.dataRNG
	r := Record{CreatedAt: at.UTC().Truncate(time.Second)}

	act := pick(rng, actors)
	system := rng.IntN(100) < 12
	if rng.IntN(100) < 20 && !system {
		// A sign-in: the source is the actor themselves.
		r.Action, r.SourceType, r.SourceID, r.SourceLabel = "login", "user", act.id, act.name
		r.ChangeDescription = pick(rng, []string{
			"Successful sign-in using Zendesk password from https://acme.zendesk.com/access/login",
			"Successful sign-in using Google from Zendesk Support",
			"Successful sign-in using SAML SSO\nRemote IP verified",
			"",
		})
	} else {
		w := rng.IntN(sourceWeightTotal)
		k := &sourceKinds[0]
		for i := range sourceKinds {
			if w < sourceKinds[i].weight {
				k = &sourceKinds[i]
				break
			}
			w -= sourceKinds[i].weight
		}
		labels, changes := k.labels, k.changes
		if len(k.settings) > 0 {
			st := pick(rng, k.settings)
			labels, changes = []string{st.label}, st.changes
		}
		actions := make([]string, 0, len(changes))
		for _, a := range []string{"create", "update", "destroy", "exported"} {
			if _, ok := changes[a]; ok {
				actions = append(actions, a)
			}
		}
		a := actions[0]
		if len(actions) > 1 {
			// updates dominate.
			if i := slices.Index(actions, "update"); i >= 0 && rng.IntN(100) < 55 {
				a = actions[i]
			} else {
				a = pick(rng, actions)
			}
		}
		r.Action, r.SourceType = a, k.sourceType
		r.SourceID = k.idBase + rng.Int64N(k.idSpan)
		r.SourceLabel = pick(rng, labels)
		r.ChangeDescription = pick(rng, changes[a])
		if k.sourceType == "ticket" {
			r.SourceLabel = fmt.Sprintf("#%d %s", r.SourceID, r.SourceLabel)
		}
	}
	r.ActionLabel = actionLabels[r.Action]
	if system {
		r.ActorID, r.ActorName = systemActorID, "Zendesk"
	} else {
		ip := pick(rng, act.ips)
		r.ActorID, r.ActorName, r.IPAddress = act.id, act.name, &ip
	}
	s.mistypeLocked(&r)
	return r
}

// burstSizes plans the same-second bursts of an n-record backlog: several
// bursts of 150-400 records, using at most half of n.
func burstSizes(rng *rand.Rand, n int) []int {
	switch {
	case n < 20:
		return nil
	case n < 600:
		return []int{min(n/2, 150+rng.IntN(251))}
	}
	k := min(max(n/1000, 2), 10)
	var sizes []int
	total := 0
	for range k {
		sz := 150 + rng.IntN(251)
		if total+sz > n/2 {
			break
		}
		sizes = append(sizes, sz)
		total += sz
	}
	return sizes
}

// Generate adds n realistic records spread over [from, to] (whole seconds,
// both ends included), deterministic by Seed, and returns them sorted by
// (CreatedAt, ID). It includes same-second bursts: for n >= 600, several
// bursts of 150-400 records; for smaller n, one burst of up to n/2. Ids
// increase with time, with small gaps.
func (s *Server) Generate(n int, from, to time.Time) []Record {
	if n <= 0 {
		return nil
	}
	from, to = from.UTC().Truncate(time.Second), to.UTC().Truncate(time.Second)
	if to.Before(from) {
		from, to = to, from
	}
	span := int64(to.Sub(from)/time.Second) + 1

	s.mu.Lock()
	defer s.mu.Unlock()
	rng := s.dataRNG
	secs := make([]int64, 0, n)
	for _, size := range burstSizes(rng, n) {
		at := rng.Int64N(span)
		for range size {
			secs = append(secs, at)
		}
	}
	for len(secs) < n {
		at := rng.Int64N(span)
		// small clusters of 2-5 records, as real activity comes in bursts.
		c := 1
		if rng.IntN(10) == 0 {
			c = 2 + rng.IntN(4)
		}
		for ; c > 0 && len(secs) < n; c-- {
			secs = append(secs, at)
		}
	}
	slices.Sort(secs)
	recs := make([]Record, n)
	for i, sec := range secs {
		r := s.randomRecordLocked(from.Add(time.Duration(sec) * time.Second))
		r.ID = s.allocIDLocked()
		s.nextID += rng.Int64N(3)
		recs[i] = r
	}
	s.addLocked(recs)
	return cloneAll(recs)
}

// GenerateBurst adds n records all created at the second of at and returns
// them.
func (s *Server) GenerateBurst(n int, at time.Time) []Record {
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := make([]Record, n)
	for i := range recs {
		r := s.randomRecordLocked(at)
		r.ID = s.allocIDLocked()
		recs[i] = r
	}
	s.addLocked(recs)
	return cloneAll(recs)
}

func cloneAll(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = r.clone()
	}
	return out
}
