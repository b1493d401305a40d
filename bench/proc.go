package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Child is a process started by this package. Every child is stopped by
// [StopAll]; on Linux the kernel also kills it if this process dies first.
type Child struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once Wait returned
	err     error         // Wait's result, set before done is closed
}

var children = struct {
	sync.Mutex
	set map[*Child]struct{}
}{set: map[*Child]struct{}{}}

// StartChild starts path with args. Its stderr, and its stdout unless
// stdout is given, go to the file logPath.
func StartChild(name, path string, args []string, logPath string, stdout io.Writer) (*Child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	c := &Child{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	children.Lock()
	children.set[c] = struct{}{}
	children.Unlock()
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		children.Lock()
		delete(children.set, c)
		children.Unlock()
		close(c.done)
	}()
	return c, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed once the child exited and was waited for.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exited reports whether the child exited, and how.
func (c *Child) Exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// Stop asks the child to stop (SIGTERM), kills it if it has not exited
// after grace, and waits at most 5 s more. It returns how the child exited.
func (c *Child) Stop(grace time.Duration) error {
	if exited, err := c.Exited(); exited {
		return err
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	select {
	case <-c.done:
		return fmt.Errorf("%s did not stop within %s and was killed", c.Name, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) could not be killed", c.Name, c.Pid())
	}
}

// LogTail is the last n lines of the child's log file.
func (c *Child) LogTail(n int) string {
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StopAll stops every child still running, each with a short grace.
func StopAll() {
	children.Lock()
	all := make([]*Child, 0, len(children.set))
	for c := range children.set {
		all = append(all, c)
	}
	children.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() { _ = c.Stop(5 * time.Second) })
	}
	wg.Wait()
}

// The simulator's default credentials (cmd/zendesk-sim).
const (
	SimEmail    = "demo@example.com"
	SimAPIToken = "demo-token"
)

// SimProcess is a bin/zendesk-sim process.
type SimProcess struct {
	*Child
	Sim
}

// SimAccountBudget is the account's request budget per minute the
// simulator is started with. Without one it reports Zendesk's Enterprise
// limit, 700 a minute, in its rate-limit headers, and the receiver paces
// itself when little of it remains: a drain of more than ~600 pages would
// then measure that pacing rather than the receiver. The client-side
// budget (max_requests_per_minute) is separate and set per run.
const SimAccountBudget = 1_000_000

// StartSim starts the simulator binary simPath on a loopback port with a
// backlog of events records spread over the 6 hours ending about two
// minutes ago and an account budget of [SimAccountBudget], and waits
// (bounded) until it listens.
func StartSim(ctx context.Context, simPath string, events int, logPath string) (*SimProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", "127.0.0.1:0", "--events", strconv.Itoa(events), "--backlog", "6h", "--seed", "1",
		"--budget", strconv.Itoa(SimAccountBudget)}
	child, err := StartChild("zendesk-sim", simPath, args, logPath, w)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	urlc := make(chan string, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		if sc.Scan() {
			urlc <- strings.TrimSpace(sc.Text())
		}
		close(urlc)
		_, _ = io.Copy(io.Discard, r)
	}()
	// Generating a million records takes a few seconds.
	timeout := 30*time.Second + time.Duration(events)*20*time.Microsecond
	fail := func(err error) (*SimProcess, error) {
		_ = child.Stop(5 * time.Second)
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, child.LogTail(10))
	}
	select {
	case u, ok := <-urlc:
		if !ok || !strings.HasPrefix(u, "http://") {
			return fail(fmt.Errorf("zendesk-sim printed no base URL (got %q)", u))
		}
		return &SimProcess{Child: child, Sim: Sim{URL: u, Email: SimEmail, APIToken: SimAPIToken}}, nil
	case <-child.Done():
		return fail(fmt.Errorf("zendesk-sim exited before listening: %v", child.err))
	case <-time.After(timeout):
		return fail(fmt.Errorf("zendesk-sim did not listen within %s", timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// BuildSim builds ./cmd/zendesk-sim of the module in moduleDir into dir
// and returns the binary's path.
func BuildSim(ctx context.Context, moduleDir, dir string) (string, error) {
	out := dir + string(os.PathSeparator) + "zendesk-sim"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/zendesk-sim")
	cmd.Dir = moduleDir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/zendesk-sim: %w\n%s", err, stderr.String())
	}
	return out, nil
}

// ModuleDir is the root directory of the main module of the working
// directory (`go env GOMOD`).
func ModuleDir(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return gomod[:strings.LastIndexAny(gomod, `/\`)], nil
}
