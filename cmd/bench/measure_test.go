package bench

import (
	"bufio"
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

func TestDecodeConvert(t *testing.T) {
	ld, err := DecodeCursorPageConvert(zendesksim.SamplePage(PageRecords), time.Now())
	require.NoError(t, err)
	require.Equal(t, PageRecords, ld.LogRecordCount())
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	actor, ok := lr.Attributes().Get(convert.AttrActorID)
	require.True(t, ok)
	assert.Equal(t, int64(1234567890), actor.Int())
}

// With the pooling gate on, pdata's objects come from pools and the
// allocations per record drop (by about nine of the ten or so pdata makes
// per record); the gate is off again afterwards.
func TestPooledDecodeConvertAllocatesLess(t *testing.T) {
	plain := testing.Benchmark(DecodeCursorPageConvertPage)
	pooled := testing.Benchmark(DecodeCursorPageConvertPagePooled)
	require.NotZero(t, plain.N)
	require.NotZero(t, pooled.N)
	assert.Less(t, pooled.AllocsPerOp(), plain.AllocsPerOp()-5*PageRecords)
	assert.False(t, pref.UseProtoPooling.IsEnabled())
}

// ProcessCPU follows the kernel's own count of this process's CPU time
// (/proc/self/stat, in ticks of 10 ms): a busy loop that ProcessCPU says
// took 300 ms of CPU took about as much by that count too.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/stat is Linux's")
	}
	a, err := ProcessCPU()
	require.NoError(t, err)
	pa := procCPU(t)
	const burn = 300 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second) // on a loaded machine the loop gets less than a core
	x := 0
	for {
		for i := range 1_000_000 {
			x += i % 7
		}
		b, err := ProcessCPU()
		require.NoError(t, err)
		if b-a >= burn {
			break
		}
		require.True(t, time.Now().Before(deadline), "ProcessCPU moved %s in 30 s of a busy loop", b-a)
	}
	_ = x
	b, err := ProcessCPU()
	require.NoError(t, err)
	pb := procCPU(t)
	assert.Positive(t, a)
	// Other goroutines (GC, the test runner) run too: the kernel's count
	// may be a little more, never much less; 20 ms for its ticks.
	assert.InDelta(t, float64(b-a), float64(pb-pa), float64(burn/2), "ProcessCPU moved %s, /proc/self/stat %s", b-a, pb-pa)
}

// procCPU is utime + stime of /proc/self/stat (USER_HZ is 100 on Linux).
func procCPU(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	// Fields after the command name (in parentheses, which may hold spaces):
	// state is field 3, utime 14 and stime 15.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	require.Greater(t, len(f), 12)
	utime, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	stime, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func TestCountPolls(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, n int) Sample {
		return Sample{At: t0.Add(time.Duration(ms) * time.Millisecond), ListRequests: n}
	}
	samples := []Sample{
		at(0, 50), // baseline
		at(20, 50),
		at(40, 51),                 // poll 1
		at(1040, 52), at(1060, 53), // poll 2: two requests, one burst
		at(2060, 54), // poll 3
		at(2080, 54),
	}
	r := CountPolls(samples, 300*time.Millisecond)
	assert.Equal(t, IdleResult{Polls: 3, Requests: 4}, r)
	assert.InDelta(t, 4.0/3, r.PerPoll(), 1e-9)
	assert.Equal(t, IdleResult{}, CountPolls(samples[:2], time.Second))
}

func TestBudgetResult(t *testing.T) {
	r := BudgetResult{RequestsPerMinute: 600, Elapsed: 20 * time.Second, Records: 19_800}
	assert.InDelta(t, 201, r.Allowed(), 1e-9)
	assert.InDelta(t, 19_800.0/20_100, r.Utilization(), 1e-9)
	assert.Greater(t, BudgetBacklog(600, 20*time.Second), 20_100)
}

