//go:build unix

package childproc

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests run small shell scripts as children.

// waitLimit bounds every wait of the tests.
const waitLimit = 10 * time.Second

func newSupervisor(t *testing.T) *Supervisor {
	t.Helper()
	s := NewSupervisor("test")
	t.Cleanup(s.KillAll)
	return s
}

func startSh(t *testing.T, s *Supervisor, name, script string) *Process {
	t.Helper()
	p, err := s.Start(name, "sh", []string{"-c", script}, filepath.Join(t.TempDir(), name+".log"), nil)
	require.NoError(t, err)
	return p
}

// startReady runs script, which must print a line once it is ready for
// what the test does next, and waits for that line.
func startReady(t *testing.T, s *Supervisor, name, script string) (*Process, string) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	p, err := s.Start(name, "sh", []string{"-c", script}, filepath.Join(t.TempDir(), name+".log"), w)
	w.Close()
	if err != nil {
		r.Close()
		require.NoError(t, err)
	}
	line, err := ReadFirstLine(t.Context(), r, &bytes.Buffer{}, waitLimit)
	require.NoError(t, err)
	return p, line
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(waitLimit):
		t.Fatalf("%s (pid %d) did not exit", p.Name(), p.Pid())
	}
}

func nextUnexpected(t *testing.T, s *Supervisor) *Process {
	t.Helper()
	select {
	case p := <-s.Unexpected():
		return p
	case <-time.After(waitLimit):
		t.Fatal("no process exited on its own")
		return nil
	}
}

// assertNoUnexpected checks, once every exit was handled, that no
// process was reported as exiting on its own.
func assertNoUnexpected(t *testing.T, s *Supervisor) {
	t.Helper()
	s.waiters.Wait()
	assert.Empty(t, s.Unexpected())
}

func TestStartLogFile(t *testing.T) {
	s := newSupervisor(t)
	log := filepath.Join(t.TempDir(), "greeter.log")
	p, err := s.Start("greeter", "sh", []string{"-c", "echo out; echo err >&2; exit 3"}, log, nil)
	require.NoError(t, err)
	assert.Equal(t, "greeter", p.Name())
	assert.Equal(t, log, p.LogPath())
	assert.Positive(t, p.Pid())

	assert.Same(t, p, nextUnexpected(t, s))
	assert.True(t, p.Exited())
	assert.Equal(t, "exit status 3", p.ExitStatus())

	b, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 4)
	assertLogLine(t, `===== test: (\S+) start greeter: sh -c echo out; echo err >&2; exit 3`, lines[0])
	assert.Equal(t, []string{"out", "err"}, lines[1:3])
	assertLogLine(t, `===== test: (\S+) greeter exited: exit status 3`, lines[3])
	assert.Equal(t, strings.Join(lines[2:], "\n"), p.LogTail(2))
	assert.Equal(t, strings.Join(lines, "\n"), p.LogTail(10))

	// A second start appends to the same file.
	p2, err := s.Start("greeter", "sh", []string{"-c", "echo again"}, log, nil)
	require.NoError(t, err)
	waitDone(t, p2)
	tail := strings.Split(p2.LogTail(10), "\n")
	require.Len(t, tail, 7)
	assert.Equal(t, lines, tail[:4])
	assertLogLine(t, `===== test: (\S+) start greeter: sh -c echo again`, tail[4])
	assert.Equal(t, "again", tail[5])
	assertLogLine(t, `===== test: (\S+) greeter exited: exit status 0`, tail[6])
}

// assertLogLine checks line against the regular expression pattern, whose
// group is a time stamp.
func assertLogLine(t *testing.T, pattern, line string) {
	t.Helper()
	m := regexp.MustCompile(`^` + pattern + `$`).FindStringSubmatch(line)
	if !assert.NotNil(t, m, "%q does not match %q", line, pattern) {
		return
	}
	_, err := time.Parse(time.RFC3339Nano, m[1])
	assert.NoError(t, err)
}

func TestStartStdout(t *testing.T) {
	s := newSupervisor(t)
	var out bytes.Buffer
	p, err := s.Start("printer", "sh", []string{"-c", "echo to-stdout; echo to-log >&2"}, filepath.Join(t.TempDir(), "printer.log"), &out)
	require.NoError(t, err)
	waitDone(t, p)
	assert.Equal(t, "to-stdout\n", out.String())
	lines := strings.Split(p.LogTail(10), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "to-log", lines[1])
}

