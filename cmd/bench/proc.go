package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// The simulator's default credentials (cmd/zendesk-sim).
const (
	SimEmail    = "demo@example.com"
	SimAPIToken = "demo-token"
)

// SimProcess is a bin/zendesk-sim process.
type SimProcess struct {
	*childproc.Process
	Sim
}

// SimAccountBudget is the account's request budget per minute the
// simulator is started with. Without one it reports Zendesk's Enterprise
// limit, 700 a minute, in its rate-limit headers, and the receiver paces
// itself when little of it remains: a drain of more than ~600 pages would
// then measure that pacing rather than the receiver. The client-side
// budget (max_requests_per_minute) is separate and set per run.
const SimAccountBudget = 1_000_000

// StartSim starts the simulator binary simPath under sup on a loopback
// port with a backlog of events records spread over the 6 hours ending
// about two minutes ago and an account budget of [SimAccountBudget], and
// waits (bounded) until it listens. extra are more flags, e.g. --latency.
func StartSim(ctx context.Context, sup *childproc.Supervisor, simPath string, events int, logPath string, extra ...string) (*SimProcess, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", "127.0.0.1:0", "--events", strconv.Itoa(events), "--backlog", "6h", "--seed", "1",
		"--budget", strconv.Itoa(SimAccountBudget)}
	args = append(args, extra...)
	child, err := sup.Start("zendesk-sim", simPath, args, logPath, w)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	// Generating a million records takes a few seconds.
	timeout := 30*time.Second + time.Duration(events)*20*time.Microsecond
	u, err := childproc.ReadFirstLine(ctx, r, io.Discard, timeout)
	switch {
	case err != nil:
		err = fmt.Errorf("zendesk-sim did not print its base URL: %w", err)
	case !strings.HasPrefix(u, "http://"):
		err = fmt.Errorf("zendesk-sim printed no base URL (got %q)", u)
	}
	if err != nil {
		// The log's last line says how it exited.
		_ = child.Stop(5 * time.Second)
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, child.LogTail(10))
	}
	return &SimProcess{Process: child, Sim: Sim{URL: u, Email: SimEmail, APIToken: SimAPIToken}}, nil
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
