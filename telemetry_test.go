package zendeskauditlogsreceiver

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadatatest"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// withTelemetry makes the receiver of e report to a test meter provider.
func withTelemetry(t *testing.T, e *env) *componenttest.Telemetry {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	logger := e.set.Logger
	e.set = metadatatest.NewSettings(tel)
	e.set.Logger = logger
	return tel
}

// metricAttrs is the attribute set of a metric the receiver of e records:
// its instance attributes, and attrs.
func (e *env) metricAttrs(attrs ...attribute.KeyValue) attribute.Set {
	instance := instanceAttributes(e.set.ID, e.cfg)
	return attribute.NewSet(append(instance.ToSlice(), attrs...)...)
}

// Every metric names the receiver instance under the label the collector's
// own receiver metrics use, and its account where the configuration names
// one.
func TestInstanceAttributesNameTheReceiverAndItsAccount(t *testing.T) {
	id := component.MustNewIDWithName("zendesk_audit_logs", "acme")
	for name, tc := range map[string]struct {
		subdomain, endpoint string
		want                []attribute.KeyValue
	}{
		"subdomain": {subdomain: "acme", want: []attribute.KeyValue{
			attribute.String("receiver", "zendesk_audit_logs/acme"),
			attribute.String("zendesk.subdomain", "acme"),
			attribute.String("server.address", "acme.zendesk.com"),
		}},
		"endpoint of an account": {endpoint: "https://acme.zendesk.com", want: []attribute.KeyValue{
			attribute.String("receiver", "zendesk_audit_logs/acme"),
			attribute.String("zendesk.subdomain", "acme"),
			attribute.String("server.address", "acme.zendesk.com"),
		}},
		"endpoint that names no account": {endpoint: "http://127.0.0.1:8089", want: []attribute.KeyValue{
			attribute.String("receiver", "zendesk_audit_logs/acme"),
			attribute.String("server.address", "127.0.0.1"),
		}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Subdomain, cfg.Endpoint = tc.subdomain, tc.endpoint
			assert.Equal(t, attribute.NewSet(tc.want...), instanceAttributes(id, cfg))
		})
	}
}

func TestRequestsThatGotNoResponseHaveAnErrorTypeAndNoStatusCode(t *testing.T) {
	e := newEnv(t)
	closed := httptest.NewServer(nil)
	closed.Close()
	e.cfg.Endpoint = closed.URL
	tel := withTelemetry(t, e)
	r := e.start(t, new(consumertest.LogsSink), componenttest.NewNopHost())
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool {
		_, err := tel.GetMetric("otelcol_zendesk_audit_logs_api_requests")
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)

	// Before shutdown: a request that shutdown cancels would be "canceled".
	metadatatest.AssertEqualZendeskAuditLogsAPIRequests(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: e.metricAttrs(attribute.String("error.type", "network")),
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
}

func TestFailedResponsesHaveTheirStatusCodeAsErrorType(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	e.sim.SetFaults(zendesksim.Faults{P500: 1})
	tel := withTelemetry(t, e)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[500] > 0 }, 10*time.Second, 10*time.Millisecond)
	e.sim.SetFaults(zendesksim.Faults{})
	requireExactly(t, simIDs(e.sim), sink)
	require.NoError(t, r.Shutdown(context.Background()))

	stats := e.sim.Stats()
	metadatatest.AssertEqualZendeskAuditLogsAPIRequests(t, tel, []metricdata.DataPoint[int64]{
		{
			Attributes: e.metricAttrs(attribute.Int("http.response.status_code", 500), attribute.String("error.type", "500")),
			Value:      int64(stats.ByStatus[500]),
		},
		{
			Attributes: e.metricAttrs(attribute.Int("http.response.status_code", 200)),
			Value:      int64(stats.ByStatus[200]),
		},
	}, metricdatatest.IgnoreTimestamp())
}

func TestRateLimitWaitsSayWhy(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 250, time.Hour, time.Minute)
	e.sim.SetFaults(zendesksim.Faults{P429: 1, RetryAfter: time.Second})
	e.cfg.PageSize = 50
	e.cfg.MaxRequestsPerMinute = 1200 // one request every 50ms
	tel := withTelemetry(t, e)
	sink := new(consumertest.LogsSink)
	r := e.start(t, sink, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return e.sim.Stats().ByStatus[429] > 0 }, 10*time.Second, 10*time.Millisecond)
	e.sim.SetFaults(zendesksim.Faults{})
	requireExactly(t, simIDs(e.sim), sink)
	require.NoError(t, r.Shutdown(context.Background()))

	metadatatest.AssertEqualZendeskAuditLogsRateLimitWaits(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: e.metricAttrs(attribute.String("reason", "retry_after"))},
		{Attributes: e.metricAttrs(attribute.String("reason", "client_budget"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	assert.Zero(t, e.sim.Stats().RetryAfterViolations)
}

func TestWaitReasons(t *testing.T) {
	for reason, want := range map[zendesk.WaitReason]string{
		zendesk.WaitRetryAfter:         "retry_after",
		zendesk.WaitRateLimitRemaining: "remaining_low",
		zendesk.WaitBudget:             "client_budget",
	} {
		got, ok := waitReason(reason)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	_, ok := waitReason(zendesk.WaitBackoff)
	assert.False(t, ok, "the backoff after a failure that named no wait is no rate limit")
}

// The checkpoint lag is measured when the metrics are read: while a
// consumer blocks (an exporter whose backend is down, retried for ever)
// the poll goroutine records nothing, and the lag must still grow, or an
// alert on it would never fire for an audit trail that stopped.
func TestCheckpointLagGrowsWhileTheConsumerBlocks(t *testing.T) {
	e := newEnv(t)
	e.backlog(t, 50, time.Hour, time.Minute)
	tel := withTelemetry(t, e)
	// The consumer blocks until released, then refuses (retryably), as an
	// exporter whose backend is down.
	release := make(chan struct{})
	var calls atomic.Int64
	blocked, err := consumer.NewLogs(func(ctx context.Context, _ plog.Logs) error {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("backend down")
	})
	require.NoError(t, err)
	r := e.start(t, blocked, componenttest.NewNopHost())
	defer func() {
		close(release) // no wait for shutdownGrace
		require.NoError(t, r.Shutdown(context.Background()))
	}()

	lag := func() float64 {
		m, err := tel.GetMetric("otelcol_zendesk_audit_logs_checkpoint_lag")
		if err != nil {
			return -1
		}
		g := m.Data.(metricdata.Gauge[float64])
		require.Len(t, g.DataPoints, 1)
		assert.Equal(t, e.metricAttrs(), g.DataPoints[0].Attributes)
		return g.DataPoints[0].Value
	}
	require.Eventually(t, func() bool { return e.sim.Stats().ListRequests > 0 }, 10*time.Second, 10*time.Millisecond)
	first := lag()
	require.GreaterOrEqual(t, first, float64(3*time.Hour/time.Second)-5, "the position is the configured start, initial_lookback ago")
	require.Eventually(t, func() bool { return lag() >= first+1 }, 10*time.Second, 50*time.Millisecond,
		"the lag grows while the consumer blocks")
	assert.EqualValues(t, 1, calls.Load(), "one ConsumeLogs call, blocked")
}
