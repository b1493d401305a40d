package convert

import (
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
)

// Resource is the resource of every record read from the account at
// baseURL (https://acme.zendesk.com, or an endpoint): the account's
// subdomain when the host names one, and the API host, each unless rac
// switches it off. The receiver and `zendesk-audit reconcile --resend`
// both use it, so that a record sent again carries the same resource.
func Resource(rac metadata.ResourceAttributesConfig, baseURL string) pcommon.Resource {
	rb := metadata.NewResourceBuilder(rac)
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return rb.Emit()
	}
	if sub, ok := strings.CutSuffix(u.Hostname(), ".zendesk.com"); ok && sub != "" && !strings.Contains(sub, ".") {
		rb.SetZendeskSubdomain(sub)
	}
	rb.SetServerAddress(u.Hostname())
	return rb.Emit()
}
