package zendeskauditlogsreceiver

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, confmap.Validate(cfg))

	want := createDefaultConfig().(*Config)
	want.Subdomain = "acme"
	want.Email = "admin@acme.com"
	want.APIToken = "not-a-real-token"
	assert.Equal(t, want, cfg)
	assert.Equal(t, time.Minute, cfg.PollInterval)
	assert.Equal(t, time.Minute, cfg.SettleDelay)
	assert.Equal(t, 24*time.Hour, cfg.InitialLookback)
	assert.Equal(t, 100, cfg.PageSize)
	assert.Equal(t, 100, cfg.MaxRequestsPerMinute)
	assert.Equal(t, 8, cfg.MaxConcurrentRequests)
	assert.Equal(t, 30*time.Second, cfg.Timeout)
	assert.True(t, cfg.BackOffConfig.Enabled)
	assert.True(t, cfg.ResourceAttributes.ServerAddress.Enabled)
	assert.True(t, cfg.ResourceAttributes.ZendeskSubdomain.Enabled)
	assert.Equal(t, "https://acme.zendesk.com", cfg.baseURL())
	assert.Equal(t, DetectionsConfig{Enabled: true}, cfg.Detections, "every rule is on by default")
}

func TestLoadConfigFull(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, confmap.Validate(cfg))

	storageID := component.MustNewID("file_storage")
	want := createDefaultConfig().(*Config)
	want.Endpoint = "https://acme.zendesk.com"
	want.Timeout = 45 * time.Second
	want.OAuthToken = "not-a-real-oauth-token"
	want.PollInterval = 2 * time.Minute
	want.SettleDelay = 90 * time.Second
	want.InitialLookback = 72 * time.Hour
	want.StartTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want.PageSize = 50
	want.MaxRequestsPerMinute = 60
	want.MaxConcurrentRequests = 3
	want.Filter = FilterConfig{Action: "update", SourceType: "user", SourceID: 123, ActorID: 456, IPAddress: "209.119.38.228"}
	want.StorageID = &storageID
	want.BackOffConfig.InitialInterval = 2 * time.Second
	want.BackOffConfig.MaxInterval = time.Minute
	want.BackOffConfig.MaxElapsedTime = 0
	assert.False(t, cfg.ResourceAttributes.ServerAddress.Enabled, "switched off")
	assert.True(t, cfg.ResourceAttributes.ZendeskSubdomain.Enabled, "on by default")
	want.ResourceAttributes = cfg.ResourceAttributes // also records which switches the user set
	want.Detections = DetectionsConfig{Enabled: true, DisabledRules: []string{"user_unsuspended", "mobile_app_access_enabled"}}
	assert.Equal(t, want, cfg)
	subdomain, _ := newResource(cfg).Attributes().Get("zendesk.subdomain")
	assert.Equal(t, "acme", subdomain.Str(), "the subdomain is known from a zendesk.com endpoint")
	assert.Equal(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), cfg.startTime(time.Now()), "start_time wins over initial_lookback")
}

func TestLoadConfigDetectionsOff(t *testing.T) {
	cfg := loadConfig(t, "detections_off")
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, DetectionsConfig{Enabled: false}, cfg.Detections)
	d, err := cfg.Detections.detector()
	require.NoError(t, err)
	assert.Nil(t, d, "no detector: every record stays at INFO")
}

func TestLoadConfigUnknownRuleFailsNamingIt(t *testing.T) {
	cfg := loadConfig(t, "unknown_rule")
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "`detections.disabled_rules`: unknown rule \"two_factor_disable\"")
	assert.Contains(t, err.Error(), "two_factor_disabled", "the message lists the rules")
}

