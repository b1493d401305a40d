package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
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

// Pages per op of BenchmarkPersistentQueue.
const queuePages = 100

// BenchmarkPersistentQueue is the storage path of the README's production
// pipeline (see DrainPersistentQueue): 100 pages of 100 records per op
// through a sending queue persisted in file_storage, with the checkpoint
// written after each page, once with file_storage's fsync off and once
// on. Each op starts from an empty directory of the temporary directory's
// file system.
func BenchmarkPersistentQueue(b *testing.B) {
	page, err := DecodeCursorPageConvert(zendesksim.SamplePage(PageRecords), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, fsync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%t", fsync), func(b *testing.B) {
			var cpu, wall time.Duration
			for b.Loop() {
				res, err := DrainPersistentQueue(b.Context(), QueueOptions{Dir: b.TempDir(), FSync: fsync, Pages: queuePages, Page: page})
				if err != nil {
					b.Fatal(err)
				}
				cpu += res.CPU
				wall += res.Wall
			}
			records := float64(b.N * queuePages * PageRecords)
			b.ReportMetric(records/wall.Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/records, "cpu-ns/record")
			b.ReportMetric(float64(wall.Nanoseconds())/records, "ns/record")
		})
	}
}
