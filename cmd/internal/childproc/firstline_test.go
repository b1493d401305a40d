package childproc

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeNotifier is a reader whose Close closes closed.
type closeNotifier struct {
	io.Reader
	closed chan struct{}
}

func (c closeNotifier) Close() error {
	close(c.closed)
	return nil
}

func TestReadFirstLine(t *testing.T) {
	pr, pw := io.Pipe()
	r := closeNotifier{Reader: pr, closed: make(chan struct{})}
	var rest strings.Builder
	go func() {
		_, _ = pw.Write([]byte("http://127.0.0.1:1234\r\nmore\n"))
		pw.Close()
	}()
	line, err := ReadFirstLine(t.Context(), r, &rest, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1234", line)
	// The rest is copied, then r is closed.
	select {
	case <-r.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("r was not closed")
	}
	assert.Equal(t, "more\n", rest.String())

	pr2, pw2 := io.Pipe()
	defer pw2.Close()
	_, err = ReadFirstLine(t.Context(), pr2, io.Discard, 50*time.Millisecond)
	assert.ErrorContains(t, err, "no first line")

	pr3, pw3 := io.Pipe()
	pw3.Close()
	_, err = ReadFirstLine(t.Context(), pr3, io.Discard, time.Second)
	assert.ErrorContains(t, err, "reading the first line")

	pr4, pw4 := io.Pipe()
	defer pw4.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = ReadFirstLine(ctx, pr4, io.Discard, time.Minute)
	assert.ErrorIs(t, err, context.Canceled)
}
