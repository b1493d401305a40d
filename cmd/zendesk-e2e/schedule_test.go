package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanActions(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		dur := time.Duration(5+seed%60) * time.Second
		kills := int(seed % 6)
		if time.Duration(kills-1)*minKillGap > dur-2*time.Second {
			kills = 1
		}
		acts, err := planActions(rng, dur, kills, 3*time.Second)
		require.NoError(t, err)
		var nk, stops, starts int
		var lastKill, stopAt time.Duration = -time.Hour, -1
		for i, a := range acts {
			assert.GreaterOrEqual(t, a.At, time.Second)
			assert.LessOrEqual(t, a.At, dur-time.Second)
			if i > 0 {
				assert.GreaterOrEqual(t, a.At, acts[i-1].At, "sorted")
			}
			switch a.Kind {
			case actKill:
				nk++
				assert.GreaterOrEqual(t, a.At-lastKill, minKillGap)
				assert.LessOrEqual(t, a.RestartDelay, 500*time.Millisecond)
				lastKill = a.At
			case actSinkStop:
				stops++
				stopAt = a.At
			case actSinkStart:
				starts++
				assert.Equal(t, 3*time.Second, a.At-stopAt)
			}
		}
		assert.Equal(t, kills, nk)
		assert.Equal(t, 1, stops)
		assert.Equal(t, 1, starts)
	}
}

func TestPlanActionsDeterministic(t *testing.T) {
	a, err := planActions(rand.New(rand.NewPCG(7, 1)), time.Minute, 3, 4*time.Second)
	require.NoError(t, err)
	b, err := planActions(rand.New(rand.NewPCG(7, 1)), time.Minute, 3, 4*time.Second)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestPlanActionsErrors(t *testing.T) {
	_, err := planActions(rand.New(rand.NewPCG(1, 1)), 5*time.Second, 4, 0)
	assert.ErrorContains(t, err, "do not fit")
	_, err = planActions(rand.New(rand.NewPCG(1, 1)), 5*time.Second, 0, 4*time.Second)
	assert.ErrorContains(t, err, "outage")
	acts, err := planActions(rand.New(rand.NewPCG(1, 1)), 5*time.Second, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, acts)
}

func TestMarkAckKills(t *testing.T) {
	for seed := range uint64(200) {
		acts, err := planActions(rand.New(rand.NewPCG(seed, 1)), 30*time.Second, 3, 4*time.Second)
		require.NoError(t, err)
		var stop, start time.Duration
		eligible := 0
		for _, a := range acts {
			switch a.Kind {
			case actSinkStop:
				stop = a.At
			case actSinkStart:
				start = a.At
			}
		}
		for _, a := range acts {
			if a.Kind == actKill && (a.At < stop-ackOutageMargin || a.At > start) {
				eligible++
			}
		}
		n := int(seed % 4)
		markAckKills(rand.New(rand.NewPCG(seed, 2)), acts, n)
		marked := 0
		for _, a := range acts {
			if !a.AtAck {
				continue
			}
			marked++
			assert.Equal(t, actKill, a.Kind)
			assert.False(t, a.At >= stop-ackOutageMargin && a.At <= start, "seed %d: a kill at the acknowledgement at %s, in the outage %s-%s", seed, a.At, stop, start)
		}
		assert.Equal(t, min(n, eligible), marked, "seed %d", seed)
	}
}

// The schedule of seed 21 that put a kill at the acknowledgement inside
// the sink's outage, where no export can be accepted.
func TestMarkAckKillsAvoidsTheOutage(t *testing.T) {
	acts := []action{
		{At: 2 * time.Second, Kind: actKill},
		{At: 12300 * time.Millisecond, Kind: actKill},
		{At: 20200 * time.Millisecond, Kind: actSinkStop},
		{At: 21 * time.Second, Kind: actKill},
		{At: 24200 * time.Millisecond, Kind: actSinkStart},
	}
	markAckKills(rand.New(rand.NewPCG(1, 1)), acts, 3)
	assert.True(t, acts[0].AtAck)
	assert.True(t, acts[1].AtAck)
	assert.False(t, acts[3].AtAck)
}

func TestPlanSchedule(t *testing.T) {
	for seed := range uint64(300) {
		dur := time.Duration(20+seed%50) * time.Second
		acts, err := planSchedule(rand.New(rand.NewPCG(seed, 3)), dur, 3, 4*time.Second, 1, 1)
		require.NoError(t, err, "seed %d", seed)
		stop, start := outage(acts)
		inOutage := 0
		for _, a := range acts {
			inside := a.Kind == actKill && stop+outageKillMargin <= a.At && a.At <= start-outageKillMargin
			assert.Equal(t, inside, a.InOutage, "seed %d: %+v in the outage %s-%s", seed, a, stop, start)
			if inside {
				inOutage++
			}
		}
		assert.GreaterOrEqual(t, inOutage, 1, "seed %d", seed)
		// One kill is left for the acknowledgement.
		markAckKills(rand.New(rand.NewPCG(seed, 4)), acts, 1)
		marked := 0
		for _, a := range acts {
			if a.AtAck {
				marked++
				assert.False(t, a.InOutage)
			}
		}
		assert.Equal(t, 1, marked, "seed %d", seed)
	}
}

func TestPlanScheduleWithoutOutageKills(t *testing.T) {
	a, err := planSchedule(rand.New(rand.NewPCG(7, 1)), time.Minute, 3, 4*time.Second, 0, 0)
	require.NoError(t, err)
	b, err := planActions(rand.New(rand.NewPCG(7, 1)), time.Minute, 3, 4*time.Second)
	require.NoError(t, err)
	assert.Equal(t, b, a, "the first draw is taken")
}

func TestPlanScheduleErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	_, err := planSchedule(rng, 30*time.Second, 3, time.Second, 1, 0)
	assert.ErrorContains(t, err, "outage longer than 1s")
	_, err = planSchedule(rng, 30*time.Second, 2, 4*time.Second, 1, 2)
	assert.ErrorContains(t, err, "more than the 2 kills")
	// Kills 1.5 s apart cannot leave room for two inside a 2 s outage.
	_, err = planSchedule(rng, 30*time.Second, 3, 2*time.Second, 2, 0)
	assert.ErrorContains(t, err, "no schedule")
}
