// Package childproc starts and supervises the child processes of the
// project's test programs (the benchmarks and the end-to-end runner): the
// simulator, the built collector, a sink.
//
// A [Supervisor] starts each child with its output appended to a log
// file, tells about children that exit without having been asked to, and
// kills whatever is left on the way out. On Linux the kernel also kills a
// child should its parent die without doing so.
package childproc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Process is one child process started by a [Supervisor].
type Process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process was waited for
	err     error         // Wait's result, set before done is closed
	asked   atomic.Bool   // it was asked to stop or killed
}

// Supervisor starts child processes, tells about those that exit on their
// own, and kills or stops whatever is left on the way out. Its owner must
// call [Supervisor.KillAll] or [Supervisor.StopAll] when done with it.
type Supervisor struct {
	logTag     string
	mu         sync.Mutex
	running    map[*Process]struct{}
	unexpected chan *Process
	// waiters are the goroutines that wait for the processes; tests wait
	// for them to know every exit was handled.
	waiters sync.WaitGroup
}

// unexpectedBuffer is how many unread processes that exited on their own
// [Supervisor.Unexpected] holds; it drops any more.
const unexpectedBuffer = 16

// NewSupervisor returns a Supervisor. logTag names the supervising program
// in the lines it adds to each log file.
func NewSupervisor(logTag string) *Supervisor {
	return &Supervisor{
		logTag:     logTag,
		running:    map[*Process]struct{}{},
		unexpected: make(chan *Process, unexpectedBuffer),
	}
}

// Start runs path with args as the process called name. Its stderr, and
// its stdout unless stdout is non-nil, are appended to the file logPath,
// after a header line; a last line tells how it exited.
func (s *Supervisor) Start(name, path string, args []string, logPath string, stdout io.Writer) (*Process, error) {
	return s.StartEnv(name, path, args, nil, logPath, stdout)
}

// StartEnv is Start with env (NAME=VALUE) added to this process's
// environment for the child.
func (s *Supervisor) StartEnv(name, path string, args, env []string, logPath string, stdout io.Writer) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "===== %s: %s start %s: %s %s\n", s.logTag, time.Now().Format(time.RFC3339Nano), name, path, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.running[p] = struct{}{}
	s.mu.Unlock()
	s.waiters.Go(func() {
		p.err = cmd.Wait()
		fmt.Fprintf(logf, "===== %s: %s %s exited: %s\n", s.logTag, time.Now().Format(time.RFC3339Nano), name, exitStatus(p.err))
		logf.Close()
		s.mu.Lock()
		delete(s.running, p)
		s.mu.Unlock()
		close(p.done)
		if !p.asked.Load() {
			select {
			case s.unexpected <- p:
			default:
			}
		}
	})
	return p, nil
}

// Unexpected receives each process that exits without having been asked
// to (by [Process.Stop], [Process.Kill], [Supervisor.KillAll] or
// [Supervisor.StopAll]), after its Done channel is closed. It holds up to
// 16 unread processes and drops any more.
func (s *Supervisor) Unexpected() <-chan *Process { return s.unexpected }

// snapshot lists the processes still running.
func (s *Supervisor) snapshot() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := make([]*Process, 0, len(s.running))
	for p := range s.running {
		left = append(left, p)
	}
	return left
}

// KillAll SIGKILLs every process still running, with its process group
// where there is one, and waits a little (5 s at most) for each.
func (s *Supervisor) KillAll() {
	left := s.snapshot()
	for _, p := range left {
		p.asked.Store(true)
		killGroup(p.Pid())
		_ = p.cmd.Process.Kill()
	}
	for _, p := range left {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// StopAll stops every process still running, all at once, each as
// [Process.Stop] with grace.
func (s *Supervisor) StopAll(grace time.Duration) {
	var wg sync.WaitGroup
	for _, p := range s.snapshot() {
		wg.Go(func() { _ = p.Stop(grace) })
	}
	wg.Wait()
}

// Name is the name the process was started as.
func (p *Process) Name() string { return p.name }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is the file the process's output goes to.
func (p *Process) LogPath() string { return p.logPath }

// Done is closed once the process exited and was waited for.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process exited and was waited for.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitStatus describes how the process ended ("exit status 0",
// "exit status 1", "signal: killed"), or is "running".
func (p *Process) ExitStatus() string {
	if !p.Exited() {
		return "running"
	}
	return exitStatus(p.err)
}

// exitStatus describes the result of [exec.Cmd.Wait].
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Kill sends SIGKILL and waits (at most timeout) for the process to go.
func (p *Process) Kill(timeout time.Duration) error {
	p.asked.Store(true)
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still runs %s after SIGKILL", p.name, p.Pid(), timeout)
	}
}

// Stop sends SIGTERM and waits up to grace for a clean exit; then it
// kills the process (waiting 5 s at most). It returns an error unless the
// process exited with status 0 in time, also if it had exited before.
func (p *Process) Stop(grace time.Duration) error {
	p.asked.Store(true)
	if p.Exited() {
		return fmt.Errorf("%s had already exited: %s", p.name, p.ExitStatus())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s did not stop cleanly on SIGTERM: %s", p.name, p.ExitStatus())
		}
		return nil
	case <-time.After(grace):
		_ = p.Kill(5 * time.Second)
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, grace)
	}
}

// LogTail is the last n lines of the process's log file, or "" if it
// cannot be read.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
