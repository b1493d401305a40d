package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is one child process. Its output goes to a log file.
type proc struct {
	name     string
	cmd      *exec.Cmd
	done     chan struct{} // closed once the process was waited for
	err      error         // Wait's result, set before done is closed
	expected atomic.Bool   // the runner asked it to stop
	started  time.Time
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitStatus describes how the process ended.
func (p *proc) exitStatus() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// supervisor starts child processes, tells about those that exit on their
// own, and kills whatever is left on the way out.
type supervisor struct {
	mu    sync.Mutex
	procs map[*proc]struct{}
	// unexpected receives each process that exits without having been
	// asked to.
	unexpected chan *proc
}

func newSupervisor() *supervisor {
	return &supervisor{procs: map[*proc]struct{}{}, unexpected: make(chan *proc, 16)}
}

// start runs path with args, appending its stdout and stderr to logPath
// (after a header line). If stdout is non-nil, the process's stdout goes
// there instead.
func (s *supervisor) start(name, path string, args []string, logPath string, stdout io.Writer) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "===== zendesk-e2e: %s start %s: %s %s\n", time.Now().Format(time.RFC3339Nano), name, path, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), started: time.Now()}
	s.mu.Lock()
	s.procs[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		fmt.Fprintf(logf, "===== zendesk-e2e: %s %s exited: %s\n", time.Now().Format(time.RFC3339Nano), name, p.exitStatus())
		logf.Close()
		s.mu.Lock()
		delete(s.procs, p)
		s.mu.Unlock()
		close(p.done)
		if !p.expected.Load() {
			select {
			case s.unexpected <- p:
			default:
			}
		}
	}()
	return p, nil
}

// kill sends SIGKILL and waits (at most timeout) for the process to go.
func (s *supervisor) kill(p *proc, timeout time.Duration) error {
	p.expected.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still runs %s after SIGKILL", p.name, p.pid(), timeout)
	}
}

// stop sends SIGTERM and waits up to timeout for a clean exit; then it
// kills. It returns an error unless the process exited with status 0 in
// time.
func (s *supervisor) stop(p *proc, timeout time.Duration) error {
	p.expected.Store(true)
	if p.exited() {
		return fmt.Errorf("%s had already exited: %s", p.name, p.exitStatus())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s did not stop cleanly on SIGTERM: %s", p.name, p.exitStatus())
		}
		return nil
	case <-time.After(timeout):
		_ = s.kill(p, 5*time.Second)
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, timeout)
	}
}

// killAll SIGKILLs every process still running, with its process group,
// and waits a little for them.
func (s *supervisor) killAll() {
	s.mu.Lock()
	left := make([]*proc, 0, len(s.procs))
	for p := range s.procs {
		left = append(left, p)
	}
	s.mu.Unlock()
	for _, p := range left {
		p.expected.Store(true)
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, p := range left {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// readFirstLine returns the first line written to r, within timeout. The
// rest of r is copied to rest until EOF; then r is closed if it is an
// io.Closer.
func readFirstLine(ctx context.Context, r io.Reader, rest io.Writer, timeout time.Duration) (string, error) {
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

// peakRSSKiB reads VmHWM (peak resident set size) of a running process
// from /proc/<pid>/status.
func peakRSSKiB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseVmHWM(string(b))
}

// parseVmHWM finds "VmHWM:   12345 kB" in a /proc/<pid>/status text.
func parseVmHWM(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", strings.TrimSpace(line))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("no VmHWM line")
}
