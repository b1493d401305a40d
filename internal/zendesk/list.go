package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxPageSize is the most records the API returns in one page.
const MaxPageSize = 100

// Sort orders cursor-paginated results by created_at.
type Sort string

const (
	// SortDefault leaves the order to the API (newest first).
	SortDefault Sort = ""
	// SortAscending is oldest first: the order a reader that keeps its
	// place must use.
	SortAscending Sort = "created_at"
	// SortDescending is newest first.
	SortDescending Sort = "-created_at"
)

// ListParams is one request of a cursor-paginated listing.
type ListParams struct {
	Filter Filter
	// PageSize is 1..100; 0 means 100.
	PageSize int
	Sort     Sort
	// After is the previous page's AfterCursor; Before its BeforeCursor.
	// At most one of them.
	After  string
	Before string
}

// Page is one page of a cursor-paginated listing.
type Page struct {
	AuditLogs    []AuditLog
	HasMore      bool
	AfterCursor  string
	BeforeCursor string
	// Date is the response's Date header: the API's clock when it
	// answered, to the second. Zero when the header is absent or
	// unreadable.
	Date time.Time
	// RoundTrip is how long the API took to answer the request that
	// brought the page, body included (its last attempt; waits before it
	// are not counted).
	RoundTrip time.Duration
	// Latency is the part of RoundTrip until the response's head arrived:
	// the API's answer time without reading the body. Reading the body is
	// work on this side (on a busy machine, mostly waiting for a CPU), so
	// Latency is the better measure of the API itself.
	Latency time.Duration
}

// List fetches one page with cursor pagination, the API's recommended
// pagination. To move on, call List again with After set to the page's
// AfterCursor: the request is built on the configured base URL, never taken
// from the response's links.next.
func (c *Client) List(ctx context.Context, p ListParams) (*Page, error) {
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	var body cursorPageBody
	body.AuditLogs = c.recycled()
	if err := c.call(ctx, http.MethodGet, listPath, q, &body); err != nil {
		return nil, err
	}
	if len(body.AuditLogs) == 0 {
		body.AuditLogs = nil // none, as without a recycled page
	}
	page, err := body.page()
	if err != nil {
		return nil, c.redactError(&Error{Kind: KindDecode, Op: "list", StatusCode: http.StatusOK, Err: err})
	}
	page.Date, page.RoundTrip, page.Latency = body.date, body.roundTrip, body.latency
	if page.HasMore && page.AfterCursor == "" && p.Before == "" {
		return nil, &Error{Kind: KindDecode, Op: "list", Description: "has_more is true but meta.after_cursor is empty"}
	}
	return page, nil
}

// Recycle gives List a page of records back once the caller is done with
// it: List decodes a later page into it instead of a new one. A drain
// reads one page after another, and a new slice of records for each was
// a fifth of the bytes it allocated, and as much of the garbage
// collector's work. After Recycle the caller must not use records, nor any
// pointer into it; values copied out of it stay valid (a record's strings
// are its own, and Extra's values are copies of the body).
func (c *Client) Recycle(records []AuditLog) {
	if cap(records) < MaxPageSize {
		return // not a page List made
	}
	records = records[:cap(records)]
	clear(records) // nothing kept alive by a page waiting in the pool
	c.pages.Put(&records)
}

// recycled is a page given back with Recycle, empty, or nil.
func (c *Client) recycled() []AuditLog {
	if p, ok := c.pages.Get().(*[]AuditLog); ok {
		return (*p)[:0]
	}
	return nil
}

func (p *cursorPageBody) setResponse(date time.Time, roundTrip, latency time.Duration) {
	p.date, p.roundTrip, p.latency = date, roundTrip, latency
}

