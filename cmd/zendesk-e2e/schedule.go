package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

type actionKind int

const (
	actKill      actionKind = iota // SIGKILL the collector under test, then start it again
	actSinkStop                    // stop the sink (SIGTERM)
	actSinkStart                   // start the sink again (same port, same file)
)

func (k actionKind) String() string {
	switch k {
	case actKill:
		return "kill"
	case actSinkStop:
		return "sink-stop"
	case actSinkStart:
		return "sink-start"
	}
	return fmt.Sprintf("action(%d)", int(k))
}

// action is one step of the fault schedule, at an offset from the start
// of the live phase.
type action struct {
	At   time.Duration
	Kind actionKind
	// RestartDelay: for a kill, how long the collector stays down.
	RestartDelay time.Duration
	// AtAck: for a kill, it waits for the moment after the sink accepted
	// an export and before the collector heard of it.
	AtAck bool
	// InOutage: for a kill, it lands while the sink is down.
	InOutage bool
}

// markAckKills makes n of the kills of acts, drawn from rng, kills at the
// acknowledgement. Only kills clear of the sink's outages qualify (from
// ackOutageMargin before a sink-stop to the sink-start): with the sink
// down no export is accepted, and the wait for one would hold up the
// sink-start. Fewer than n are marked if fewer qualify.
func markAckKills(rng *rand.Rand, acts []action, n int) {
	var down [][2]time.Duration
	for i, a := range acts {
		if a.Kind != actSinkStop {
			continue
		}
		end := time.Duration(1<<63 - 1)
		for _, b := range acts[i+1:] {
			if b.Kind == actSinkStart {
				end = b.At
				break
			}
		}
		down = append(down, [2]time.Duration{a.At - ackOutageMargin, end})
	}
	var kills []int
	for i, a := range acts {
		if a.Kind == actKill && !slices.ContainsFunc(down, func(d [2]time.Duration) bool { return d[0] <= a.At && a.At <= d[1] }) {
			kills = append(kills, i)
		}
	}
	rng.Shuffle(len(kills), func(i, j int) { kills[i], kills[j] = kills[j], kills[i] })
	for _, i := range kills[:min(n, len(kills))] {
		acts[i].AtAck = true
	}
}

// ackOutageMargin keeps kills at the acknowledgement this far ahead of a
// sink outage: time for an export to reach the sink first.
const ackOutageMargin = 2 * time.Second

// minKillGap keeps kills apart, so each start of the collector gets going.
const minKillGap = 1500 * time.Millisecond

// planActions draws the fault schedule of the live phase from rng: kills
// SIGKILLs at random moments at least minKillGap apart, and one sink
// outage of sinkDown (if > 0) at a random moment. Everything happens in
// [1s, duration-1s]. Sorted by time; a sink-stop always precedes its
// sink-start.
func planActions(rng *rand.Rand, duration time.Duration, kills int, sinkDown time.Duration) ([]action, error) {
	lo, hi := time.Second, duration-time.Second
	if kills > 0 {
		span := hi - lo
		if need := time.Duration(kills-1) * minKillGap; need > span {
			return nil, fmt.Errorf("%d kills do not fit in a %s live phase (they are %s apart at least)", kills, duration, minKillGap)
		}
	}
	if sinkDown > 0 && sinkDown > hi-lo {
		return nil, fmt.Errorf("a sink outage of %s does not fit in a %s live phase", sinkDown, duration)
	}
	var acts []action
	if kills > 0 {
		// Draw kills-1 gaps of minKillGap plus random slack: uniform
		// points in the remaining room, sorted (stars and bars).
		room := hi - lo - time.Duration(kills-1)*minKillGap
		pts := make([]time.Duration, kills)
		for i := range pts {
			pts[i] = time.Duration(rng.Int64N(int64(room) + 1))
		}
		slices.Sort(pts)
		for i, p := range pts {
			acts = append(acts, action{
				At:           lo + p + time.Duration(i)*minKillGap,
				Kind:         actKill,
				RestartDelay: time.Duration(rng.Int64N(int64(500*time.Millisecond) + 1)),
			})
		}
	}
	if sinkDown > 0 {
		start := lo + time.Duration(rng.Int64N(int64(hi-lo-sinkDown)+1))
		acts = append(acts,
			action{At: start, Kind: actSinkStop},
			action{At: start + sinkDown, Kind: actSinkStart})
	}
	slices.SortStableFunc(acts, func(a, b action) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return acts, nil
}

// outageKillMargin keeps a kill during the sink's outage this far from
// the outage's ends.
const outageKillMargin = 500 * time.Millisecond

// maxScheduleDraws bounds the draws of planSchedule.
const maxScheduleDraws = 10_000

// planSchedule draws schedules with planActions until at least
// outageKills of the kills land while the sink is down (outageKillMargin
// inside the outage), when the pipeline holds the most the sink has not
// accepted, and at least ackKills other kills are clear of the outage for
// markAckKills. Those kills are marked InOutage.
func planSchedule(rng *rand.Rand, duration time.Duration, kills int, sinkDown time.Duration, outageKills, ackKills int) ([]action, error) {
	if outageKills > 0 && sinkDown <= 2*outageKillMargin {
		return nil, fmt.Errorf("a kill during the sink outage needs an outage longer than %s, got %s", 2*outageKillMargin, sinkDown)
	}
	if outageKills+ackKills > kills {
		return nil, fmt.Errorf("%d kills during the sink outage and %d at the acknowledgement are more than the %d kills", outageKills, ackKills, kills)
	}
	for range maxScheduleDraws {
		acts, err := planActions(rng, duration, kills, sinkDown)
		if err != nil {
			return nil, err
		}
		stop, start := outage(acts)
		var inOutage []int
		clear := 0
		for i, a := range acts {
			switch {
			case a.Kind != actKill:
			case stop+outageKillMargin <= a.At && a.At <= start-outageKillMargin:
				inOutage = append(inOutage, i)
			case a.At < stop-ackOutageMargin || a.At > start:
				clear++
			}
		}
		if len(inOutage) >= outageKills && clear >= ackKills {
			for _, i := range inOutage {
				acts[i].InOutage = true
			}
			return acts, nil
		}
	}
	return nil, fmt.Errorf("no schedule of %d kills in %s with %d of them during a sink outage of %s found in %d draws",
		kills, duration, outageKills, sinkDown, maxScheduleDraws)
}

// outage is when the sink is stopped and started again in acts.
func outage(acts []action) (stop, start time.Duration) {
	for _, a := range acts {
		switch a.Kind {
		case actSinkStop:
			stop = a.At
		case actSinkStart:
			start = a.At
		}
	}
	return stop, start
}
