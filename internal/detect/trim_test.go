package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// trimSpace is strings.TrimSpace, whatever the ends of the value.
func TestTrimSpaceIsStringsTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\n", "user", "api_token ", "\u00a0x\u00a0",
		"\u0085x", "x\u3000", "é", "é ", " é", "\x7f", "a\x7f", "\xff", "a b", "\v\f\r"} {
		assert.Equal(t, strings.TrimSpace(s), trimSpace(s), "%q", s)
	}
}
