package zendeskauditlogsreceiver // import "github.com/zendesk-audit-otel/zendeskauditlogsreceiver"

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// Config is the configuration of the zendesk_audit_logs receiver.
type Config struct {
	// ClientConfig holds the HTTP client settings: endpoint, timeout, tls,
	// proxy_url, headers, auth (an authenticator extension), ...
	confighttp.ClientConfig `mapstructure:",squash"`

	// Subdomain of the Zendesk account: acme means https://acme.zendesk.com.
	// Give it or endpoint, not both.
	Subdomain string `mapstructure:"subdomain"`

	// OAuth authenticates as an OAuth client with the client credentials
	// grant: the receiver asks Zendesk for access tokens and renews them.
	OAuth configoptional.Optional[OAuthConfig] `mapstructure:"oauth"`
	// Email and APIToken authenticate with an API token (retired by
	// Zendesk: none works after 2027-04-30).
	Email    string              `mapstructure:"email"`
	APIToken configopaque.String `mapstructure:"api_token"`
	// OAuthToken authenticates with an OAuth access token (scope read or
	// auditlogs:read), as long as that token lives.
	OAuthToken configopaque.String `mapstructure:"oauth_token"`

	// PollInterval is the time between polls once the backlog is drained.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// SettleDelay: only records older than this are read, since Zendesk
	// may index a record a little after its created_at.
	SettleDelay time.Duration `mapstructure:"settle_delay"`
	// InitialLookback is where reading starts when there is no checkpoint.
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// StartTime is an absolute start (RFC 3339) for when there is no
	// checkpoint; it wins over InitialLookback.
	StartTime time.Time `mapstructure:"start_time"`
	// PageSize is the records asked for per request, 1..100.
	PageSize int `mapstructure:"page_size"`
	// MaxRequestsPerMinute is a client-side budget: the account's limit is
	// shared with every other integration. 0 means no budget.
	MaxRequestsPerMinute int `mapstructure:"max_requests_per_minute"`
	// MaxConcurrentRequests bounds the requests in flight while a backlog
	// is read in time slices. Fewer are used when the budget needs fewer.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`

	// Filter is passed to the API.
	Filter FilterConfig `mapstructure:"filter"`

	// StorageID names a storage extension (e.g. file_storage) that keeps
	// the checkpoint across restarts. Without one, a restart re-reads from
	// the configured start.
	StorageID *component.ID `mapstructure:"storage"`

	// BackOffConfig governs retries of a page the next consumer refused
	// with a retryable error.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// ResourceAttributes switches each resource attribute on or off
	// (metadata.yaml declares them; all are on by default).
	ResourceAttributes metadata.ResourceAttributesConfig `mapstructure:"resource_attributes"`

	// Detections sets each record's severity and flags the audit events a
	// security team must see with the security_rule.* attributes.
	Detections DetectionsConfig `mapstructure:"detections"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// OAuthConfig is a confidential OAuth client allowed the client
// credentials grant (Admin Center > Apps and integrations > APIs > OAuth
// clients).
type OAuthConfig struct {
	// ClientID is the client's identifier (its "Identifier" field, not its
	// name).
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// Scope is asked for with each token, space-separated.
	Scope string `mapstructure:"scope"`
	// TokenURL defaults to the account's base URL followed by
	// /oauth/tokens.
	TokenURL string `mapstructure:"token_url"`
	// ExpiresIn asks Zendesk for tokens of this lifetime, in seconds (above
	// 300 and below 172800); 0 leaves it to Zendesk.
	ExpiresIn int `mapstructure:"expires_in"`
	// RefreshToken switches to the refresh_token grant, for a client that
	// holds an authorization-code token pair: Zendesk rotates it at each
	// renewal, and the receiver keeps the current one in its storage.
	RefreshToken configopaque.String `mapstructure:"refresh_token"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FilterConfig narrows what is read. Every key is optional.
type FilterConfig struct {
	Action     string `mapstructure:"action"`
	SourceType string `mapstructure:"source_type"`
	// SourceID requires SourceType.
	SourceID  int64  `mapstructure:"source_id"`
	ActorID   int64  `mapstructure:"actor_id"`
	IPAddress string `mapstructure:"ip_address"`
}

// DetectionsConfig turns the detection rules (internal/detect) on and off.
type DetectionsConfig struct {
	// Enabled applies the rules; false leaves every record at INFO with no
	// security_rule attributes.
	Enabled bool `mapstructure:"enabled"`
	// DisabledRules names rules not to apply.
	DisabledRules []string `mapstructure:"disabled_rules"`
}

// detector is the rules the configuration enables, nil when detections are
// off. Validate has checked the rule names.
func (d DetectionsConfig) detector() (*detect.Detector, error) {
	if !d.Enabled {
		return nil, nil
	}
	return detect.New(d.DisabledRules)
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration; each error names its key.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case cfg.Subdomain == "" && cfg.Endpoint == "":
		add("one of `subdomain` or `endpoint` is required")
	case cfg.Subdomain != "" && cfg.Endpoint != "":
		add("`subdomain` and `endpoint` are exclusive: give one")
	case cfg.Subdomain != "":
		if _, err := zendesk.SubdomainURL(cfg.Subdomain); err != nil {
			add("`subdomain` %w", err)
		}
	default:
		if _, err := zendesk.EndpointURL(cfg.Endpoint); err != nil {
			add("`endpoint` %w", err)
		}
	}

	if o := cfg.OAuth.Get(); o != nil {
		if o.ClientID == "" {
			add("`oauth.client_id` is required: the OAuth client's identifier")
		}
		if o.ClientSecret == "" {
			add("`oauth.client_secret` is required (e.g. ${env:ZENDESK_OAUTH_CLIENT_SECRET})")
		}
		if strings.TrimSpace(o.Scope) == "" {
			add("`oauth.scope` must not be empty (auditlogs:read reads the audit log)")
		}
		if o.TokenURL != "" {
			if err := zendesk.CheckTokenURL(o.TokenURL); err != nil {
				add("`oauth.token_url` %w", err)
			}
		}
		if o.RefreshToken != "" && cfg.StorageID == nil {
			add("`oauth.refresh_token` needs `storage`: Zendesk invalidates a refresh token once used, and the one it rotates to must survive a restart")
		}
		if o.ExpiresIn != 0 && (o.ExpiresIn <= zendesk.MinExpiresIn || o.ExpiresIn >= zendesk.MaxExpiresIn) {
			add("`oauth.expires_in` must be above %d and below %d seconds (or 0 to leave it to Zendesk), got %d",
				zendesk.MinExpiresIn, zendesk.MaxExpiresIn, o.ExpiresIn)
		}
	}
	if cfg.Email != "" || cfg.APIToken != "" {
		if cfg.Email == "" {
			add("`api_token` needs `email`, the address of the token's user")
		}
		if cfg.APIToken == "" {
			add("`email` needs `api_token`")
		}
	}
	switch kinds := cfg.credentialKinds(); {
	case len(kinds) == 0:
		add("credentials are required: an OAuth client in `oauth` (client_id, client_secret), or `oauth_token`, or `email` with `api_token` (retired by Zendesk), or an authenticator extension in `auth`")
	case len(kinds) > 1:
		add("give exactly one kind of credentials, not %s: `oauth`, or `oauth_token`, or `email` with `api_token`, or `auth`", strings.Join(kinds, " and "))
	}

	if cfg.PollInterval < time.Second {
		add("`poll_interval` must be at least 1s, got %s", cfg.PollInterval)
	}
	if cfg.SettleDelay < 0 {
		add("`settle_delay` must not be negative, got %s", cfg.SettleDelay)
	}
	if cfg.InitialLookback <= 0 {
		add("`initial_lookback` must be positive, got %s", cfg.InitialLookback)
	}
	if cfg.StartTime.After(time.Now()) {
		add("`start_time` %s is in the future", cfg.StartTime.Format(time.RFC3339))
	}
	if cfg.PageSize < 1 || cfg.PageSize > zendesk.MaxPageSize {
		add("`page_size` must be between 1 and %d, got %d", zendesk.MaxPageSize, cfg.PageSize)
	}
	if cfg.MaxRequestsPerMinute < 0 {
		add("`max_requests_per_minute` must not be negative (0 means no client-side budget), got %d", cfg.MaxRequestsPerMinute)
	}
	if cfg.MaxConcurrentRequests < 1 || cfg.MaxConcurrentRequests > maxConcurrentRequests {
		add("`max_concurrent_requests` must be between 1 and %d, got %d", maxConcurrentRequests, cfg.MaxConcurrentRequests)
	}
	if cfg.Filter.SourceID != 0 && cfg.Filter.SourceType == "" {
		add("`filter.source_id` requires `filter.source_type`")
	}
	if cfg.Filter.IPAddress != "" && net.ParseIP(cfg.Filter.IPAddress) == nil {
		add("`filter.ip_address` %q is not an IP address", cfg.Filter.IPAddress)
	}
	// Checked even with detections off: the name is wrong either way.
	if _, err := detect.New(cfg.Detections.DisabledRules); err != nil {
		add("`detections.disabled_rules`: %w", err)
	}
	return errors.Join(errs...)
}

