package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const exportPath = listPath + "/export"

// exportLimitMessage is how Zendesk words a refusal by the export
// endpoint's own limit (one export per minute per account): "Rate limit
// for Audit log CSV Export exceeded", in a text or a JSON body.
const exportLimitMessage = "csv export"

// ExportLimited reports whether e is a refusal by the export endpoint's own
// limit, one export per minute per account, as Zendesk words it in the
// 429's body. Any other 429 on an export (the account's request limit,
// APIRateLimitExceeded, or a proxy's "Too Many Requests") is not.
func (e *Error) ExportLimited() bool {
	if e.Op != opExport || e.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return strings.Contains(strings.ToLower(e.Code+" "+e.Description), exportLimitMessage)
}

// Export asks Zendesk to prepare a CSV of the matching audit logs
// (ExportAuditLogs). Zendesk answers 202 with an empty body and delivers
// the CSV out of band (by email); nothing is returned here.
//
// A 429 (the export endpoint's own limit of one per minute, or the
// account's) is waited out and the export sent again: as long as the
// server asks (Retry-After), or with backoff when it names no wait, within
// MaxAttempts requests and MaxExportWait of waiting in all. Then the last
// refusal is returned, an *Error of KindRateLimited (ExportLimited says
// which limit) whose RetryAfter says when to try again. Nothing else is
// retried: a 5xx may have started an export, and a second one would be
// refused anyway.
func (c *Client) Export(ctx context.Context, f Filter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	q := url.Values{}
	f.encode(q)
	start := c.now()
	for attempt := 1; ; attempt++ {
		err := c.callOnce(ctx, http.MethodPost, exportPath, q, nil)
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindRateLimited || ctx.Err() != nil {
			return err
		}
		e.Attempts = attempt
		delay, reason := e.RetryAfter, WaitRetryAfter
		if delay == 0 {
			delay, reason = c.backoff(attempt), WaitBackoff
		}
		waited := c.now().Sub(start)
		if waited+delay > c.opts.MaxExportWait {
			return fmt.Errorf("%w; not waiting %s more: an export waits at most %s in all (waited %s)",
				e, delay.Round(time.Millisecond), c.opts.MaxExportWait, waited.Round(time.Millisecond))
		}
		if attempt >= c.opts.MaxAttempts {
			return e
		}
		if e.RetryAfter == 0 {
			c.holdUntil(retryAfterScope(opExport, e), c.now().Add(delay))
		}
		c.hookWait(reason, delay)
	}
}
