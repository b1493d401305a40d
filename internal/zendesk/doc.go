// Package zendesk is a client for the Zendesk Audit Logs API: ListAuditLogs
// (cursor and offset pagination), ShowAuditLog and ExportAuditLogs.
//
// The client knows HTTP and the API and nothing else: it builds every request
// on the base URL it was configured with (it never follows links.next or a
// redirect to another host), authenticates with an API token or an OAuth
// token (or leaves authentication to the *http.Client, e.g. one built by
// confighttp with an authenticator extension), honours Retry-After and the
// rate-limit headers, keeps to an optional client-side request budget, caps
// response bodies, and returns typed errors that say what to check. No
// credential ever appears in an error, a URL or a hook argument.
package zendesk
