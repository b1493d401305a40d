package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

const (
	defaultPollInterval         = time.Minute
	defaultSettleDelay          = time.Minute
	defaultInitialLookback      = 24 * time.Hour
	defaultPageSize             = 100
	defaultMaxRequestsPerMinute = 100
	// defaultMaxConcurrentRequests covers 700 requests a minute at 300 ms
	// an answer (3.5 in flight), with room for slower answers.
	defaultMaxConcurrentRequests = 8
	// maxConcurrentRequests is the most Validate accepts.
	maxConcurrentRequests = 64
	defaultTimeout        = 30 * time.Second
)

// NewFactory returns the factory of the zendesk_audit_logs receiver.
// Every receiver it creates reads ahead from the factory's one pool of
// pages (see readahead.go): a collector holds one factory per component
// type, so the pool bounds the collector's read-ahead.
func NewFactory() receiver.Factory {
	return newFactory(newReadAheadPool(defaultReadAheadPages))
}

func newFactory(pool *readAheadPool) receiver.Factory {
	var created atomic.Int64 // receivers this factory made
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(func(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
			r, err := newLogsReceiver(cfg.(*Config), set, next, pool)
			if err != nil {
				return nil, err
			}
			r.firstPoll = firstPollDelay(created.Add(1)-1, r.cfg.PollInterval)
			return r, nil
		}, metadata.LogsStability),
	)
}

// goldenFraction is the fractional part of the golden ratio: the k-th
// multiple of it, modulo 1, spreads any number of points evenly over
// [0, 1), each new one in the largest gap left.
const goldenFraction = 0.6180339887498949

// firstPollDelay is how long the k-th receiver of a factory (from 0)
// waits before its first poll: the first polls at once, the others at
// points spread evenly over one poll interval. Every later poll follows
// its own poll by poll_interval, so many receivers of one collector (one
// per account) do not all ask in the same second of every interval.
func firstPollDelay(k int64, interval time.Duration) time.Duration {
	_, frac := math.Modf(float64(k) * goldenFraction)
	return time.Duration(frac * float64(interval))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	return &Config{
		ClientConfig:          client,
		OAuth:                 configoptional.Default(OAuthConfig{Scope: zendesk.DefaultScope}),
		PollInterval:          defaultPollInterval,
		SettleDelay:           defaultSettleDelay,
		InitialLookback:       defaultInitialLookback,
		PageSize:              defaultPageSize,
		MaxRequestsPerMinute:  defaultMaxRequestsPerMinute,
		MaxConcurrentRequests: defaultMaxConcurrentRequests,
		BackOffConfig:         configretry.NewDefaultBackOffConfig(),
		ResourceAttributes:    metadata.DefaultResourceAttributesConfig(),
		Detections:            DetectionsConfig{Enabled: true},
	}
}
