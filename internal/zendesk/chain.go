package zendesk

import (
	"errors"
	"fmt"
)

// MaxEmptyPages is how many pages in a row a cursor chain may answer with
// has_more and no records before Chain ends it. The API has no reason to
// send one such page, let alone this many: a chain that does is broken
// (or a proxy is), and would otherwise be followed forever.
const MaxEmptyPages = 10

// ErrEndlessChain is what Chain.Next returns, wrapped, for a chain that
// would never end: pages in a row with has_more and no records, or a
// cursor the chain already used.
var ErrEndlessChain = errors.New("the cursor chain would never end")

// Chain follows one cursor chain (the pages of one listing, each asked for
// with the previous page's after_cursor) and ends it when the API's
// answers would never end it. The zero value is not usable: see NewChain.
type Chain struct {
	// seen holds every cursor the chain used, and the page that gave it.
	seen  map[string]int
	pages int
	empty int
}

// NewChain is a chain at its first page.
func NewChain() *Chain { return &Chain{seen: make(map[string]int)} }

// Next takes the page the chain's latest request returned and returns the
// cursor to ask for next, or "" when the page was the last (has_more is
// false). It returns an error wrapping ErrEndlessChain, saying what the
// API did, when the page says has_more but the chain cannot go on: its
// cursor was used before in this chain (not only by the page before: a
// cycle A, B, A is caught too), or it is the MaxEmptyPages-th page in a
// row with no records.
func (c *Chain) Next(p *Page) (string, error) {
	c.pages++
	if len(p.AuditLogs) == 0 {
		c.empty++
	} else {
		c.empty = 0
	}
	if !p.HasMore {
		return "", nil
	}
	if first, ok := c.seen[p.AfterCursor]; ok {
		return "", fmt.Errorf("%w: page %d of the chain has has_more true and the after_cursor that page %d gave, a cycle (%d records in this page)",
			ErrEndlessChain, c.pages, first, len(p.AuditLogs))
	}
	if c.empty >= MaxEmptyPages {
		return "", fmt.Errorf("%w: %d pages in a row (pages %d to %d of the chain) had has_more true and no records",
			ErrEndlessChain, c.empty, c.pages-c.empty+1, c.pages)
	}
	c.seen[p.AfterCursor] = c.pages
	return p.AfterCursor, nil
}

// Pages is how many pages the chain has taken.
func (c *Chain) Pages() int { return c.pages }
