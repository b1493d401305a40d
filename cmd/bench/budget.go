package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
)

// BudgetResult is a run of the receiver under max_requests_per_minute
// against a backlog larger than the budget allows it to read.
type BudgetResult struct {
	RequestsPerMinute int
	Elapsed           time.Duration
	Records           int
	// ListRequests is what the simulator counted over the run.
	ListRequests int
	// PeakInFlight is the most requests the simulator answered at once
	// since it started (a simulator per run).
	PeakInFlight int
}

// Allowed is the number of requests the budget allows over Elapsed: the
// rate times the time, plus the burst of one the client starts with.
func (r BudgetResult) Allowed() float64 {
	return float64(r.RequestsPerMinute)*r.Elapsed.Seconds()/60 + 1
}

// Utilization is records delivered ÷ (requests allowed × 100 records per
// page): 1 means every request the budget allowed was made and brought a
// full page.
func (r BudgetResult) Utilization() float64 {
	return float64(r.Records) / (r.Allowed() * 100)
}

// BudgetDrain is the measure of a backfill: the receiver with
// max_requests_per_minute rpm (and opts' max_concurrent_requests) drains
// sim's whole backlog of n records; Elapsed runs until the last record was
// delivered, so what the receiver read but had not delivered yet does not
// count, and neither does anything after the backlog ran out.
func BudgetDrain(ctx context.Context, sim Sim, n, rpm int, opts ReceiverOptions) (BudgetResult, error) {
	opts.RequestsPerMinute = rpm
	if rpm <= 0 {
		return BudgetResult{}, errors.New("the budget needs a positive max_requests_per_minute")
	}
	st0, err := sim.Stats(ctx)
	if err != nil {
		return BudgetResult{}, err
	}
	// The budget's time for n records, plus room for a slow machine.
	timeout := 2*time.Minute + time.Duration(float64(n)/100/float64(rpm)*2*float64(time.Minute))
	dr, err := measureDrain(ctx, n, timeout, func(ctx context.Context, next consumer.Logs) (component.Component, error) {
		return createReceiver(ctx, sim, opts, next)
	})
	if err != nil {
		return BudgetResult{}, err
	}
	st1, err := sim.Stats(ctx)
	if err != nil {
		return BudgetResult{}, err
	}
	return BudgetResult{RequestsPerMinute: rpm, Elapsed: dr.Wall, Records: dr.Records,
		ListRequests: st1.ListRequests - st0.ListRequests, PeakInFlight: st1.PeakInFlight}, nil
}

// BudgetDrainBacklog is the backlog a budget of rpm reads in d.
func BudgetDrainBacklog(rpm int, d time.Duration) int {
	return int(float64(rpm) * d.Minutes() * 100)
}

// BudgetBacklog is a backlog that the receiver cannot drain in d at rpm
// requests per minute.
func BudgetBacklog(rpm int, d time.Duration) int {
	return int(float64(rpm)*d.Minutes()*100)*2 + 1000
}

// Budget runs the receiver with max_requests_per_minute rpm (and opts'
// max_concurrent_requests) for d against sim, which holds backlog records,
// more than the budget can read in d (see [BudgetBacklog]), and counts the
// records delivered.
func Budget(ctx context.Context, sim Sim, backlog, rpm int, d time.Duration, opts ReceiverOptions) (BudgetResult, error) {
	opts.RequestsPerMinute = rpm
	if rpm <= 0 {
		return BudgetResult{}, errors.New("the budget needs a positive max_requests_per_minute")
	}
	st0, err := sim.Stats(ctx)
	if err != nil {
		return BudgetResult{}, err
	}
	counter := NewCounter(int(^uint(0) >> 1))
	t0 := time.Now()
	rcv, err := createReceiver(ctx, sim, opts, counter)
	if err != nil {
		return BudgetResult{}, err
	}
	if err := rcv.Start(ctx, componenttest.NewNopHost()); err != nil {
		return BudgetResult{}, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	res := BudgetResult{RequestsPerMinute: rpm, Elapsed: time.Since(t0), Records: counter.Count()}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	shutErr := rcv.Shutdown(shutCtx)
	if err := errors.Join(ctx.Err(), shutErr); err != nil {
		return res, err
	}
	st1, err := sim.Stats(ctx)
	if err != nil {
		return res, err
	}
	res.ListRequests = st1.ListRequests - st0.ListRequests
	res.PeakInFlight = st1.PeakInFlight
	if res.Records >= backlog {
		return res, fmt.Errorf("the backlog of %d records ran out: the figure would be bounded by the backlog, not the budget", backlog)
	}
	return res, nil
}
