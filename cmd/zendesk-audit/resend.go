package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// resender sends audit logs again, as the receiver would have: the
// receiver's conversion (internal/convert: resource, scope, attributes,
// log.record.uid, detections) into the collector's own otlp_http exporter
// (protobuf, gzip, its retries), synchronously: no queue, each call
// returns once the store accepted the records or the retries ran out.
type resender struct {
	exp      exporter.Logs
	settings convert.Settings
	now      func() time.Time
	// exporterLog keeps the exporter's warnings, among them its OTLP
	// partial successes (see rejected).
	exporterLog *observer.ObservedLogs
}

// rejected takes the exporter's warnings since the last call and returns
// the records its endpoint rejected in requests it accepted (an OTLP
// partial success), with the endpoint's last reason. The exporter returns
// no error for them: it only logs them, with the field
// dropped_log_records.
func (r *resender) rejected() (n int64, message string) {
	for _, e := range r.exporterLog.TakeAll() {
		fields := e.ContextMap()
		if d, ok := fields["dropped_log_records"].(int64); ok && d > 0 {
			n += d
			if m, _ := fields["message"].(string); m != "" {
				message = m
			}
		}
	}
	return n, message
}

// headerFlags collect --header K=V, in order.
type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ",") }

func (h *headerFlags) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("--header wants NAME=VALUE, got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// resendOptions configure a resender.
type resendOptions struct {
	endpoint      string // the otlp_http exporter's endpoint: /v1/logs is added
	headers       []string
	baseURL       string // the Zendesk account's, for the resource
	scopeVersion  string
	disabledRules []string
	maxElapsed    time.Duration // retries of one batch, in all
}

func newResender(ctx context.Context, o resendOptions, now func() time.Time) (*resender, error) {
	u, err := url.Parse(o.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--resend %q is not an http(s) URL: give the otlp_http exporter's endpoint (http://HOST:PORT/insert/opentelemetry for VictoriaLogs)", o.endpoint)
	}
	detector, err := detect.New(o.disabledRules)
	if err != nil {
		return nil, fmt.Errorf("--disabled-rules: %w", err)
	}
	factory := otlphttpexporter.NewFactory()
	cfg := factory.CreateDefaultConfig().(*otlphttpexporter.Config)
	cfg.ClientConfig.Endpoint = o.endpoint
	for _, h := range o.headers {
		k, v, _ := strings.Cut(h, "=")
		cfg.ClientConfig.Headers = append(cfg.ClientConfig.Headers, configopaque.Pair{Name: strings.TrimSpace(k), Value: configopaque.String(v)})
	}
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.MaxElapsedTime = o.maxElapsed
	if cfg.RetryConfig.MaxInterval > o.maxElapsed {
		cfg.RetryConfig.MaxInterval = o.maxElapsed
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("--resend: %w", err)
	}
	core, exporterLog := observer.New(zapcore.WarnLevel)
	set := exporter.Settings{
		ID:                component.NewIDWithName(factory.Type(), "reconcile"),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	set.Logger = zap.New(core)
	exp, err := factory.CreateLogs(ctx, set, cfg)
	if err != nil {
		return nil, fmt.Errorf("--resend: %w", err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		return nil, fmt.Errorf("--resend: %w", err)
	}
	return &resender{
		exp: exp,
		settings: convert.Settings{
			Resource:     convert.Resource(metadata.DefaultResourceAttributesConfig(), o.baseURL),
			ScopeName:    metadata.ScopeName,
			ScopeVersion: o.scopeVersion,
			Detector:     detector,
		},
		now:         now,
		exporterLog: exporterLog,
	}, nil
}

// send converts records and sends them; it returns how many of them the
// store accepted, and an error unless that is all of them.
func (r *resender) send(ctx context.Context, records []zendesk.AuditLog) (int, error) {
	if len(records) == 0 {
		return 0, nil
	}
	var ld plog.Logs = convert.Logs(records, r.settings, r.now())
	r.rejected() // forget what earlier calls left
	if err := r.exp.ConsumeLogs(ctx, ld); err != nil {
		return 0, fmt.Errorf("re-sending %d records: %w", len(records), err)
	}
	if n, msg := r.rejected(); n > 0 {
		if msg == "" {
			msg = "an OTLP partial success, with no message"
		}
		n = min(n, int64(len(records)))
		return len(records) - int(n), fmt.Errorf("re-sending: the endpoint rejected %d of %d records: %s", n, len(records), msg)
	}
	return len(records), nil
}

func (r *resender) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.exp.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
