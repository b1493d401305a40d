// Package bench measures the zendesk_audit_logs receiver: the cost of
// decoding and converting a page, end-to-end throughput per CPU second
// against the simulator run as another process, the same records read by
// contrib's filelog receiver for comparison, how much of a request budget
// the receiver turns into records, how many requests an idle poll makes,
// the peak RSS of the built collector draining backlogs of two sizes, and
// the storage path of the production pipeline (a sending queue persisted
// in file_storage, and the checkpoint) with file_storage's fsync off and
// on.
//
// The figures are produced in two ways:
//
//   - Go benchmarks (bench_test.go), for benchstat:
//
//     go test -run '^$' -bench . -benchmem -count 10 ./bench/ | tee new.txt
//
//     BenchmarkReceiverDrain and BenchmarkFilelogDrain start the simulator
//     as a child process: $ZENDESK_SIM names its binary, or it is built
//     with `go build ./cmd/zendesk-sim` into a temporary directory.
//
//   - One summary, every figure as a line `name: value`
//     (cmd/benchsummary):
//
//     go run ./bench/cmd/benchsummary --collector _build/otelcol-zendesk --sim bin/zendesk-sim [--quick]
//
// CPU figures are the process's own CPU time (getrusage RUSAGE_SELF, user
// plus system) over the measured span, so the simulator, which always runs
// in another process, is excluded. They are Unix-only; peak RSS (VmHWM in
// /proc/PID/status) is Linux-only.
//
// docs/performance.md says what each figure is and holds the results.
package bench
