package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Kind classifies an API failure by what the caller should do about it.
type Kind int

const (
	// KindUnknown is a status the API does not document.
	KindUnknown Kind = iota
	// KindAuth is 401: the credentials were refused.
	KindAuth
	// KindForbidden is 403: the user, plan or token scope has no access.
	KindForbidden
	// KindNotFound is 404.
	KindNotFound
	// KindInvalid is 400 or 422: the request was refused as malformed.
	KindInvalid
	// KindRateLimited is 429.
	KindRateLimited
	// KindServer is a 5xx.
	KindServer
	// KindNetwork is no response at all: a refused or reset connection, a
	// timeout.
	KindNetwork
	// KindDecode is a response that could not be read: truncated, not JSON,
	// or missing what the API promises.
	KindDecode
	// KindTooLarge is a response body over the configured cap.
	KindTooLarge
	// KindTLS is a server certificate that did not verify: asking again
	// gets the same answer.
	KindTLS
)

var kindNames = [...]string{"unknown", "auth", "forbidden", "not_found", "invalid", "rate_limited", "server", "network", "decode", "too_large", "tls"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failed API call. It never holds a credential.
type Error struct {
	Kind Kind
	// Op is the API operation: "list", "show" or "export".
	Op string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Code and Description are Zendesk's "error" and "description" when the
	// body had them, or a short excerpt of a plain-text body.
	Code        string
	Description string
	// RetryAfter is the wait the server asked for, 0 when it named none.
	RetryAfter time.Duration
	// Attempts is how many requests were made for this call.
	Attempts int
	// Err is the underlying transport or decoding error, if any.
	Err error

	// oauthClient: the request carried a token of client credentials.
	oauthClient bool
	// tokenRefused: the API answered 401 to an access token of client
	// credentials, which was dropped (see Client.do).
	tokenRefused bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("zendesk ")
	b.WriteString(e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	} else {
		fmt.Fprintf(&b, ": %s", e.Kind)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Description != "" && e.Description != e.Code {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if hint := e.Hint(); hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Hint says what to check for the failures a user can fix.
func (e *Error) Hint() string {
	if e.Op == OpToken {
		return tokenHint(e)
	}
	switch e.Kind {
	case KindAuth:
		if e.oauthClient {
			return "the API refused a fresh access token of the OAuth client: check in Admin Center that the client is active and belongs to this Zendesk subdomain"
		}
		return "check the email and API token, or the OAuth token, and that they belong to this Zendesk subdomain"
	case KindForbidden:
		if e.oauthClient {
			return "audit logs need an admin user on an Enterprise plan with audit log access, and the OAuth client's token the auditlogs:read or read scope"
		}
		return "audit logs need an admin user on an Enterprise plan with audit log access; an OAuth token needs the auditlogs:read or read scope"
	case KindRateLimited:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("rate limited; the server asked to wait %s", e.RetryAfter)
		}
		return "rate limited; the account's request limit is shared with every other integration"
	case KindTooLarge:
		return "the response body exceeds the client's cap"
	case KindTLS:
		return "the server's certificate did not verify: check the tls settings (ca_file, ca_pem) and the endpoint's host name"
	case KindNetwork:
		return proxyHint(e.Err)
	}
	return ""
}

// proxyHint names a failure of the HTTP proxy in front of the API, or
// returns "". net/http marks a failure to reach the proxy with the
// operation "proxyconnect"; a proxy that answers CONNECT with anything but
// 200 comes back as an error that is only the answer's reason phrase, so a
// refusal of the proxy's credentials (407) is told by its text.
func proxyHint(err error) string {
	var op *net.OpError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &op) && op.Op == "proxyconnect":
		return "the proxy did not take the connection: check its address in proxy_url or HTTPS_PROXY, or exempt the API's host with NO_PROXY"
	case strings.Contains(err.Error(), http.StatusText(http.StatusProxyAuthRequired)):
		return "the proxy refused its credentials with a 407: check the user and password in proxy_url or HTTPS_PROXY"
	}
	return ""
}

// Retryable reports whether the same request may succeed later: rate
// limits, server errors, network failures and unreadable bodies.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindServer, KindNetwork, KindDecode:
		return true
	}
	return false
}

// ErrorTypeOther is what Type returns for a failure it has no name for
// (the semantic conventions' fallback value of error.type).
const ErrorTypeOther = "_OTHER"

// Type names the failure with a value of low cardinality, for the
// error.type attribute of the semantic conventions: the status code of an
// error response ("429", "503"); else, what went wrong: "timeout",
// "canceled" (the caller gave up), "network", "tls", "decode",
// "too_large", or ErrorTypeOther.
func (e *Error) Type() string {
	if e.StatusCode >= 400 {
		return strconv.Itoa(e.StatusCode)
	}
	switch e.Kind {
	case KindNetwork:
		switch {
		case errors.Is(e.Err, context.Canceled):
			return "canceled"
		case isTimeout(e.Err):
			return "timeout"
		}
		return "network"
	case KindTLS, KindDecode, KindTooLarge:
		return e.Kind.String()
	}
	return ErrorTypeOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// IsRetryable reports whether err is an *Error that is retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// KindOf returns the Kind of err, KindUnknown if it is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return KindInvalid
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindServer
	}
	return KindUnknown
}

// errorFromResponse builds an *Error from a non-success response that
// arrived at now (the local clock). The body may be JSON, text or HTML: its
// format never makes this fail.
func errorFromResponse(op string, status int, header http.Header, body []byte, now time.Time) *Error {
	e := &Error{Kind: kindForStatus(status), Op: op, StatusCode: status}
	e.RetryAfter, _ = parseRetryAfter(header.Get("Retry-After"), responseClock(header, now))
	var zd struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"description"`
		// The OAuth endpoints' (RFC 6749 §5.2).
		ErrorDescription string `json:"error_description"`
	}
	mediaType, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	switch {
	case json.Unmarshal(body, &zd) == nil && (len(zd.Error) > 0 || zd.Description != "" || zd.ErrorDescription != ""):
		// "error" is a string, or on some endpoints an object with a title.
		var s string
		var obj struct {
			Title   string `json:"title"`
			Message string `json:"message"`
		}
		if json.Unmarshal(zd.Error, &s) == nil {
			e.Code = s
		} else if json.Unmarshal(zd.Error, &obj) == nil {
			e.Code, e.Description = obj.Title, obj.Message
		}
		if zd.Description != "" {
			e.Description = zd.Description
		} else if zd.ErrorDescription != "" {
			e.Description = zd.ErrorDescription
		}
	case mediaType == "text/plain":
		e.Description = excerpt(body)
	}
	e.Code, e.Description = excerpt([]byte(e.Code)), excerpt([]byte(e.Description))
	return e
}

// excerpt returns printable text from b, folded to one line, at most 200
// characters.
func excerpt(b []byte) string {
	const limit = 200
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(b))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}
