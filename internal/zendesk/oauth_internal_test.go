package zendesk

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenLifetimeReadsWhatServersSend(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{"access_token":"a","expires_in":1800}`:   30 * time.Minute,
		`{"access_token":"a","expires_in":"1800"}`: 30 * time.Minute,
		`{"access_token":"a","expires_in":2.5}`:    2500 * time.Millisecond,
		`{"access_token":"a"}`:                     0,
		`{"access_token":"a","expires_in":null}`:   0,
		`{"access_token":"a","expires_in":-5}`:     0,
		`{"access_token":"a","expires_in":"soon"}`: 0,
		`{"access_token":"a","expires_in":{}}`:     0,
	} {
		var tr tokenResponse
		require.NoError(t, json.Unmarshal([]byte(body), &tr), body)
		assert.Equal(t, want, tr.lifetime(), body)
	}
}

func TestRenewMargin(t *testing.T) {
	assert.Equal(t, time.Minute, renewMargin(30*time.Minute), "a minute before a long token expires")
	assert.Equal(t, time.Minute, renewMargin(4*time.Minute))
	assert.Equal(t, 15*time.Second, renewMargin(time.Minute), "a quarter of a short token's life")
	assert.Equal(t, time.Second, renewMargin(4*time.Second))
}
