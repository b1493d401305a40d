package zendesk

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// SubdomainURL checks a Zendesk subdomain and returns its base URL:
// acme means https://acme.zendesk.com.
func SubdomainURL(subdomain string) (string, error) {
	if !subdomainRE.MatchString(subdomain) {
		hint := ""
		if sub, ok := strings.CutSuffix(subdomain, ".zendesk.com"); ok {
			hint = fmt.Sprintf("; did you mean %q?", sub)
		}
		return "", fmt.Errorf("%q is not a Zendesk subdomain (lower-case letters, digits and dashes, e.g. acme for acme.zendesk.com%s)", subdomain, hint)
	}
	return "https://" + subdomain + ".zendesk.com", nil
}

// EndpointURL checks an account's base URL and returns it without a
// trailing slash. It must be https, or http to a loopback host only, so
// that tokens never travel in clear text; it holds a scheme and a host and
// nothing else.
func EndpointURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL like https://acme.zendesk.com", endpoint)
	}
	if u.User != nil {
		return "", errors.New("must not hold credentials; give them separately")
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must be the account's base URL (scheme and host only), got path %q", u.Path)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return "", fmt.Errorf("%q uses http: credentials would travel in clear text; use https (http is allowed only to a loopback host)", endpoint)
		}
	default:
		return "", fmt.Errorf("scheme %q is not https", u.Scheme)
	}
	return strings.TrimRight(endpoint, "/"), nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
