package zendesk_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

func chainPage(records int, more bool, cursor string) *zendesk.Page {
	return &zendesk.Page{AuditLogs: make([]zendesk.AuditLog, records), HasMore: more, AfterCursor: cursor}
}

// Any cursor the chain used before ends it, not only the one just used.
func TestChainCatchesACycleAnywhereInTheChain(t *testing.T) {
	t.Parallel()
	c := zendesk.NewChain()
	for _, cur := range []string{"A", "B", "C"} {
		next, err := c.Next(chainPage(5, true, cur))
		require.NoError(t, err)
		assert.Equal(t, cur, next)
	}
	_, err := c.Next(chainPage(5, true, "A"))
	require.ErrorIs(t, err, zendesk.ErrEndlessChain)
	assert.Contains(t, err.Error(), "page 4 of the chain has has_more true and the after_cursor that page 1 gave")
}

// Pages with has_more and no records end the chain at MaxEmptyPages in a
// row; a page with records in between starts the count again.
func TestChainEndsAfterEmptyPagesInARow(t *testing.T) {
	t.Parallel()
	c := zendesk.NewChain()
	n := 0
	next := func(records int) error {
		n++
		_, err := c.Next(chainPage(records, true, string(rune('a'+n%26))+string(rune(n))))
		return err
	}
	for range zendesk.MaxEmptyPages - 1 {
		require.NoError(t, next(0))
	}
	require.NoError(t, next(1), "records: the count starts again")
	for range zendesk.MaxEmptyPages - 1 {
		require.NoError(t, next(0))
	}
	err := next(0)
	require.ErrorIs(t, err, zendesk.ErrEndlessChain)
	assert.Contains(t, err.Error(), "10 pages in a row")
}

// The last page ends the chain, records or not.
func TestChainEndsAtTheLastPage(t *testing.T) {
	t.Parallel()
	c := zendesk.NewChain()
	next, err := c.Next(chainPage(0, false, "A"))
	require.NoError(t, err)
	assert.Empty(t, next)
}
