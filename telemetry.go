package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.38.0"
	"go.uber.org/zap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// The attributes of the receiver's own metrics, as metadata.yaml declares
// them.
const (
	attrReason = "reason"
	// attrReceiver is the receiver's component id, under the name the
	// collector's own receiver metrics give it (receiverhelper's
	// otelcol_receiver_accepted_log_records{receiver="zendesk_audit_logs/acme"}).
	attrReceiver = "receiver"
	// attrSubdomain is the account, as the resource names it.
	attrSubdomain = "zendesk.subdomain"

	reasonRetryAfter   = "retry_after"   // Zendesk answered with a Retry-After
	reasonRemainingLow = "remaining_low" // Zendesk's headers said little of the budget remains
	reasonClientBudget = "client_budget" // the receiver's own max_requests_per_minute
)

// instanceAttributes name the receiver instance and, where known, its
// account on every metric the receiver records: the collector adds no
// component label to what a component records through its
// TelemetryBuilder, so without them two receivers would write the same
// series and no alert could say which account stopped.
func instanceAttributes(id component.ID, cfg *Config) attribute.Set {
	attrs := []attribute.KeyValue{attribute.String(attrReceiver, id.String())}
	// The account as the records' resource names it, whatever
	// resource_attributes switches off there.
	res := convert.Resource(metadata.DefaultResourceAttributesConfig(), cfg.baseURL())
	for _, key := range []string{attrSubdomain, string(semconv.ServerAddressKey)} {
		if v, ok := res.Attributes().Get(key); ok && v.Str() != "" {
			attrs = append(attrs, attribute.String(key, v.Str()))
		}
	}
	return attribute.NewSet(attrs...)
}

// clientHooks count the client's requests and rate-limit waits.
func (r *logsReceiver) clientHooks() zendesk.Hooks {
	ctx := context.Background()
	return zendesk.Hooks{
		OnRequest: func(op string, status int, err *zendesk.Error) {
			if op == zendesk.OpToken {
				// Not an audit log request: the metric counts those. A
				// failed token request fails the poll, which says so.
				r.logger.Debug("Asked Zendesk for an OAuth access token", zap.Int("status", status), zap.Bool("ok", err == nil))
				return
			}
			r.tb.ZendeskAuditLogsAPIRequests.Add(ctx, 1, r.instance, metric.WithAttributes(requestAttributes(status, err)...))
		},
		OnToken: func(lifetime time.Duration) {
			r.logger.Debug("Zendesk issued an OAuth access token", zap.Duration("lifetime", lifetime))
		},
		OnWait: func(reason zendesk.WaitReason, d time.Duration) {
			value, ok := waitReason(reason)
			if !ok {
				return
			}
			r.tb.ZendeskAuditLogsRateLimitWaits.Add(ctx, 1, r.instance, metric.WithAttributes(attribute.String(attrReason, value)))
			r.logger.Debug("Waiting for the Zendesk rate limit", zap.String("reason", value), zap.Duration("wait", d))
		},
	}
}

// requestAttributes follow the semantic conventions of an HTTP client's
// requests: the status code only when a response arrived, error.type only
// when the request failed.
func requestAttributes(status int, err *zendesk.Error) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 2)
	if status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	if err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(err.Type()))
	}
	return attrs
}

// waitReason is the reason attribute of a wait, false for a wait that is no
// rate limit (the backoff after a failure that named no wait).
func waitReason(reason zendesk.WaitReason) (string, bool) {
	switch reason {
	case zendesk.WaitRetryAfter:
		return reasonRetryAfter, true
	case zendesk.WaitRateLimitRemaining:
		return reasonRemainingLow, true
	case zendesk.WaitBudget:
		return reasonClientBudget, true
	}
	return "", false
}
