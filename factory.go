package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
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
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogsReceiver, metadata.LogsStability),
	)
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

func createLogsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newLogsReceiver(cfg.(*Config), set, next)
}
