package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// Environment variables read for the connection; flags win over them.
const (
	envSubdomain  = "ZENDESK_SUBDOMAIN"
	envEndpoint   = "ZENDESK_ENDPOINT"
	envEmail      = "ZENDESK_EMAIL"
	envAPIToken   = "ZENDESK_API_TOKEN"
	envOAuthToken = "ZENDESK_OAUTH_TOKEN"
	// The OAuth client of the client credentials grant: the way Zendesk
	// wants background jobs to authenticate.
	envOAuthClientID     = "ZENDESK_OAUTH_CLIENT_ID"
	envOAuthClientSecret = "ZENDESK_OAUTH_CLIENT_SECRET"
)

const defaultRequestsPerMinute = 100

// maxExportWait is how long export waits for rate limits in all.
const maxExportWait = 2 * time.Minute

// connFlags are the connection and credential flags of the API commands.
type connFlags struct {
	subdomain         string
	endpoint          string
	email             string
	apiToken          string
	oauthToken        string
	clientID          string
	clientSecret      string
	scope             string
	requestsPerMinute int
}

func (f *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.subdomain, "subdomain", "", "account `subdomain`: acme for acme.zendesk.com [env "+envSubdomain+"]")
	fs.StringVar(&f.endpoint, "endpoint", "", "account base `URL` instead of a subdomain; https, or http to a loopback host [env "+envEndpoint+"]")
	fs.StringVar(&f.clientID, "oauth-client-id", "", "`identifier` of the OAuth client (client credentials grant) [env "+envOAuthClientID+"]")
	fs.StringVar(&f.clientSecret, "oauth-client-secret", "", "the OAuth client's `secret`; prefer the environment [env "+envOAuthClientSecret+"]")
	fs.StringVar(&f.scope, "oauth-scope", zendesk.DefaultScope, "`scope` asked for with the OAuth client's tokens")
	fs.StringVar(&f.email, "email", "", "`address` of the API token's user [env "+envEmail+"]")
	fs.StringVar(&f.apiToken, "api-token", "", "API `token`; prefer the environment [env "+envAPIToken+"]")
	fs.StringVar(&f.oauthToken, "oauth-token", "", "OAuth access `token`; prefer the environment [env "+envOAuthToken+"]")
	fs.IntVar(&f.requestsPerMinute, "max-requests-per-minute", defaultRequestsPerMinute, "client-side request budget: at most `N` requests per minute, 0 for none")
}

// The receiver's rules (config.go), repeated: it keeps them unexported.

// client resolves the connection from flags and environment and returns
// an API client that observes hooks. Warnings go to c.stderr. No error
// message holds a token.
func (c *cli) client(cmd string, fs *flag.FlagSet, f *connFlags, hooks zendesk.Hooks) (*zendesk.Client, error) {
	given := setFlags(fs)
	pick := func(flagName, flagValue, envName string) (string, bool) {
		if given[flagName] {
			return flagValue, true
		}
		return strings.TrimSpace(c.env(envName)), false
	}

	// Where: a flag beats both variables, so that --endpoint works in a
	// shell that exports ZENDESK_SUBDOMAIN.
	var subdomain, endpoint string
	switch {
	case given["subdomain"] && given["endpoint"]:
		return nil, usagef(cmd, "--subdomain and --endpoint are exclusive: give one")
	case given["subdomain"]:
		subdomain = f.subdomain
	case given["endpoint"]:
		endpoint = f.endpoint
	default:
		subdomain, endpoint = strings.TrimSpace(c.env(envSubdomain)), strings.TrimSpace(c.env(envEndpoint))
		if subdomain != "" && endpoint != "" {
			return nil, usagef(cmd, "%s and %s are both set: unset one, or give --subdomain or --endpoint", envSubdomain, envEndpoint)
		}
	}
	baseURL, err := baseURL(subdomain, endpoint)
	if err != nil {
		return nil, usagef(cmd, "%s", err)
	}

	// Who.
	creds, err := c.credentials(cmd, f, pick)
	if err != nil {
		return nil, err
	}
	if f.requestsPerMinute < 0 {
		return nil, usagef(cmd, "--max-requests-per-minute must not be negative (0 means no client-side budget), got %d", f.requestsPerMinute)
	}

	client, err := zendesk.New(zendesk.Options{
		BaseURL:           baseURL,
		Credentials:       creds,
		RequestsPerMinute: f.requestsPerMinute,
		RequestTimeout:    time.Minute,
		MaxExportWait:     maxExportWait,
		UserAgent:         "zendesk-audit-cli",
		Hooks:             hooks,
		Now:               c.now,
		Sleep:             c.sleep,
	})
	if err != nil {
		return nil, usagef(cmd, "%s", err)
	}
	return client, nil
}

