package zendesksim

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With MistypedFraction, that share of the records carries one field of
// an unexpected JSON type, the kinds in turn; the records are otherwise
// those of the same seed without it.
func TestMistypedFraction(t *testing.T) {
	from, to := t0, t0.Add(time.Hour)
	plain := New(Options{Seed: 3}).Generate(2000, from, to)
	drifted := New(Options{Seed: 3, MistypedFraction: 0.25}).Generate(2000, from, to)
	require.Len(t, drifted, len(plain))

	kinds := MistypedKinds()
	var n int
	for i, r := range drifted {
		if r.Extra == nil {
			assert.Equal(t, plain[i], r)
			continue
		}
		require.Len(t, r.Extra, 1, "one mistyped field per record")
		want := kinds[n%len(kinds)]
		n++
		assert.Contains(t, r.Extra, want.Field, "the kinds come in turn")
		r.Extra = nil
		assert.Equal(t, plain[i], r, "the record is otherwise the same")
	}
	assert.InDelta(t, 500, n, 100, "about a quarter of 2000 records")
	assert.Empty(t, New(Options{Seed: 3}).Generate(100, from, to)[0].Extra, "no drift without the option")
}

// On the wire, each kind has the JSON type MistypedKinds says.
func TestMistypedRecordsOnTheWire(t *testing.T) {
	sim, base := newTestServer(t, Options{Seed: 5, MistypedFraction: 1})
	recs := sim.Generate(len(MistypedKinds()), t0, t0.Add(time.Minute))

	for i, kind := range MistypedKinds() {
		rec := get(t, base+"/api/v2/audit_logs/"+strconv.FormatInt(recs[i].ID, 10)).json(t)["audit_log"].(map[string]any)
		v := rec[kind.Field]
		switch kind.JSONType {
		case "string":
			assert.IsType(t, "", v, kind.Field)
		case "array":
			assert.Equal(t, []any{recs[i].Action, "bulk"}, v)
		case "object":
			assert.IsType(t, map[string]any{}, v, kind.Field)
		}
		assert.EqualValues(t, recs[i].ID, rec["id"], "the other fields as usual")
	}
}