// credentialKinds names the kinds of credentials the configuration gives.
func (cfg *Config) credentialKinds() []string {
	var kinds []string
	if cfg.OAuth.HasValue() {
		kinds = append(kinds, "`oauth`")
	}
	if cfg.OAuthToken != "" {
		kinds = append(kinds, "`oauth_token`")
	}
	if cfg.Email != "" || cfg.APIToken != "" {
		kinds = append(kinds, "`email`/`api_token`")
	}
	if cfg.Auth.HasValue() {
		kinds = append(kinds, "`auth`")
	}
	return kinds
}

// credentials are the client's credentials; Validate has checked them.
func (cfg *Config) credentials() zendesk.Credentials {
	if o := cfg.OAuth.Get(); o != nil {
		return zendesk.Credentials{Client: &zendesk.ClientCredentials{
			TokenURL:     o.TokenURL,
			ClientID:     o.ClientID,
			ClientSecret: string(o.ClientSecret),
			Scope:        strings.TrimSpace(o.Scope),
			ExpiresIn:    o.ExpiresIn,
			RefreshToken: string(o.RefreshToken),
		}}
	}
	return zendesk.Credentials{
		Email:      cfg.Email,
		APIToken:   string(cfg.APIToken),
		OAuthToken: string(cfg.OAuthToken),
	}
}

// baseURL is the account's base URL. Validate has checked it with the same
// functions, so their errors cannot occur here.
func (cfg *Config) baseURL() string {
	if cfg.Subdomain != "" {
		u, _ := zendesk.SubdomainURL(cfg.Subdomain)
		return u
	}
	u, _ := zendesk.EndpointURL(cfg.Endpoint)
	return u
}

// startTime is where reading starts without a checkpoint.
func (cfg *Config) startTime(now time.Time) time.Time {
	if !cfg.StartTime.IsZero() {
		return cfg.StartTime
	}
	return now.Add(-cfg.InitialLookback)
}

func (f FilterConfig) apiFilter() zendesk.Filter {
	return zendesk.Filter{
		SourceType: f.SourceType,
		SourceID:   f.SourceID,
		ActorID:    f.ActorID,
		IPAddress:  f.IPAddress,
		Action:     f.Action,
	}
}