// credentials picks one kind of credentials from flags and environment:
// an OAuth client (client credentials), an OAuth access token, or an API
// token with its email. A kind given by a flag beats the kinds of the
// environment; two kinds at the same level clash. A secret given as a flag
// gets a warning: it lands in the shell history and the process list.
func (c *cli) credentials(cmd string, f *connFlags, pick func(flagName, flagValue, envName string) (string, bool)) (zendesk.Credentials, error) {
	email, _ := pick("email", f.email, envEmail)
	apiToken, apiFromFlag := pick("api-token", f.apiToken, envAPIToken)
	oauthToken, oauthFromFlag := pick("oauth-token", f.oauthToken, envOAuthToken)
	clientID, idFromFlag := pick("oauth-client-id", f.clientID, envOAuthClientID)
	secret, secretFromFlag := pick("oauth-client-secret", f.clientSecret, envOAuthClientSecret)
	warn := func(what, flagName, env string) {
		fmt.Fprintf(c.stderr, "zendesk-audit: warning: a %s given with --%s lands in the shell history and the process list; set %s instead\n", what, flagName, env)
	}
	if apiFromFlag && f.apiToken != "" {
		warn("token", "api-token", envAPIToken)
	}
	if oauthFromFlag && f.oauthToken != "" {
		warn("token", "oauth-token", envOAuthToken)
	}
	if secretFromFlag && f.clientSecret != "" {
		warn("secret", "oauth-client-secret", envOAuthClientSecret)
	}

	type kind struct {
		name     string
		given    bool
		fromFlag bool
	}
	kinds := []kind{
		{"an OAuth client", clientID != "" || secret != "", (idFromFlag && f.clientID != "") || (secretFromFlag && f.clientSecret != "")},
		{"an OAuth token", oauthToken != "", oauthFromFlag && f.oauthToken != ""},
		{"an API token", apiToken != "", apiFromFlag && f.apiToken != ""},
	}
	anyFlag := false
	for _, k := range kinds {
		anyFlag = anyFlag || k.fromFlag
	}
	var chosen []string
	for _, k := range kinds {
		if k.given && (k.fromFlag || !anyFlag) {
			chosen = append(chosen, k.name)
		}
	}
	switch {
	case len(chosen) == 0:
		return zendesk.Credentials{}, usagef(cmd, "no credentials: set %s and %s (an OAuth client allowed the client credentials grant), "+
			"or %s, or %s and %s (API tokens are retired by Zendesk); or give the matching flags",
			envOAuthClientID, envOAuthClientSecret, envOAuthToken, envEmail, envAPIToken)
	case len(chosen) > 1:
		return zendesk.Credentials{}, usagef(cmd, "%s are both given: give one kind of credentials", strings.Join(chosen, " and "))
	}
	switch chosen[0] {
	case "an OAuth client":
		switch {
		case clientID == "":
			return zendesk.Credentials{}, usagef(cmd, "an OAuth client secret needs the client's identifier: set %s or give --oauth-client-id", envOAuthClientID)
		case secret == "":
			return zendesk.Credentials{}, usagef(cmd, "an OAuth client needs its secret: set %s", envOAuthClientSecret)
		}
		return zendesk.Credentials{Client: &zendesk.ClientCredentials{ClientID: clientID, ClientSecret: secret, Scope: strings.TrimSpace(f.scope)}}, nil
	case "an OAuth token":
		return zendesk.Credentials{OAuthToken: oauthToken}, nil
	}
	if email == "" {
		return zendesk.Credentials{}, usagef(cmd, "an API token needs the email of its user: set %s or give --email", envEmail)
	}
	return zendesk.Credentials{Email: email, APIToken: apiToken}, nil
}

