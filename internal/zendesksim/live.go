package zendesksim

import (
	"context"
	"time"
)

// liveConfig is the configuration of live arrivals.
type liveConfig struct {
	rate         float64 // records per second
	lateFraction float64
	maxLate      time.Duration
}

type liveLoop struct {
	cancel context.CancelFunc
	cfg    liveConfig // guarded by Server.mu
}

// liveTick is the pacing period of live arrivals (wall clock).
const liveTick = 20 * time.Millisecond

// StartLive starts a goroutine that adds records at perSecond (paced by the
// wall clock) until ctx is done or StopLive is called, and returns
// immediately. Records are dated Now(); a lateFraction of them are dated
// Now() minus a random 1s..maxLate instead (indexed late). A previous live
// loop is stopped first. After ctx is done (or StopLive), Wait blocks until
// the goroutine has exited. perSecond <= 0 just stops live arrivals.
func (s *Server) StartLive(ctx context.Context, perSecond float64, lateFraction float64, maxLate time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startLiveLocked(ctx, liveConfig{rate: perSecond, lateFraction: lateFraction, maxLate: maxLate})
}

func (s *Server) startLiveLocked(ctx context.Context, cfg liveConfig) {
	if s.live != nil {
		s.live.cancel()
		s.live = nil
	}
	if cfg.rate <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	loop := &liveLoop{cancel: cancel, cfg: cfg}
	s.live = loop
	s.liveRunning++
	go s.runLive(ctx, loop)
}

// StopLive stops live arrivals and waits for the goroutine to exit.
func (s *Server) StopLive() {
	s.mu.Lock()
	if s.live != nil {
		s.live.cancel()
		s.live = nil
	}
	s.mu.Unlock()
	s.Wait()
}

// Wait blocks until no live goroutine runs (call it after cancelling the
// context given to StartLive).
func (s *Server) Wait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.liveRunning > 0 {
		s.liveCond.Wait()
	}
}

// setLiveRate changes the running loop's configuration, or starts a loop
// bound to context.Background if none runs. rate <= 0 stops it.
func (s *Server) setLiveRate(rate float64, lateFraction *float64, maxLate *time.Duration) liveConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := liveConfig{lateFraction: 0.1, maxLate: 5 * time.Second}
	if s.live != nil {
		cfg = s.live.cfg
	}
	cfg.rate = rate
	if lateFraction != nil {
		cfg.lateFraction = *lateFraction
	}
	if maxLate != nil {
		cfg.maxLate = *maxLate
	}
	switch {
	case rate <= 0 && s.live != nil:
		s.live.cancel()
		s.live = nil
	case s.live != nil:
		s.live.cfg = cfg
	default:
		s.startLiveLocked(context.Background(), cfg)
	}
	return cfg
}

func (s *Server) runLive(ctx context.Context, loop *liveLoop) {
	defer func() {
		s.mu.Lock()
		s.liveRunning--
		s.liveCond.Broadcast()
		s.mu.Unlock()
	}()
	ticker := time.NewTicker(liveTick)
	defer ticker.Stop()
	last := time.Now()
	acc := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			// The time read now, not the tick's: a tick's time can lag
			// behind an earlier reading under load, and a negative step
			// would make a negative count of records.
			t := time.Now()
			dt := max(t.Sub(last), 0)
			last = t
			s.mu.Lock()
			if ctx.Err() != nil {
				s.mu.Unlock()
				return
			}
			cfg := loop.cfg
			// Cap the catch-up after a stall to one second's worth.
			acc = min(acc+cfg.rate*dt.Seconds(), max(cfg.rate, 1))
			n := int(acc)
			acc -= float64(n)
			s.addLiveLocked(n, cfg)
			s.mu.Unlock()
		}
	}
}

func (s *Server) addLiveLocked(n int, cfg liveConfig) {
	if n <= 0 {
		return
	}
	now := s.now()
	recs := make([]Record, n)
	for i := range recs {
		at := now
		if s.dataRNG.Float64() < cfg.lateFraction {
			late := time.Second
			if cfg.maxLate > time.Second {
				late += time.Duration(s.dataRNG.Int64N(int64(cfg.maxLate - time.Second + 1)))
			}
			at = now.Add(-late)
		}
		r := s.randomRecordLocked(at)
		r.ID = s.allocIDLocked()
		recs[i] = r
	}
	s.addLocked(recs)
}
