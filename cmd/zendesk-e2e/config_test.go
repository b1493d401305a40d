package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	zendeskreceiver "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"
)

func testCollectorParams() collectorParams {
	return collectorParams{
		StorageDir:           "/tmp/e2e work/storage",
		SimURL:               "http://127.0.0.1:41234",
		Email:                emailVariant(e2eEmail, 3),
		APIToken:             `tok"en`,
		OAuthClientID:        "e2e-collector-7",
		OAuthClientSecret:    `sec"ret`,
		RequestTimeout:       10 * time.Second,
		SettleDelay:          5 * time.Second,
		InitialLookback:      5 * time.Hour,
		MaxRequestsPerMinute: 600,
		SinkURL:              "http://127.0.0.1:4318",
		QueueConsumers:       2,
		BatchMinSize:         700,
		BatchFlushTimeout:    1500 * time.Millisecond,
	}
}

// variantByName is one of the variants.
func variantByName(t *testing.T, name string) variant {
	t.Helper()
	vs, err := parseVariants(name)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	return vs[0]
}

// renderTemplate renders one of the repository's templates in e2e/ and
// parses the result as the collector would.
func renderTemplate(t *testing.T, name string, data any) *confmap.Conf {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "e2e", name))
	require.NoError(t, err)
	out, err := renderConfig(name, string(text), data)
	require.NoError(t, err)
	ret, err := confmap.NewRetrievedFromYAML(out)
	require.NoError(t, err, "rendered YAML:\n%s", out)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	return conf
}

// assertReceiverSection checks that the receiver's section of conf is a
// valid config of the receiver itself, with p's values.
func assertReceiverSection(t *testing.T, conf *confmap.Conf, p collectorParams) {
	t.Helper()
	f := zendeskreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*zendeskreceiver.Config)
	sub, err := conf.Sub("receivers::zendesk_audit_logs")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, p.SimURL, cfg.Endpoint)
	if oauth := cfg.OAuth.Get(); p.OAuth {
		require.NotNil(t, oauth, "the OAuth client")
		assert.Equal(t, p.OAuthClientID, oauth.ClientID)
		assert.Equal(t, p.OAuthClientSecret, string(oauth.ClientSecret))
		assert.Empty(t, cfg.Email)
		assert.Empty(t, string(cfg.APIToken))
	} else {
		assert.Equal(t, p.Email, cfg.Email)
		assert.Equal(t, p.APIToken, string(cfg.APIToken))
	}
	assert.Equal(t, time.Second, cfg.PollInterval)
	assert.Equal(t, p.SettleDelay, cfg.SettleDelay)
	assert.Equal(t, p.InitialLookback, cfg.InitialLookback)
	assert.Equal(t, pageSize, cfg.PageSize)
	assert.Equal(t, p.MaxRequestsPerMinute, cfg.MaxRequestsPerMinute)
	if p.MaxConcurrentRequests > 0 {
		assert.Equal(t, p.MaxConcurrentRequests, cfg.MaxConcurrentRequests)
	}
	assert.Equal(t, p.RequestTimeout, cfg.Timeout)
	require.NotNil(t, cfg.StorageID)
	assert.Equal(t, "file_storage", cfg.StorageID.String())
	assert.True(t, cfg.BackOffConfig.Enabled)
	assert.Equal(t, 100*time.Millisecond, cfg.BackOffConfig.InitialInterval)
	assert.Equal(t, time.Second, cfg.BackOffConfig.MaxInterval)
	assert.Zero(t, cfg.BackOffConfig.MaxElapsedTime)
}

func TestCollectorTemplate(t *testing.T) {
	p := testCollectorParams()
	conf := renderTemplate(t, variantByName(t, "sync").Template, p)
	assertReceiverSection(t, conf, p)

	want := map[string]any{
		"extensions::file_storage::directory":                      p.StorageDir,
		"extensions::file_storage::create_directory":               true,
		"exporters::otlp_http::endpoint":                           p.SinkURL,
		"exporters::otlp_http::sending_queue::enabled":             false,
		"exporters::otlp_http::retry_on_failure::enabled":          true,
		"exporters::otlp_http::retry_on_failure::initial_interval": "100ms",
		"exporters::otlp_http::retry_on_failure::max_interval":     "1s",
		"exporters::otlp_http::retry_on_failure::max_elapsed_time": "0s",
		"service::telemetry::metrics::level":                       "none",
		"service::extensions":                                      []any{"file_storage"},
		"service::pipelines::logs::receivers":                      []any{"zendesk_audit_logs"},
		"service::pipelines::logs::exporters":                      []any{"otlp_http"},
	}
	for k, v := range want {
		assert.Equal(t, v, conf.Get(k), k)
	}
	// Nothing may acknowledge data before the sink has it.
	assert.Nil(t, conf.Get("service::pipelines::logs::processors"))
}

// Variant serial is sync with one time slice read at a time; sync keeps
// the receiver's default.
func TestCollectorSerialTemplate(t *testing.T) {
	serial := variantByName(t, "serial")
	p := testCollectorParams()
	p.MaxConcurrentRequests = serial.MaxConcurrentRequests
	require.Equal(t, 1, p.MaxConcurrentRequests)
	assertReceiverSection(t, renderTemplate(t, serial.Template, p), p)

	p.MaxConcurrentRequests = variantByName(t, "sync").MaxConcurrentRequests
	conf := renderTemplate(t, variantByName(t, "sync").Template, p)
	assert.Nil(t, conf.Get("receivers::zendesk_audit_logs::max_concurrent_requests"), "sync: the default")
}