// checkOAuthClient asks the token endpoint for an access token now, for
// zendesk-audit doctor: applies is false when the client does not use an
// OAuth client. A refusal (wrong identifier or secret, a scope the client
// may not ask for) is an *zendesk.Error whose Hint names the Admin Center
// setting; detail says what Zendesk granted.
func checkOAuthClient(ctx context.Context, client *zendesk.Client) (applies bool, detail string, err error) {
	if !client.HasClientCredentials() {
		return false, "", nil
	}
	left, err := client.CheckToken(ctx)
	if err != nil {
		return true, "", err
	}
	if left <= 0 {
		return true, "the token endpoint issued an access token (no expiry named)", nil
	}
	return true, fmt.Sprintf("the token endpoint issued an access token, renewed in %s", left.Round(time.Second)), nil
}

// baseURL applies the receiver's rules: a subdomain means
// https://NAME.zendesk.com; an endpoint is https, or http to a loopback host
// only, so that tokens never travel in clear text.
func baseURL(subdomain, endpoint string) (string, error) {
	switch {
	case subdomain == "" && endpoint == "":
		return "", fmt.Errorf("no account given: set %s (or %s), or give --subdomain (or --endpoint)", envSubdomain, envEndpoint)
	case subdomain != "":
		u, err := zendesk.SubdomainURL(subdomain)
		if err != nil {
			return "", fmt.Errorf("subdomain %w", err)
		}
		return u, nil
	}
	u, err := zendesk.EndpointURL(endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint %w", err)
	}
	return u, nil
}

// filterFlags are the filters of list and export.
type filterFlags struct {
	action     string
	sourceType string
	sourceID   int64
	actorID    int64
	ipAddress  string
	since      string
	until      string
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.action, "action", "", "only this `action`: create, update, destroy, login, exported, ...")
	fs.StringVar(&f.sourceType, "source-type", "", "only this source `type`: user, ticket, rule, apitoken, account_setting, ...")
	fs.Int64Var(&f.sourceID, "source-id", 0, "only this source `id` (needs --source-type)")
	fs.Int64Var(&f.actorID, "actor-id", 0, "only this actor `id`")
	fs.StringVar(&f.ipAddress, "ip-address", "", "only this `IP` address")
	fs.StringVar(&f.since, "since", "", "created at or after `T`: RFC 3339, or a duration back from now (90m, 24h, 7d)")
	fs.StringVar(&f.until, "until", "", "created at or before `T` (needs --since; default now)")
}

// filter builds the API filter; now resolves durations.
func (f *filterFlags) filter(cmd string, now time.Time) (zendesk.Filter, error) {
	flt := zendesk.Filter{
		Action:     f.action,
		SourceType: f.sourceType,
		SourceID:   f.sourceID,
		ActorID:    f.actorID,
		IPAddress:  f.ipAddress,
	}
	if f.sourceID != 0 && f.sourceType == "" {
		return flt, usagef(cmd, "--source-id needs --source-type (the API refuses a source id alone)")
	}
	if f.ipAddress != "" && net.ParseIP(f.ipAddress) == nil {
		return flt, usagef(cmd, "--ip-address %q is not an IP address", f.ipAddress)
	}
	switch {
	case f.since == "" && f.until != "":
		return flt, usagef(cmd, "--until needs --since: the API filters created_at on a range with both ends")
	case f.since != "":
		start, err := parseTimeArg(f.since, now)
		if err != nil {
			return flt, usagef(cmd, "--since: %s", err)
		}
		end := now
		if f.until != "" {
			if end, err = parseTimeArg(f.until, now); err != nil {
				return flt, usagef(cmd, "--until: %s", err)
			}
		}
		if end.Before(start) {
			return flt, usagef(cmd, "--until %s is before --since %s", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
		}
		flt.CreatedAtStart, flt.CreatedAtEnd = start, end
	}
	if err := flt.Validate(); err != nil {
		return flt, usagef(cmd, "%s", err)
	}
	return flt, nil
}
