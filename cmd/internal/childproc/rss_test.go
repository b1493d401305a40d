package childproc

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRSS(t *testing.T) {
	r, err := ParseRSS([]byte("Name:\totelcol\nVmPeak:\t 1000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"))
	require.NoError(t, err)
	assert.Equal(t, RSS{Peak: 80 << 20, Current: 40 << 20}, r)

	r, err = ParseRSS([]byte("Name:\totelcol\nVmPeak:\t  900 kB\nVmHWM:\t   81234 kB\nVmRSS:\t 1 kB\n"))
	require.NoError(t, err)
	assert.Equal(t, RSS{Peak: 81234 << 10, Current: 1 << 10}, r)

	for _, status := range []string{
		"Name:\tx\n",
		"VmHWM:\t12 MB\nVmRSS:\t1 kB\n",
		"VmHWM:\t 12 MB\n",
		"VmHWM:\t12 kB\n",
		"VmRSS:\t12 kB\n",
		"VmHWM:\tx kB\nVmRSS:\t1 kB\n",
	} {
		_, err := ParseRSS([]byte(status))
		assert.Error(t, err, status)
	}
	_, err = ParseRSS([]byte("VmHWM:\t12 MB\nVmRSS:\t1 kB\n"))
	assert.EqualError(t, err, `unexpected VmHWM line "VmHWM:\t12 MB"`)
}

func TestReadRSSSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	r, err := ReadRSS(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, r.Current)
	assert.GreaterOrEqual(t, r.Peak, r.Current)
}
