package zendeskauditlogsreceiver

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

func TestLoadConfigOAuthClientWithDefaults(t *testing.T) {
	cfg := loadConfig(t, "oauth")
	require.NoError(t, confmap.Validate(cfg))
	o := cfg.OAuth.Get()
	require.NotNil(t, o, "the oauth section is given")
	assert.Equal(t, "zendesk-audit-collector", o.ClientID)
	assert.Equal(t, "not-a-real-client-secret", string(o.ClientSecret))
	assert.Equal(t, "auditlogs:read", o.Scope, "the default scope")
	assert.Empty(t, o.TokenURL, "the account's /oauth/tokens")
	assert.Zero(t, o.ExpiresIn, "left to Zendesk")

	creds := cfg.credentials()
	require.NotNil(t, creds.Client)
	assert.Equal(t, zendesk.ClientCredentials{ClientID: "zendesk-audit-collector", ClientSecret: "not-a-real-client-secret", Scope: "auditlogs:read"}, *creds.Client)
	assert.Empty(t, creds.Email+creds.APIToken+creds.OAuthToken)

	full := loadConfig(t, "oauth_full")
	require.NoError(t, confmap.Validate(full))
	o = full.OAuth.Get()
	assert.Equal(t, "read", o.Scope)
	assert.Equal(t, "https://acme.zendesk.com/oauth/tokens", o.TokenURL)
	assert.Equal(t, 3600, o.ExpiresIn)

	assert.False(t, loadConfig(t, "").OAuth.HasValue(), "no oauth section: no OAuth client")
}

func TestOAuthClientSecretNeverRendersInTheConfig(t *testing.T) {
	cfg := loadConfig(t, "oauth")
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	rendered := fmt.Sprint(conf.ToStringMap())
	assert.NotContains(t, rendered, "not-a-real-client-secret")
	assert.Contains(t, rendered, "[REDACTED]")
}

func TestOAuthValidationSaysWhatIsMissingOrMixedUp(t *testing.T) {
	valid := func() *Config {
		cfg := createDefaultConfig().(*Config)
		cfg.Subdomain = "acme"
		cfg.OAuth = configoptional.Some(OAuthConfig{ClientID: "id", ClientSecret: "s3cret", Scope: "auditlogs:read"})
		return cfg
	}
	require.NoError(t, valid().Validate())
	oauth := func(edit func(*OAuthConfig)) func(*Config) {
		return func(c *Config) { edit(c.OAuth.Get()) }
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no client id", oauth(func(o *OAuthConfig) { o.ClientID = "" }), "`oauth.client_id` is required"},
		{"no secret", oauth(func(o *OAuthConfig) { o.ClientSecret = "" }), "`oauth.client_secret` is required"},
		{"empty scope", oauth(func(o *OAuthConfig) { o.Scope = " " }), "`oauth.scope` must not be empty"},
		{"expires_in 300", oauth(func(o *OAuthConfig) { o.ExpiresIn = 300 }), "`oauth.expires_in` must be above 300 and below 172800"},
		{"expires_in 172800", oauth(func(o *OAuthConfig) { o.ExpiresIn = 172800 }), "`oauth.expires_in` must be above 300 and below 172800"},
		{"token_url over http", oauth(func(o *OAuthConfig) { o.TokenURL = "http://acme.zendesk.com/oauth/tokens" }), "`oauth.token_url` \"http://acme.zendesk.com/oauth/tokens\" uses http"},
		{"token_url with credentials", oauth(func(o *OAuthConfig) { o.TokenURL = "https://u:p@acme.zendesk.com/oauth/tokens" }), "`oauth.token_url` must hold no credentials"},
		{"oauth and api token", func(c *Config) { c.Email, c.APIToken = "a@b.c", "tok" }, "give exactly one kind of credentials, not `oauth` and `email`/`api_token`"},
		{"oauth and oauth_token", func(c *Config) { c.OAuthToken = "tok" }, "not `oauth` and `oauth_token`"},
		{"oauth and auth", func(c *Config) {
			c.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("oauth2client")})
		}, "not `oauth` and `auth`"},
		{"refresh token without storage", oauth(func(o *OAuthConfig) { o.RefreshToken = "rt" }), "`oauth.refresh_token` needs `storage`"},
		{"none at all", func(c *Config) { c.OAuth = configoptional.None[OAuthConfig]() }, "credentials are required: an OAuth client in `oauth` (client_id, client_secret)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
	ok := valid()
	ok.OAuth.Get().ExpiresIn = 301
	ok.OAuth.Get().TokenURL = "http://127.0.0.1:8089/oauth/tokens"
	assert.NoError(t, ok.Validate(), "loopback http is allowed, as for endpoint")
	storageID := component.MustNewID("file_storage")
	ok.StorageID = &storageID
	ok.OAuth.Get().RefreshToken = "rt"
	assert.NoError(t, ok.Validate(), "a refresh token with storage")
	assert.Equal(t, "rt", ok.credentials().Client.RefreshToken)
}
