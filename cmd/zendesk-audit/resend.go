package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
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
	// rejected is what the endpoint refused of requests it accepted.
	rejected *partialSuccess
}

// partialSuccess collects the OTLP partial successes of the exporter's
// requests: the endpoint accepted a request and rejected some of its
// records. The exporter returns no error for them, and says so only in its
// log, at warn level, with the field dropped_log_records.
type partialSuccess struct {
	mu       sync.Mutex
	rejected int64
	message  string
}

// take returns what was collected since the last call, and forgets it.
func (p *partialSuccess) take() (int64, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, msg := p.rejected, p.message
	p.rejected, p.message = 0, ""
	return n, msg
}

// partialSuccessCore is the exporter's logger: it keeps the partial
// successes and drops everything else.
type partialSuccessCore struct {
	zapcore.LevelEnabler
	fields []zapcore.Field
	seen   *partialSuccess
}

func (c *partialSuccessCore) With(fields []zapcore.Field) zapcore.Core {
	return &partialSuccessCore{LevelEnabler: c.LevelEnabler, fields: append(slices.Clone(c.fields), fields...), seen: c.seen}
}

func (c *partialSuccessCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *partialSuccessCore) Write(_ zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(slices.Clone(c.fields), fields...) {
		f.AddTo(enc)
	}
	n, ok := enc.Fields["dropped_log_records"].(int64)
	if !ok || n <= 0 {
		return nil
	}
	msg, _ := enc.Fields["message"].(string)
	c.seen.mu.Lock()
	c.seen.rejected += n
	if msg != "" {
		c.seen.message = msg
	}
	c.seen.mu.Unlock()
	return nil
}

func (c *partialSuccessCore) Sync() error { return nil }

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
	rejected := &partialSuccess{}
	set := exporter.Settings{
		ID:                component.NewIDWithName(factory.Type(), "reconcile"),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	set.Logger = zap.New(&partialSuccessCore{LevelEnabler: zapcore.WarnLevel, seen: rejected})
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
		now:      now,
		rejected: rejected,
	}, nil
}

// send converts records and sends them; it returns how many of them the
// store accepted, and an error unless that is all of them.
func (r *resender) send(ctx context.Context, records []zendesk.AuditLog) (int, error) {
	if len(records) == 0 {
		return 0, nil
	}
	var ld plog.Logs = convert.Logs(records, r.settings, r.now())
	r.rejected.take()
	if err := r.exp.ConsumeLogs(ctx, ld); err != nil {
		return 0, fmt.Errorf("re-sending %d records: %w", len(records), err)
	}
	if n, msg := r.rejected.take(); n > 0 {
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
