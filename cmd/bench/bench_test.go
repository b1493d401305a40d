package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// Records per op of the drain benchmarks.
const drainRecords = 10_000

func TestMain(m *testing.M) {
	benchProcs = childproc.NewSupervisor("bench")
	code := m.Run()
	benchProcs.StopAll(5 * time.Second)
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func BenchmarkDecodePage(b *testing.B) { DecodePage(b) }

func BenchmarkDecodeCursorPageConvertPage(b *testing.B) { DecodeCursorPageConvertPage(b) }

func BenchmarkDecodeCursorPageConvertPagePooled(b *testing.B) { DecodeCursorPageConvertPagePooled(b) }

// benchProcs supervises the child processes of the tests, which TestMain
// stops on the way out. benchSim is the simulator process of the drain
// benchmarks, with drainRecords records, and the same records as JSON
// lines.
var (
	benchProcs *childproc.Supervisor
	benchOnce  sync.Once
	benchDir   string
	benchSim   *SimProcess
	benchLines string
	benchErr   error
)

func setupDrain(b *testing.B) (*SimProcess, string) {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		benchDir, benchErr = os.MkdirTemp("", "zendesk-bench-")
		if benchErr != nil {
			return
		}
		simPath := os.Getenv("ZENDESK_SIM")
		if _, err := os.Stat(simPath); simPath != "" && err != nil && !filepath.IsAbs(simPath) {
			// Relative to the module root, as make passes it.
			simPath = filepath.Join("..", simPath)
		}
		if simPath == "" {
			simPath, benchErr = BuildSim(ctx, "..", benchDir)
			if benchErr != nil {
				return
			}
		}
		benchSim, benchErr = StartSim(ctx, benchProcs, simPath, drainRecords, filepath.Join(benchDir, "sim.log"))
		if benchErr != nil {
			return
		}
		benchLines = filepath.Join(benchDir, "audit_logs.jsonl")
		benchErr = DumpFile(ctx, benchSim.Sim, benchLines, drainRecords)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSim, benchLines
}

// reportDrain reports CPU per record and records per CPU second over the
// benchmark loop.
func reportDrain(b *testing.B, cpu time.Duration) {
	records := float64(b.N * drainRecords)
	b.ReportMetric(float64(cpu.Nanoseconds())/records, "cpu-ns/record")
	b.ReportMetric(records/cpu.Seconds(), "records/cpu-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
}

// BenchmarkReceiverDrain is one drain of a 10k-record backlog by the
// zendesk_audit_logs receiver from the simulator, which runs in another
// process (its CPU is not counted).
func BenchmarkReceiverDrain(b *testing.B) {
	sim, _ := setupDrain(b)
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		res, err := DrainReceiver(b.Context(), sim.Sim, drainRecords)
		if err != nil {
			b.Fatal(err)
		}
		cpu += res.CPU
	}
	reportDrain(b, cpu)
}

// BenchmarkFilelogDrain is contrib's filelog receiver reading the same
// 10k records from a file of JSON lines.
func BenchmarkFilelogDrain(b *testing.B) {
	_, lines := setupDrain(b)
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		res, err := DrainFilelog(b.Context(), lines, drainRecords)
		if err != nil {
			b.Fatal(err)
		}
		cpu += res.CPU
	}
	reportDrain(b, cpu)
}
