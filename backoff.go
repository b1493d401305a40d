package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
)

// backoff yields the waits between retries of one page, as
// configretry.BackOffConfig describes them: exponential from
// initial_interval by multiplier up to max_interval, each randomized by
// randomization_factor, until max_elapsed_time (0: no end).
type backoff struct {
	cfg      configretry.BackOffConfig
	now      func() time.Time
	start    time.Time
	interval time.Duration
}

func newBackoff(cfg configretry.BackOffConfig, now func() time.Time) *backoff {
	return &backoff{cfg: cfg, now: now, start: now(), interval: cfg.InitialInterval}
}

// next returns the wait before the next retry, or false when retrying is
// disabled or max_elapsed_time has passed.
func (b *backoff) next() (time.Duration, bool) {
	if !b.cfg.Enabled {
		return 0, false
	}
	if b.cfg.MaxElapsedTime > 0 && b.now().Sub(b.start) >= b.cfg.MaxElapsedTime {
		return 0, false
	}
	iv := b.interval
	delta := b.cfg.RandomizationFactor * float64(iv)
	wait := time.Duration(float64(iv) - delta + rand.Float64()*(2*delta))
	grown := time.Duration(float64(iv) * b.cfg.Multiplier)
	if b.cfg.MaxInterval > 0 && grown > b.cfg.MaxInterval {
		grown = b.cfg.MaxInterval
	}
	if grown > 0 {
		b.interval = grown
	}
	return max(wait, 0), true
}