func TestCollectorConfig(t *testing.T) {
	conf, err := CollectorConfig(Sim{URL: "http://127.0.0.1:4321", Email: SimEmail, APIToken: SimAPIToken})
	require.NoError(t, err)
	assert.Contains(t, conf, "endpoint: http://127.0.0.1:4321\n")
	assert.Contains(t, conf, "verbosity: basic\n")
}

// TestDrainInProcess runs the measurements on a small backlog served by
// an in-process simulator (the benchmarks use another process).
func TestDrainInProcess(t *testing.T) {
	const n = 450
	sim := inProcessSim(t, n)

	path := filepath.Join(t.TempDir(), "audit_logs.jsonl")
	require.NoError(t, DumpFile(t.Context(), sim, path, n))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		require.Equal(t, byte('{'), sc.Bytes()[0])
	}
	require.Equal(t, n, lines)

	ours, err := DrainReceiver(t.Context(), sim, n)
	require.NoError(t, err)
	assert.Equal(t, n, ours.Records)
	assert.Positive(t, ours.CPU)

	theirs, err := DrainFilelog(t.Context(), path, n)
	require.NoError(t, err)
	assert.Equal(t, n, theirs.Records)
	assert.Positive(t, theirs.CPU)
}

func TestBudgetInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 seconds")
	}
	sim := inProcessSim(t, 5_000)

	// 600/min is one request per 100 ms: 11 in 1 s with the burst of 1,
	// fewer on a slow machine, never more than the budget allows.
	r, err := Budget(t.Context(), sim, 5_000, 600, time.Second, ReceiverOptions{})
	require.NoError(t, err)
	assert.LessOrEqual(t, float64(r.ListRequests), r.Allowed()+1)
	assert.GreaterOrEqual(t, r.ListRequests, 5)
	assert.LessOrEqual(t, r.Utilization(), 1.0)
	assert.Positive(t, r.Records)
	assert.Positive(t, r.PeakInFlight)
}

func TestIdleInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 seconds")
	}
	sim := inProcessSim(t, 250)

	r, err := Idle(t.Context(), sim, 250, 1, time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, r.Polls)
	assert.Positive(t, r.Requests)
}

// inProcessSim serves n records from a simulator in this process, with
// the account budget of the simulator processes.
func inProcessSim(t *testing.T, n int) Sim {
	t.Helper()
	srv := zendesksim.New(zendesksim.Options{Email: SimEmail, APIToken: SimAPIToken, Seed: 1,
		Faults: zendesksim.Faults{BudgetPerMinute: SimAccountBudget}})
	to := time.Now().Add(-2 * time.Minute)
	srv.Generate(n, to.Add(-time.Hour), to)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return Sim{URL: hs.URL, Email: SimEmail, APIToken: SimAPIToken}
}

// The persistent-queue pipeline pushes every record of every page, and
// leaves the queue's file and the checkpoint's file in the directory,
// whichever the fsync setting.
func TestDrainPersistentQueue(t *testing.T) {
	page, err := DecodeCursorPageConvert(zendesksim.SamplePage(PageRecords), time.Now())
	require.NoError(t, err)
	for _, fsync := range []bool{false, true} {
		dir := t.TempDir()
		res, err := DrainPersistentQueue(t.Context(), QueueOptions{Dir: dir, FSync: fsync, Pages: 10, Page: page})
		require.NoError(t, err, "fsync=%t", fsync)
		assert.Equal(t, 10*PageRecords, res.Records)
		assert.Positive(t, res.Wall)
		assert.FileExists(t, filepath.Join(dir, "receiver_zendesk_audit_logs_"))
		assert.FileExists(t, filepath.Join(dir, "exporter_otlp_http__logs"))
	}
	_, err = DrainPersistentQueue(t.Context(), QueueOptions{Dir: t.TempDir(), Pages: 0, Page: page})
	assert.ErrorContains(t, err, "no records")
}