func TestStartErrors(t *testing.T) {
	s := newSupervisor(t)
	dir := t.TempDir()
	_, err := s.Start("missing", filepath.Join(dir, "no-such-program"), nil, filepath.Join(dir, "missing.log"), nil)
	assert.ErrorContains(t, err, "starting missing: ")
	_, err = s.Start("nolog", "sh", []string{"-c", "exit 0"}, filepath.Join(dir, "no-such-dir", "nolog.log"), nil)
	assert.Error(t, err)
	assertNoUnexpected(t, s)
}

func TestOwnProcessGroup(t *testing.T) {
	s := newSupervisor(t)
	p := startSh(t, s, "sleeper", "exec sleep 60")
	pgid, err := syscall.Getpgid(p.Pid())
	require.NoError(t, err)
	assert.Equal(t, p.Pid(), pgid)
	require.NoError(t, p.Kill(waitLimit))
}

func TestStopClean(t *testing.T) {
	s := newSupervisor(t)
	// The shell runs the trap once the current sleep ends.
	p, _ := startReady(t, s, "clean", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done")
	assert.False(t, p.Exited())
	assert.Equal(t, "running", p.ExitStatus())
	require.NoError(t, p.Stop(waitLimit))
	assert.True(t, p.Exited())
	assert.Equal(t, "exit status 0", p.ExitStatus())
	assert.Contains(t, p.LogTail(1), "clean exited: exit status 0")

	assert.EqualError(t, p.Stop(waitLimit), "clean had already exited: exit status 0")
	assertNoUnexpected(t, s)
}

func TestStopNotClean(t *testing.T) {
	s := newSupervisor(t)
	p := startSh(t, s, "sleeper", "exec sleep 60")
	assert.EqualError(t, p.Stop(waitLimit), "sleeper did not stop cleanly on SIGTERM: signal: terminated")
	assertNoUnexpected(t, s)
}

func TestStopKillsAfterGrace(t *testing.T) {
	s := newSupervisor(t)
	p, _ := startReady(t, s, "stubborn", "trap '' TERM; echo ready; exec sleep 60")
	err := p.Stop(100 * time.Millisecond)
	assert.EqualError(t, err, "stubborn did not stop within 100ms of SIGTERM and was killed")
	assert.True(t, p.Exited())
	assert.Equal(t, "signal: killed", p.ExitStatus())
	assertNoUnexpected(t, s)
}

func TestKill(t *testing.T) {
	s := newSupervisor(t)
	p := startSh(t, s, "sleeper", "exec sleep 60")
	require.NoError(t, p.Kill(waitLimit))
	assert.True(t, p.Exited())
	assert.Equal(t, "signal: killed", p.ExitStatus())
	assertNoUnexpected(t, s)
}

func TestUnexpected(t *testing.T) {
	s := newSupervisor(t)
	asked := startSh(t, s, "sleeper", "exec sleep 60")
	quitter := startSh(t, s, "quitter", "exit 2")
	p := nextUnexpected(t, s)
	assert.Same(t, quitter, p)
	// Its Done channel is closed by then.
	assert.True(t, p.Exited())
	assert.Equal(t, "exit status 2", p.ExitStatus())

	require.NoError(t, asked.Kill(waitLimit))
	assertNoUnexpected(t, s)
}

func TestUnexpectedHoldsSixteen(t *testing.T) {
	s := newSupervisor(t)
	for i := range unexpectedBuffer + 2 {
		startSh(t, s, "quitter-"+strconv.Itoa(i), "exit 0")
	}
	s.waiters.Wait()
	assert.Len(t, s.Unexpected(), unexpectedBuffer)
}

func TestKillAll(t *testing.T) {
	s := newSupervisor(t)
	// The shell's own child is in its process group.
	parent, line := startReady(t, s, "parent", "sleep 60 & echo $!; wait")
	grandchild, err := strconv.Atoi(line)
	require.NoError(t, err)
	sleeper := startSh(t, s, "sleeper", "exec sleep 60")

	s.KillAll()
	assert.True(t, parent.Exited())
	assert.True(t, sleeper.Exited())
	assertNoUnexpected(t, s)

	if runtime.GOOS == "linux" {
		// The grandchild is reaped by whoever inherited it.
		assert.Eventually(t, func() bool { return goneOrZombie(grandchild) }, waitLimit, 10*time.Millisecond)
	}
}

// goneOrZombie reports whether process pid is gone or a zombie (Linux).
func goneOrZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) state ...
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

func TestStopAll(t *testing.T) {
	s := newSupervisor(t)
	a := startSh(t, s, "a", "exec sleep 60")
	b := startSh(t, s, "b", "exec sleep 60")
	s.StopAll(waitLimit)
	assert.True(t, a.Exited())
	assert.True(t, b.Exited())
	assertNoUnexpected(t, s)
}
