package childproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// ReadFirstLine returns the first line written to r (such as a child's
// stdout: the address it listens on), within timeout. The rest of r is
// copied to rest until EOF; then r is closed if it is an [io.Closer].
func ReadFirstLine(ctx context.Context, r io.Reader, rest io.Writer, timeout time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		br := bufio.NewReader(r)
		line, err := br.ReadString('\n')
		if err == nil {
			line = strings.TrimRight(line, "\r\n")
		}
		ch <- result{line, err}
		_, _ = io.Copy(rest, br)
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return "", fmt.Errorf("reading the first line: %w", res.err)
		}
		return res.line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no first line within %s", timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
