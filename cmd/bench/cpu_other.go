//go:build !unix

package bench

import (
	"errors"
	"time"
)

// ProcessCPU is not available on this platform.
func ProcessCPU() (time.Duration, error) {
	return 0, errors.New("process CPU time (getrusage) is only measured on Unix")
}
