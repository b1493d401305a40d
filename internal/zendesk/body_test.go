package zendesk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// A body over MaxBodyBytes is KindTooLarge and not retried; reading stops
// at the cap, even for a body that never ends.
func TestOversizedBody(t *testing.T) {
	t.Parallel()
	t.Run("page over the cap", func(t *testing.T) {
		t.Parallel()
		sim, ts := newSim(t, zendesksim.Options{}, nil)
		now := time.Now()
		sim.Generate(50, now.Add(-time.Hour), now.Add(-time.Minute))
		opts := fastOptions(ts.URL)
		opts.MaxBodyBytes = 1024
		c := newClient(t, opts)
		_, err := c.List(ctxBG, zendesk.ListParams{PageSize: 50})
		e := asError(t, err)
		assert.Equal(t, zendesk.KindTooLarge, e.Kind)
		assert.Equal(t, http.StatusOK, e.StatusCode)
		assert.False(t, e.Retryable())
		assert.Equal(t, 1, e.Attempts)
		assert.Contains(t, err.Error(), "1024")
		assert.Equal(t, 1, sim.Stats().Requests)

		page, err := c.List(ctxBG, zendesk.ListParams{PageSize: 1})
		require.NoError(t, err, "a page under the cap is fine")
		assert.Len(t, page.AuditLogs, 1)
	})
	t.Run("endless body", func(t *testing.T) {
		t.Parallel()
		_, ts := newCapture(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			chunk := []byte(`{"audit_logs":[` + strings.Repeat(`{"id":1},`, 1000))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		opts := fastOptions(ts.URL)
		opts.MaxBodyBytes = 1024
		c := newClient(t, opts)
		_, err := c.List(ctxBG, zendesk.ListParams{})
		assert.Equal(t, zendesk.KindTooLarge, zendesk.KindOf(err))
	})
	t.Run("error body over the cap", func(t *testing.T) {
		t.Parallel()
		_, ts := newCapture(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusBadRequest, "text/plain", strings.Repeat("x", 4096))
		})
		opts := fastOptions(ts.URL)
		opts.MaxBodyBytes = 1024
		_, err := newClient(t, opts).List(ctxBG, zendesk.ListParams{})
		e := asError(t, err)
		assert.Equal(t, zendesk.KindInvalid, e.Kind, "the status still classifies the error")
	})
}

// A truncated body is KindDecode and retryable.
func TestTruncatedBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler func(int, http.ResponseWriter, *http.Request)
		kind    zendesk.Kind
	}{
		{"cut JSON", func(_ int, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusOK, "application/json", `{"audit_logs":[{"id":1},{"id"`)
		}, zendesk.KindDecode},
		{"not JSON", func(_ int, w http.ResponseWriter, _ *http.Request) {
			answer(w, http.StatusOK, "text/html", `<html>hello</html>`)
		}, zendesk.KindDecode},
		{"connection closed before Content-Length", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"audit_logs":[`))
		}, zendesk.KindNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			capt, ts := newCapture(t, tc.handler)
			opts := fastOptions(ts.URL)
			opts.MaxAttempts = 2
			_, err := newClient(t, opts).List(ctxBG, zendesk.ListParams{})
			e := asError(t, err)
			assert.Equal(t, tc.kind, e.Kind)
			assert.True(t, e.Retryable())
			assert.Equal(t, 2, e.Attempts)
			assert.Equal(t, 2, capt.count())
		})
	}
	t.Run("simulator truncation", func(t *testing.T) {
		t.Parallel()
		sim, ts, _ := newFaultySim(t, zendesksim.Faults{PTruncated: 1}, 1)
		opts := fastOptions(ts.URL)
		opts.MaxAttempts = 1
		_, err := newClient(t, opts).List(ctxBG, zendesk.ListParams{})
		e := asError(t, err)
		assert.Equal(t, zendesk.KindDecode, e.Kind)
		assert.True(t, zendesk.IsRetryable(err))
		assert.Equal(t, http.StatusOK, e.StatusCode)
		assert.Equal(t, 1, sim.Stats().Requests)
	})
}

// Members the client does not know are kept in Extra, raw, and encoded
// again by json.Marshal; null and absent fields are not Valid.
func TestUnknownFieldsKept(t *testing.T) {
	t.Parallel()
	sim, ts := newSim(t, zendesksim.Options{}, nil)
	rec := zendesksim.Record{
		ID: 700000000001, Action: "update", ActionLabel: "Updated", ActorID: -1, ActorName: "Zendesk",
		CreatedAt: time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC), IPAddress: nil,
		SourceID: 1234567, SourceLabel: "Password policy", SourceType: "account_setting",
		ChangeDescription: `Minimum password length changed from "6" to {12}`,
		Extra: map[string]any{
			"risk_score":     0.75,
			"details":        map[string]any{"before": map[string]any{"a": []any{1, "}{", `"\`}}, "after": nil},
			`quoted "key"`:   "x",
			"résumé":         true,
			"empty_object":   map[string]any{},
			"escaped_string": "line\nbreak \u2028 <tag> & \"q\"",
		},
	}
	sim.Add(rec)
	c := newClient(t, fastOptions(ts.URL))

	page, err := c.List(ctxBG, zendesk.ListParams{})
	require.NoError(t, err)
	require.Len(t, page.AuditLogs, 1)
	shown, err := c.Get(ctxBG, rec.ID)
	require.NoError(t, err)

	for _, got := range []zendesk.AuditLog{page.AuditLogs[0], *shown} {
		assert.False(t, got.IPAddress.Valid, "null ip_address is not Valid")
		assert.Equal(t, zendesk.Some(int64(-1)), got.ActorID)
		assert.Equal(t, zendesk.Some(rec.ChangeDescription), got.ChangeDescription)
		require.Len(t, got.Extra, len(rec.Extra))
		for name, v := range rec.Extra {
			want, err := json.Marshal(v)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got.Extra[name]), "extra member %q", name)
			assert.Empty(t, got.Mistyped, "unknown members are not mistyped")
		}

		out, err := json.Marshal(got)
		require.NoError(t, err)
		var again zendesk.AuditLog
		require.NoError(t, json.Unmarshal(out, &again))
		assert.Equal(t, got, again, "Marshal then Unmarshal gives the same record")

		var members map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(out, &members))
		assert.NotContains(t, members, "ip_address", "an absent value is left out")
		assert.JSONEq(t, `{"before":{"a":[1,"}{","\"\\"]},"after":null}`, string(members["details"]))
		assert.JSONEq(t, `"x"`, string(members[`quoted "key"`]))
		assert.JSONEq(t, `true`, string(members["résumé"]))
		assert.JSONEq(t, `700000000001`, string(members["id"]))
		assert.JSONEq(t, `"2024-05-01T11:32:44Z"`, string(members["created_at"]))
	}
}
