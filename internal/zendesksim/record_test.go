package zendesksim

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "line\nbreak\r\ttab", "\x00\x01\x1f",
		"<script>&amp;</script>", "Zoë Müller", "日本語ブランド", "emoji 🚀🔥", "\u2028\u2029",
		"bad utf8 \xff\xfe end", "\u007f",
	} {
		want, err := json.Marshal(s)
		assert.NoError(t, err)
		assert.Equal(t, string(want), string(appendJSONString(nil, s)), "%q", s)
	}
}

func TestRenderRecordIsValidJSON(t *testing.T) {
	sim := New(Options{Seed: 8})
	for _, r := range sim.Generate(1000, t0, t0.AddDate(0, 0, 1)) {
		out := renderRecord("https://acme.zendesk.com", &r)
		var m map[string]any
		assert.NoError(t, json.Unmarshal(out, &m), "%s", out)
		assert.Len(t, m, 12)
	}
	// Extra values that cannot be encoded render as null.
	r := recordAt(1, t0)
	r.Extra = map[string]any{"bad": make(chan int), "good": []int{1}}
	var m map[string]any
	assert.NoError(t, json.Unmarshal(renderRecord("", &r), &m))
	assert.Nil(t, m["bad"])
	assert.Equal(t, []any{1.0}, m["good"])
}
