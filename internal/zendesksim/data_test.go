package zendesksim

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateRealistic(t *testing.T) {
	from, to := t0, t0.Add(6*time.Hour)
	sim := New(Options{Seed: 1})
	got := sim.Generate(5000, from, to)
	require.Len(t, got, 5000)
	assert.Equal(t, got, sim.Records(), "Generate returns what it added, sorted")

	perSecond := map[int64]int{}
	var (
		system, ipv4, ipv6, emptyDesc, multiline, nonASCII int
		actions                                            = map[string]int{}
		types                                              = map[string]int{}
	)
	for i, r := range got {
		if i > 0 {
			require.Less(t, got[i-1].ID, r.ID, "ids increase with time in a backlog")
		}
		assert.Len(t, strconv.FormatInt(r.ID, 10), 12)
		assert.False(t, r.CreatedAt.Before(from) || r.CreatedAt.After(to))
		assert.Equal(t, time.UTC, r.CreatedAt.Location())
		assert.Zero(t, r.CreatedAt.Nanosecond())
		assert.Equal(t, actionLabels[r.Action], r.ActionLabel)
		perSecond[r.CreatedAt.Unix()]++
		actions[r.Action]++
		types[r.SourceType]++
		if r.ActorID == systemActorID {
			system++
			assert.Nil(t, r.IPAddress)
			assert.Equal(t, "Zendesk", r.ActorName)
		} else {
			require.NotNil(t, r.IPAddress)
			addr, err := netip.ParseAddr(*r.IPAddress)
			require.NoError(t, err)
			if addr.Is4() {
				ipv4++
			} else {
				ipv6++
			}
		}
		if r.ChangeDescription == "" {
			emptyDesc++
		}
		if strings.Contains(r.ChangeDescription, "\n") {
			multiline++
		}
		if !isASCII(r.ActorName) || !isASCII(r.SourceLabel) {
			nonASCII++
		}
		assert.True(t, utf8.ValidString(r.SourceLabel))
	}
	bursts := 0
	for _, n := range perSecond {
		if n >= 150 {
			bursts++
			assert.LessOrEqual(t, n, 400+10)
		}
	}
	assert.GreaterOrEqual(t, bursts, 2, "several same-second bursts")
	for _, a := range []string{"create", "update", "destroy", "login", "exported"} {
		assert.Positive(t, actions[a], a)
	}
	for _, st := range []string{"user", "rule", "ticket", "apitoken", "api_token", "account_setting", "account", "user_setting", "brand", "ticket_field", "zendesk/app_market/app"} {
		assert.Positive(t, types[st], st)
	}
	for name, n := range map[string]int{"system": system, "ipv4": ipv4, "ipv6": ipv6, "empty": emptyDesc, "multiline": multiline, "non-ASCII": nonASCII} {
		assert.Positive(t, n, name)
	}

	// Deterministic by seed, different across seeds.
	assert.Equal(t, got, New(Options{Seed: 1}).Generate(5000, from, to))
	assert.NotEqual(t, got, New(Options{Seed: 2}).Generate(5000, from, to))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestGenerateSmallAndEdgeCases(t *testing.T) {
	sim := New(Options{Seed: 3})
	assert.Nil(t, sim.Generate(0, t0, t0))
	one := sim.Generate(1, t0, t0)
	require.Len(t, one, 1)
	assert.Equal(t, t0, one[0].CreatedAt)

	// Reversed bounds are accepted.
	recs := sim.Generate(100, t0.Add(time.Hour), t0)
	for _, r := range recs {
		assert.False(t, r.CreatedAt.Before(t0) || r.CreatedAt.After(t0.Add(time.Hour)))
	}
	assert.Len(t, sim.Records(), 101)
}

func TestGenerateBurst(t *testing.T) {
	sim := New(Options{Seed: 3})
	at := t0.Add(1500 * time.Millisecond)
	recs := sim.GenerateBurst(300, at)
	require.Len(t, recs, 300)
	for _, r := range recs {
		assert.Equal(t, t0.Add(time.Second), r.CreatedAt)
	}
	id := sim.NextID()
	assert.Greater(t, id, recs[len(recs)-1].ID)
}