func (p ListParams) query() (url.Values, error) {
	if err := p.Filter.Validate(); err != nil {
		return nil, err
	}
	size := p.PageSize
	if size == 0 {
		size = MaxPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, fmt.Errorf("page size %d is outside 1..%d", p.PageSize, MaxPageSize)
	}
	if p.After != "" && p.Before != "" {
		return nil, errors.New("page[after] and page[before] are exclusive")
	}
	switch p.Sort {
	case SortDefault, SortAscending, SortDescending:
	default:
		return nil, fmt.Errorf("sort %q is neither %q nor %q", p.Sort, SortAscending, SortDescending)
	}
	q := url.Values{}
	p.Filter.encode(q)
	q.Set("page[size]", strconv.Itoa(size))
	if p.Sort != SortDefault {
		q.Set("sort", string(p.Sort))
	}
	if p.After != "" {
		q.Set("page[after]", p.After)
	}
	if p.Before != "" {
		q.Set("page[before]", p.Before)
	}
	return q, nil
}

// OffsetParams is one request of an offset-paginated listing.
type OffsetParams struct {
	Filter Filter
	// Page is 1-based; 0 means 1.
	Page int
	// PerPage is 1..100; 0 means 100.
	PerPage int
	// SortBy defaults to created_at on the server.
	SortBy string
	// SortOrder is "asc" or "desc" (the server's default).
	SortOrder string
}

// OffsetPage is one page of an offset-paginated listing.
type OffsetPage struct {
	AuditLogs []AuditLog
	// Count is the number of matching records.
	Count int
	// NextPage and PreviousPage are the API's URLs, empty at the ends. They
	// are informational: ask for the next page by number.
	NextPage     string
	PreviousPage string
}

// ListOffset fetches one page with offset pagination. It exists in the API
// but is not for backfills or continuous reading: Zendesk refuses requests
// beyond the first 10,000 records, and offsets shift while records are
// added, so pages can repeat or skip records. Use List.
func (c *Client) ListOffset(ctx context.Context, p OffsetParams) (*OffsetPage, error) {
	if err := p.Filter.Validate(); err != nil {
		return nil, err
	}
	if p.PerPage < 0 || p.PerPage > MaxPageSize {
		return nil, fmt.Errorf("per_page %d is outside 1..%d", p.PerPage, MaxPageSize)
	}
	if p.Page < 0 {
		return nil, fmt.Errorf("page %d is not positive", p.Page)
	}
	switch p.SortOrder {
	case "", "asc", "desc":
	default:
		return nil, fmt.Errorf("sort_order %q is neither asc nor desc", p.SortOrder)
	}
	q := url.Values{}
	p.Filter.encode(q)
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(p.PerPage))
	}
	if p.SortBy != "" {
		q.Set("sort_by", p.SortBy)
	}
	if p.SortOrder != "" {
		q.Set("sort_order", p.SortOrder)
	}
	var body offsetPageBody
	if err := c.call(ctx, http.MethodGet, listPath, q, &body); err != nil {
		return nil, err
	}
	page := &OffsetPage{AuditLogs: body.AuditLogs, Count: body.Count}
	if body.NextPage != nil {
		page.NextPage = *body.NextPage
	}
	if body.PreviousPage != nil {
		page.PreviousPage = *body.PreviousPage
	}
	return page, nil
}

// Get fetches one audit log by id (ShowAuditLog). An unknown id is an
// *Error of KindNotFound.
func (c *Client) Get(ctx context.Context, id int64) (*AuditLog, error) {
	var body showBody
	if err := c.call(ctx, http.MethodGet, listPath+"/"+strconv.FormatInt(id, 10), nil, &body); err != nil {
		return nil, err
	}
	if len(body.AuditLog) == 0 || body.AuditLog.Kind() == 'n' {
		return nil, &Error{Kind: KindDecode, Op: "show", Description: "response has no audit_log"}
	}
	logs, err := decodeRecords([]jsontext.Value{body.AuditLog})
	if err != nil {
		return nil, c.redactError(&Error{Kind: KindDecode, Op: "show", StatusCode: http.StatusOK, Err: err})
	}
	return &logs[0], nil
}