// Variant queue is the README's configuration, OAuth client included;
// variant store renders the same template with the API token.
func TestCollectorQueueTemplate(t *testing.T) {
	p := testCollectorParams()
	p.OAuth = variantByName(t, "queue").OAuth
	require.True(t, p.OAuth)
	conf := renderTemplate(t, variantByName(t, "queue").Template, p)
	assertReceiverSection(t, conf, p)
	store := p
	store.OAuth = variantByName(t, "store").OAuth
	require.False(t, store.OAuth)
	assertReceiverSection(t, renderTemplate(t, variantByName(t, "store").Template, store), store)

	want := map[string]any{
		"extensions::file_storage::directory":                       p.StorageDir,
		"extensions::file_storage::create_directory":                true,
		"extensions::file_storage::fsync":                           true,
		"extensions::file_storage::compaction::on_rebound":          true,
		"extensions::file_storage::compaction::directory":           p.StorageDir,
		"exporters::otlp_http::endpoint":                            p.SinkURL,
		"exporters::otlp_http::sending_queue::storage":              "file_storage",
		"exporters::otlp_http::sending_queue::num_consumers":        p.QueueConsumers,
		"exporters::otlp_http::sending_queue::batch::min_size":      p.BatchMinSize,
		"exporters::otlp_http::sending_queue::batch::flush_timeout": "1.5s",
		"exporters::otlp_http::retry_on_failure::enabled":           true,
		"exporters::otlp_http::retry_on_failure::max_elapsed_time":  "0s",
		"processors::memory_limiter::limit_mib":                     256,
		"service::telemetry::metrics::level":                        "none",
		"service::extensions":                                       []any{"file_storage"},
		"service::pipelines::logs::receivers":                       []any{"zendesk_audit_logs"},
		"service::pipelines::logs::processors":                      []any{"memory_limiter"},
		"service::pipelines::logs::exporters":                       []any{"otlp_http"},
	}
	for k, v := range want {
		assert.Equal(t, v, conf.Get(k), k)
	}
	// The queue is the one that batches: a batch processor would hold
	// pages in memory after the receiver moved its checkpoint. The queue
	// is never switched off, and no max_size splits a page across
	// batches (the duplicate bound counts whole pages).
	assert.Nil(t, conf.Get("processors::batch"))
	assert.Nil(t, conf.Get("exporters::otlp_http::sending_queue::enabled"))
	assert.Nil(t, conf.Get("exporters::otlp_http::sending_queue::batch::max_size"))
}

func TestSinkTemplate(t *testing.T) {
	conf := renderTemplate(t, sinkTemplate, sinkParams{Endpoint: "127.0.0.1:4318", File: "/tmp/x y/logs.jsonl"})
	want := map[string]any{
		"receivers::otlp::protocols::http::endpoint": "127.0.0.1:4318",
		"exporters::file::path":                      "/tmp/x y/logs.jsonl",
		"exporters::file::append":                    true,
		"exporters::file::format":                    "json",
		"service::telemetry::metrics::level":         "none",
		"service::pipelines::logs::receivers":        []any{"otlp"},
		"service::pipelines::logs::exporters":        []any{"file"},
	}
	for k, v := range want {
		assert.Equal(t, v, conf.Get(k), k)
	}
}

func TestRenderConfigErrors(t *testing.T) {
	_, err := renderConfig("t", "a: {{.Nope}}", sinkParams{})
	assert.ErrorContains(t, err, "Nope")
	_, err = renderConfig("t", "a: {{", sinkParams{})
	assert.ErrorContains(t, err, "parsing template")
	err = renderConfigFile(t.TempDir(), "absent.tmpl", sinkParams{}, filepath.Join(t.TempDir(), "out"))
	assert.ErrorContains(t, err, "--config-dir")
}

func TestQuoting(t *testing.T) {
	out, err := renderConfig("t", "a: {{q .File}}\nb: {{d .D}}\n", struct {
		File string
		D    time.Duration
	}{`we"ird: #path`, 90 * time.Minute})
	require.NoError(t, err)
	ret, err := confmap.NewRetrievedFromYAML(out)
	require.NoError(t, err)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	assert.Equal(t, `we"ird: #path`, conf.Get("a"))
	assert.Equal(t, "1h30m0s", conf.Get("b"))
}

func TestEmailVariant(t *testing.T) {
	assert.Equal(t, e2eEmail, emailVariant(e2eEmail, 0))
	assert.Equal(t, "E2e-audit@example.com", emailVariant(e2eEmail, 1))
	assert.Equal(t, "e2E-audit@example.com", emailVariant(e2eEmail, 2))
	seen := map[string]bool{}
	for n := range 200 {
		v := emailVariant(e2eEmail, n)
		assert.True(t, strings.EqualFold(v, e2eEmail), v)
		assert.False(t, seen[v], "variant %d repeats %q", n, v)
		seen[v] = true
	}
	assert.Equal(t, 1<<17, emailVariants(e2eEmail))
	assert.Equal(t, 1, emailVariants("1@2"))
}

// The memory variant is the setup the README warns against: the batch
// processor and the exporter's default (in-memory) queue.
func TestCollectorMemoryTemplate(t *testing.T) {
	p := testCollectorParams()
	conf := renderTemplate(t, variantByName(t, "memory").Template, p)
	assertReceiverSection(t, conf, p)
	assert.Equal(t, []any{"memory_limiter", "batch"}, conf.Get("service::pipelines::logs::processors"))
	assert.Equal(t, "1.5s", conf.Get("processors::batch::timeout"))
	assert.Equal(t, p.SinkURL, conf.Get("exporters::otlp_http::endpoint"))
	assert.Nil(t, conf.Get("exporters::otlp_http::sending_queue"), "the default queue, in memory")
}
