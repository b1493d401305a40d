package childproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is the resident set size of a process, in bytes.
type RSS struct {
	Peak    int64 // VmHWM, the highest so far
	Current int64 // VmRSS
}

// ReadRSS reads the resident set size of process pid from
// /proc/PID/status (Linux only).
func ReadRSS(pid int) (RSS, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return RSS{}, err
	}
	return ParseRSS(b)
}

// ParseRSS reads the lines "VmHWM:   12345 kB" and "VmRSS:   6789 kB" of
// the text of /proc/PID/status; both must be there.
func ParseRSS(status []byte) (RSS, error) {
	r := RSS{Peak: -1, Current: -1}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return RSS{}, fmt.Errorf("unexpected %s line %q", name, strings.TrimSpace(sc.Text()))
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return RSS{}, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmHWM" {
			r.Peak = kib << 10
		} else {
			r.Current = kib << 10
		}
	}
	switch {
	case r.Peak < 0:
		return RSS{}, errors.New("no VmHWM line in the process status")
	case r.Current < 0:
		return RSS{}, errors.New("no VmRSS line in the process status")
	}
	return r, nil
}
