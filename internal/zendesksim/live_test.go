package zendesksim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartLive(t *testing.T) {
	clock := newClock(t0)
	sim := New(Options{Seed: 5, Now: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sim.StartLive(ctx, 500, 0.5, 3*time.Second)
	require.Eventually(t, func() bool { return len(sim.Records()) >= 100 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	sim.Wait()

	recs := sim.Records()
	n := len(recs)
	late := 0
	for _, r := range recs {
		assert.False(t, r.CreatedAt.After(t0))
		assert.False(t, r.CreatedAt.Before(t0.Add(-3*time.Second)))
		if r.CreatedAt.Before(t0) {
			late++
		}
	}
	assert.InDelta(t, 0.5*float64(n), late, 0.2*float64(n))
	// Nothing is added after Wait.
	assert.Len(t, sim.Records(), n)
}

func TestLiveRateChanges(t *testing.T) {
	sim := New(Options{Seed: 5})
	sim.StartLive(context.Background(), 1000, 0, time.Second)
	require.Eventually(t, func() bool { return len(sim.Records()) > 0 }, 10*time.Second, 10*time.Millisecond)

	// Restarting replaces the loop; StopLive stops it and waits.
	sim.StartLive(context.Background(), 1000, 0, time.Second)
	sim.StopLive()
	n := len(sim.Records())
	sim.Wait()
	assert.Len(t, sim.Records(), n)

	// The admin rate knob starts, retunes and stops a loop.
	cfg := sim.setLiveRate(200, nil, nil)
	assert.Equal(t, liveConfig{rate: 200, lateFraction: 0.1, maxLate: 5 * time.Second}, cfg)
	f := 0.0
	cfg = sim.setLiveRate(300, &f, nil)
	assert.Equal(t, liveConfig{rate: 300, lateFraction: 0, maxLate: 5 * time.Second}, cfg)
	require.Eventually(t, func() bool { return len(sim.Records()) > n }, 10*time.Second, 10*time.Millisecond)
	sim.setLiveRate(0, nil, nil)
	sim.Wait()
	n = len(sim.Records())
	assert.Len(t, sim.Records(), n)

	// perSecond <= 0 starts nothing.
	sim.StartLive(context.Background(), 0, 0, 0)
	sim.Wait()
}

// A count of no records or fewer (a clock step backwards under load) adds
// nothing and does not panic, which would leave the server's lock held.
func TestAddLiveIgnoresCountsBelowOne(t *testing.T) {
	sim := New(Options{Seed: 5})
	sim.mu.Lock()
	for _, n := range []int{0, -2} {
		sim.addLiveLocked(n, liveConfig{rate: 1})
	}
	sim.mu.Unlock()
	assert.Empty(t, sim.Records())
}
