package checkpoint

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	p := At(sec(0), []int64{100000000002, 100000000001})
	b, err := Encode(p)
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,"second":"2024-05-01T11:32:44Z","ids":[100000000001,100000000002]}`, string(b))
	got, err := Decode(b, sec(60))
	require.NoError(t, err)
	assert.True(t, p.Equal(got))
}

func TestDecodeRefusesWhatCannotBeUsed(t *testing.T) {
	now := sec(0)
	tests := []struct {
		name, value, want string
	}{
		{"not json", `{"version":1,`, "not valid JSON"},
		{"no version", `{"second":"2024-05-01T11:32:44Z"}`, "no version field"},
		{"future version", `{"version":2,"second":"2024-05-01T11:32:44Z"}`, "version 2 is not supported"},
		{"no second", `{"version":1}`, "no second"},
		{"bad second", `{"version":1,"second":"yesterday"}`, "malformed"},
		{"fractional second", `{"version":1,"second":"2024-05-01T11:32:44.5Z"}`, "not a whole second"},
		{"future", `{"version":1,"second":"2024-05-01T12:32:44Z"}`, "in the future"},
		{"negative id", `{"version":1,"second":"2024-05-01T11:32:44Z","ids":[-4]}`, "not positive"},
		{"ids not numbers", `{"version":1,"second":"2024-05-01T11:32:44Z","ids":["a"]}`, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.value), now)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecodeAllowsSmallClockSkew(t *testing.T) {
	_, err := Decode([]byte(`{"version":1,"second":"2024-05-01T11:33:14Z"}`), sec(0))
	assert.NoError(t, err, "30s ahead of the local clock is skew, not tampering")
}

func TestStoreOnFileBackedStorage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	id := component.MustNewID("zendesk_audit_logs")
	client := storagetest.NewFileBackedClient(component.KindReceiver, id, "", dir)
	s := NewStore(client)
	s.now = func() time.Time { return sec(60) }

	_, found, err := s.Load(ctx)
	require.NoError(t, err)
	assert.False(t, found)

	p := At(sec(3), []int64{7, 8})
	require.NoError(t, s.Save(ctx, p))
	require.NoError(t, client.Close(ctx))

	reopened := NewStore(storagetest.NewFileBackedClient(component.KindReceiver, id, "", dir))
	reopened.now = s.now
	got, found, err := reopened.Load(ctx)
	require.NoError(t, err)
	require.True(t, found)
	assert.True(t, p.Equal(got))

	require.NoError(t, reopened.Delete(ctx))
	_, found, err = reopened.Load(ctx)
	require.NoError(t, err)
	assert.False(t, found)
}

func TestStoreReportsACorruptValue(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindReceiver, component.MustNewID("zendesk_audit_logs"), "")
	require.NoError(t, client.Set(ctx, Key, []byte("\x00garbage")))
	_, found, err := NewStore(client).Load(ctx)
	require.ErrorContains(t, err, "not valid JSON")
	assert.False(t, found)
}

// A second before MinSecond (2007-01-01, before Zendesk's audit log) is
// refused by Decode and by Encode: year 0000 made every request's
// created_at filter invalid, 1970 read 37 years of nothing.
func TestSecondBeforeTheFloorIsRefusedBothWays(t *testing.T) {
	for _, second := range []string{"0000-01-01T00:00:00Z", "0001-01-01T00:00:01Z", "1970-01-01T00:00:00Z", "2006-12-31T23:59:59Z"} {
		t.Run(second, func(t *testing.T) {
			_, err := Decode([]byte(`{"version":1,"second":"`+second+`","ids":[]}`), sec(0))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "before 2007-01-01T00:00:00Z")

			at, err := time.Parse(time.RFC3339, second)
			require.NoError(t, err)
			_, err = Encode(At(at, nil))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "before 2007-01-01T00:00:00Z")
		})
	}
	floor := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := Encode(Start(floor))
	require.NoError(t, err)
	p, err := Decode(b, sec(0))
	require.NoError(t, err)
	assert.True(t, p.Second.Equal(floor), "the floor itself is a position")
}
