package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
)

// IdleResult is what the receiver asked of the API while caught up.
type IdleResult struct {
	Polls    int
	Requests int
}

// PerPoll is list requests per poll.
func (r IdleResult) PerPoll() float64 {
	if r.Polls == 0 {
		return 0
	}
	return float64(r.Requests) / float64(r.Polls)
}

// Sample is a reading of the simulator's list request counter.
type Sample struct {
	At           time.Time
	ListRequests int
}

// CountPolls splits the increases of the counter in samples into polls:
// increases less than gap apart belong to the same poll. It returns the
// polls and the requests in them.
func CountPolls(samples []Sample, gap time.Duration) IdleResult {
	var r IdleResult
	var last time.Time
	for i := 1; i < len(samples); i++ {
		d := samples[i].ListRequests - samples[i-1].ListRequests
		if d <= 0 {
			continue
		}
		if r.Polls == 0 || samples[i].At.Sub(last) >= gap {
			r.Polls++
		}
		r.Requests += d
		last = samples[i].At
	}
	return r
}

// Idle runs the receiver (poll_interval interval) against sim, which holds
// backlog records and no live arrivals; once it has delivered them it
// watches the simulator's list request counter over polls more polls.
func Idle(ctx context.Context, sim Sim, backlog, polls int, interval time.Duration) (IdleResult, error) {
	if interval < time.Second {
		interval = time.Second
	}
	counter := NewCounter(backlog)
	rcv, err := createReceiver(ctx, sim, ReceiverOptions{PollInterval: interval}, counter)
	if err != nil {
		return IdleResult{}, err
	}
	if err := rcv.Start(ctx, componenttest.NewNopHost()); err != nil {
		return IdleResult{}, err
	}
	res, watchErr := func() (IdleResult, error) {
		select {
		case <-counter.Done():
		case <-time.After(drainTimeout(backlog)):
			return IdleResult{}, fmt.Errorf("the receiver delivered %d of %d records in %s", counter.Count(), backlog, drainTimeout(backlog))
		case <-ctx.Done():
			return IdleResult{}, ctx.Err()
		}
		// The poll that delivered the last record may still ask once
		// more; it is not an idle poll.
		if err := sleepCtx(ctx, interval/4); err != nil {
			return IdleResult{}, err
		}
		return watchPolls(ctx, sim, polls, interval)
	}()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := errors.Join(watchErr, rcv.Shutdown(shutCtx)); err != nil {
		return res, err
	}
	if counter.Count() != backlog {
		return res, fmt.Errorf("the receiver delivered %d records, want %d: idle polls delivered records again", counter.Count(), backlog)
	}
	return res, nil
}

// watchPolls samples the list request counter every 20 ms until polls
// polls were seen and the last one is over, bounded by twice the time
// they should take.
func watchPolls(ctx context.Context, sim Sim, polls int, interval time.Duration) (IdleResult, error) {
	gap := interval / 3
	deadline := time.Now().Add(time.Duration(polls)*interval*2 + 5*time.Second)
	var samples []Sample
	for {
		st, err := sim.Stats(ctx)
		if err != nil {
			return IdleResult{}, err
		}
		now := time.Now()
		samples = append(samples, Sample{At: now, ListRequests: st.ListRequests})
		r := CountPolls(samples, gap)
		if r.Polls > polls {
			return IdleResult{}, fmt.Errorf("counted %d polls while waiting for %d to end", r.Polls, polls)
		}
		if r.Polls == polls && now.Sub(lastIncrease(samples)) >= gap {
			return r, nil
		}
		if now.After(deadline) {
			return r, fmt.Errorf("saw %d of %d polls in %s", r.Polls, polls, time.Duration(polls)*interval*2+5*time.Second)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return r, err
		}
	}
}

func lastIncrease(samples []Sample) time.Time {
	for i := len(samples) - 1; i > 0; i-- {
		if samples[i].ListRequests > samples[i-1].ListRequests {
			return samples[i].At
		}
	}
	return time.Time{}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