func TestConfigValidationNamesTheKey(t *testing.T) {
	valid := func() *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Subdomain = "acme"
		cfg.Email = "admin@acme.com"
		cfg.APIToken = "tok"
		return cfg
	}
	require.NoError(t, valid().Validate())

	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"neither subdomain nor endpoint", func(c *Config) { c.Subdomain = "" }, "one of `subdomain` or `endpoint` is required"},
		{"both subdomain and endpoint", func(c *Config) { c.Endpoint = "https://acme.zendesk.com" }, "`subdomain` and `endpoint` are exclusive"},
		{"bad subdomain", func(c *Config) { c.Subdomain = "acme.zendesk.com" }, "`subdomain` \"acme.zendesk.com\" is not a Zendesk subdomain"},
		{"http to a remote host", func(c *Config) { c.Subdomain = ""; c.Endpoint = "http://acme.zendesk.com" }, "`endpoint` \"http://acme.zendesk.com\" uses http"},
		{"endpoint with a path", func(c *Config) { c.Subdomain = ""; c.Endpoint = "https://acme.zendesk.com/api/v2" }, "`endpoint` must be the account's base URL"},
		{"endpoint with user info", func(c *Config) { c.Subdomain = ""; c.Endpoint = "https://me:pw@acme.zendesk.com" }, "`endpoint` must not hold credentials"},
		{"endpoint not a URL", func(c *Config) { c.Subdomain = ""; c.Endpoint = "acme" }, "`endpoint` \"acme\" is not a URL"},
		{"no credentials", func(c *Config) { c.Email = ""; c.APIToken = "" }, "credentials are required"},
		{"two kinds of credentials", func(c *Config) { c.OAuthToken = "oauth" }, "give exactly one kind of credentials"},
		{"auth extension and token", func(c *Config) {
			c.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")})
		}, "give exactly one kind of credentials"},
		{"token without email", func(c *Config) { c.Email = "" }, "`api_token` needs `email`"},
		{"email without token", func(c *Config) { c.APIToken = "" }, "`email` needs `api_token`"},
		{"poll interval too short", func(c *Config) { c.PollInterval = 500 * time.Millisecond }, "`poll_interval` must be at least 1s"},
		{"negative settle delay", func(c *Config) { c.SettleDelay = -time.Second }, "`settle_delay` must not be negative"},
		{"zero lookback", func(c *Config) { c.InitialLookback = 0 }, "`initial_lookback` must be positive"},
		{"start time in the future", func(c *Config) { c.StartTime = time.Now().Add(time.Hour) }, "`start_time` "},
		{"page size zero", func(c *Config) { c.PageSize = 0 }, "`page_size` must be between 1 and 100, got 0"},
		{"page size over 100", func(c *Config) { c.PageSize = 101 }, "`page_size` must be between 1 and 100, got 101"},
		{"negative budget", func(c *Config) { c.MaxRequestsPerMinute = -1 }, "`max_requests_per_minute` must not be negative"},
		{"no request at all", func(c *Config) { c.MaxConcurrentRequests = 0 }, "`max_concurrent_requests` must be between 1 and 64"},
		{"a flood", func(c *Config) { c.MaxConcurrentRequests = 65 }, "`max_concurrent_requests` must be between 1 and 64"},
		{"source id without type", func(c *Config) { c.Filter.SourceID = 123 }, "`filter.source_id` requires `filter.source_type`"},
		{"bad ip filter", func(c *Config) { c.Filter.IPAddress = "not-an-ip" }, "`filter.ip_address` \"not-an-ip\" is not an IP address"},
		{"unknown rule", func(c *Config) { c.Detections.DisabledRules = []string{"admin_assigned"} }, "`detections.disabled_rules`: unknown rule \"admin_assigned\""},
		{"unknown rule with detections off", func(c *Config) {
			c.Detections = DetectionsConfig{Enabled: false, DisabledRules: []string{"nope"}}
		}, "unknown rule \"nope\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mutate(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "tok\"", "no secret in the message")
		})
	}
}

func TestConfigAcceptsLoopbackHTTPAndAuthenticator(t *testing.T) {
	for _, endpoint := range []string{"http://127.0.0.1:8089", "http://localhost:8089", "http://[::1]:8089", "https://support.example.com"} {
		cfg := createDefaultConfig().(*Config)
		cfg.Endpoint = endpoint
		cfg.OAuthToken = "oauth"
		assert.NoError(t, cfg.Validate(), endpoint)
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Subdomain = "acme"
	cfg.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("oauth2client")})
	assert.NoError(t, cfg.Validate(), "an authenticator extension is a kind of credentials")
}

func TestStartTimeThatIsNotRFC3339FailsOnTheKey(t *testing.T) {
	cm := confmap.NewFromStringMap(map[string]any{"subdomain": "acme", "oauth_token": "x", "start_time": "yesterday"})
	cfg := createDefaultConfig()
	err := cm.Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start_time")
}

func TestSecretsNeverRenderInTheConfig(t *testing.T) {
	cfg := loadConfig(t, "full")
	cfg.APIToken = "api-token-value"
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	rendered := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, rendered, "not-a-real-oauth-token")
	assert.NotContains(t, rendered, "api-token-value")
	assert.Contains(t, rendered, "[REDACTED]")
}

func TestUnknownResourceAttributeFailsOnTheKey(t *testing.T) {
	cm := confmap.NewFromStringMap(map[string]any{
		"subdomain": "acme", "oauth_token": "x",
		"resource_attributes": map[string]any{"server.adress": map[string]any{"enabled": false}},
	})
	err := cm.Unmarshal(createDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "server.adress")
}

func TestResourceFollowsTheConfigAndItsSwitches(t *testing.T) {
	off := metadata.ResourceAttributeConfig{Enabled: false}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want map[string]any
	}{
		"subdomain": {
			edit: func(c *Config) { c.Subdomain = "acme" },
			want: map[string]any{"zendesk.subdomain": "acme", "server.address": "acme.zendesk.com"},
		},
		"zendesk.com endpoint": {
			edit: func(c *Config) { c.Endpoint = "https://acme.zendesk.com" },
			want: map[string]any{"zendesk.subdomain": "acme", "server.address": "acme.zendesk.com"},
		},
		"endpoint that names no account": {
			edit: func(c *Config) { c.Endpoint = "http://127.0.0.1:8089" },
			want: map[string]any{"server.address": "127.0.0.1"},
		},
		"server.address switched off": {
			edit: func(c *Config) { c.Subdomain = "acme"; c.ResourceAttributes.ServerAddress = off },
			want: map[string]any{"zendesk.subdomain": "acme"},
		},
		"both switched off": {
			edit: func(c *Config) {
				c.Subdomain = "acme"
				c.ResourceAttributes.ServerAddress, c.ResourceAttributes.ZendeskSubdomain = off, off
			},
			want: map[string]any{},
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tc.edit(cfg)
			assert.Equal(t, tc.want, newResource(cfg).Attributes().AsRaw())
		})
	}
}
