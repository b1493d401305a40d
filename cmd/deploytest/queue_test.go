package deploytest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
)

// What exporterhelper v0.165 does with the shipped sending_queue
// (exporter/exporterhelper/internal: base_exporter.go, retry_sender.go,
// queuebatch/queue_batch.go and partition_batcher.go,
// queue/persistent_queue.go), which these tests hold it to:
//
//   - A page the receiver hands over is one request of the queue, written to
//     file_storage before ConsumeLogs returns. The queue's sizer is not set,
//     so it is `requests`: queue_size counts pages, whatever their records.
//     Pages being batched or sent still count until they are done.
//   - When the queue is full, ConsumeLogs fails at once with "sending queue
//     is full", a retryable error: the receiver keeps its checkpoint and
//     retries the page.
//   - A batch leaves the queue only once the backend accepted it. A refused
//     one is retried for ever (max_elapsed_time: 0s).
//   - A graceful stop (SIGTERM) stops the receivers first. Then the
//     exporter's retry sender stops: a batch waiting for its next retry ends
//     with a shutdown error and stays in the queue, put back at the next
//     start. The queue hands out no more pages (they stay on disk), the
//     batch being built is sent once more (kept likewise if refused), and an
//     export in flight is waited for. So nothing the backend accepted is
//     sent again, and nothing it did not accept is lost: as long as the
//     backend answers each export before the exporter's timeout (30 s). An
//     export the exporter gave up on, which the backend stored all the same,
//     is sent again, at a restart or not.

// The receiver's warning when the next consumer refuses a page with a
// retryable error (receiver.go), and the exporter's error when its queue
// is full.
const (
	retryingPage = "The next consumer refused audit logs with a retryable error; retrying the same page"
	queueIsFull  = "sending queue is full"
)

// queueRun is the shipped configuration (newShipped) with its otlp_http
// exporter, persistent queue and all, sending to an OTLP sink; what the
// test changes besides: the exporter's endpoint, the retries of the
// exporter and of the receivers faster (100 ms to 1 s apart; the
// exporter's still never give up), and the collector's metrics served on
// 127.0.0.1.
type queueRun struct {
	*shipped
	sink       *otlpSink
	metricsURL string
}

func newQueueRun(t *testing.T, records, requestsPerMinute int) *queueRun {
	t.Helper()
	r := &queueRun{sink: newOTLPSink(t)}
	r.shipped = newShipped(t, records, requestsPerMinute)

	exp := dig(r.cfg, "exporters", "otlp_http").(map[string]any)
	q := exp["sending_queue"].(map[string]any)
	require.Equal(t, "file_storage", q["storage"], "the shipped queue is persistent")
	require.Nil(t, q["sizer"], "the shipped queue counts requests (pages)")
	require.NotNil(t, q["batch"], "the shipped queue batches")
	retry := exp["retry_on_failure"].(map[string]any)
	require.Equal(t, "0s", retry["max_elapsed_time"], "the shipped exporter retries for ever")
	exp["endpoint"] = r.sink.url
	retry["initial_interval"], retry["max_interval"] = "100ms", "1s"
	for _, a := range r.accounts {
		rcv := dig(r.cfg, "receivers", a.receiver).(map[string]any)
		rcv["retry_on_failure"] = map[string]any{"initial_interval": "100ms", "max_interval": "1s"}
	}

	readers := dig(r.cfg, "service", "telemetry", "metrics", "readers").([]any)
	require.Len(t, readers, 1)
	prom := dig(readers[0], "pull", "exporter", "prometheus").(map[string]any)
	port := freePort(t)
	prom["host"], prom["port"] = "127.0.0.1", port
	r.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	return r
}

// metric is the value of the series name whose labels include labels, in a
// scrape of the collector now; -1 if the scrape failed or has no such
// series.
func (r *queueRun) metric(name string, labels map[string]string) float64 {
	series, err := scrape(r.metricsURL)
	if err != nil {
		return -1
	}
	for _, s := range series {
		if s.name() == name && matches(s.labels, labels) {
			return s.value
		}
	}
	return -1
}

// waitFor waits up to timeout for cond while p runs, and fails the test
// with p's latest log lines if it exits or the time runs out.
func waitFor(t *testing.T, p *childproc.Process, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ok := assert.Eventually(t, func() bool { return p.Exited() || cond() }, timeout, 100*time.Millisecond, what)
	if !ok || p.Exited() {
		t.Fatalf("%s: %s (exited: %v)\n%s", p.Name(), what, p.Exited(), p.LogTail(30))
	}
}

// logHas is whether a line of p's log contains every one of parts.
func logHas(p *childproc.Process, parts ...string) bool {
	b, err := os.ReadFile(p.LogPath())
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(line, s)
		}
		if all {
			return true
		}
	}
	return false
}

// The shipped pipeline as a whole (the receivers, the persistent queue
// with its batching, the otlp_http exporter) stopped gracefully, with
// SIGTERM as a drain or a rolling update does, twice: mid-backfill while
// the backend accepts, with an export in flight when the shutdown begins;
// and while the backend refuses, so that the queue holds batches, one of
// them being retried. Started again on the same storage, the backend
// accepting, it delivers every record exactly once.
func TestGracefulRestartsWithThePersistentQueueDeliverEachRecordOnce(t *testing.T) {
	const records = 2000
	r := newQueueRun(t, records, 120) // two pages a second per account
	sink := r.sink
	stop := func(p *childproc.Process) {
		t.Helper()
		begin := time.Now()
		require.NoError(t, p.Stop(60*time.Second), p.LogTail(30))
		t.Logf("%s stopped in %s", p.Name(), time.Since(begin).Round(time.Millisecond))
	}

	// 1. The backend accepts. Once every account is a tenth of the way,
	// the sink holds the next export unanswered; SIGTERM; the sink answers
	// it once the collector's shutdown began, and the collector waits for
	// the answer.
	first := r.start(t, "collector-1")
	waitFor(t, first, 60*time.Second, "every account a tenth of the way", func() bool {
		return r.everyAccountHas(sink.records(), records/10)
	})
	held := sink.holdNext()
	waitFor(t, first, 30*time.Second, "an export arrives", func() bool {
		select {
		case <-held.arrived:
			return true
		default:
			return false
		}
	})
	stopped := make(chan error, 1)
	go func() { stopped <- first.Stop(60 * time.Second) }()
	require.Eventually(t, func() bool { return logHas(first, "Starting shutdown...") }, 30*time.Second, 50*time.Millisecond,
		"the collector did not begin its shutdown: %s", first.LogTail(30))
	held.answer()
	require.NoError(t, <-stopped, first.LogTail(30))
	atFirst := sink.records()
	for _, a := range r.accounts {
		require.Less(t, byHost(atFirst)[a.host], records, "%s had delivered everything before the stop: not mid-backfill", a.receiver)
	}
	t.Logf("first stop: %v delivered, the export in flight at the stop had %d records", byHost(atFirst), held.records)

	// 2. The backend refuses every export. Once the receivers have handed
	// the queue pages of their own (two each) and an export was refused,
	// SIGTERM: the queue holds them, and one batch is being retried.
	sink.refuse(true)
	_, refusedBefore := sink.counts()
	second := r.start(t, "collector-2")
	waitFor(t, second, 60*time.Second, "pages queued and an export refused", func() bool {
		_, refused := sink.counts()
		return refused > refusedBefore &&
			r.metric("otelcol_receiver_accepted_log_records", map[string]string{"receiver": r.accounts[0].receiver}) >= 200 &&
			r.metric("otelcol_receiver_accepted_log_records", map[string]string{"receiver": r.accounts[1].receiver}) >= 200
	})
	queued := r.metric("otelcol_exporter_queue_size", map[string]string{"exporter": "otlp_http"})
	require.Positive(t, queued, "the queue holds nothing at the stop")
	stop(second)
	require.Len(t, sink.records(), len(atFirst), "the backend accepted records while it refused")
	_, refused := sink.counts()
	t.Logf("second stop: the queue held %.0f pages, the sink had refused %d exports", queued, refused-refusedBefore)

	// 3. The backend accepts again: the batch refused at the stop is put
	// back in the queue, and every record arrives, each once.
	sink.refuse(false)
	third := r.start(t, "collector-3")
	waitFor(t, third, 90*time.Second, "every record delivered", func() bool {
		return r.everyAccountHas(sink.records(), records)
	})
	stop(third)
	assert.True(t, logHas(third, "Moved items for dispatching back to queue"),
		"the batch being retried at the stop was not put back in the queue")
	got := sink.records()
	r.assertEachOnce(t, got)
	accepted, refused := sink.counts()
	t.Logf("%d records in %d exports accepted, %d refused; %v", len(got), accepted, refused, byHost(got))
}

// The shipped pipeline with a queue of 5 pages, the backend refusing every
// export: the queue fills, the exporter refuses the next page with
// "sending queue is full" (a retryable error) and the receivers keep their
// checkpoints and retry it. Stopped gracefully while the queue is full and
// started again, the backend still refusing, then accepting: every record
// arrives exactly once. A page refused was neither checkpointed (its
// records would be missing) nor delivered twice.
func TestAFullQueueRefusesPagesAndTheReceiversRetryThem(t *testing.T) {
	const (
		records   = 1000
		queueSize = 5
	)
	r := newQueueRun(t, records, 120)
	sink := r.sink
	dig(r.cfg, "exporters", "otlp_http", "sending_queue").(map[string]any)["queue_size"] = queueSize
	full := func(p *childproc.Process) bool {
		for _, a := range r.accounts {
			if !logHas(p, retryingPage, `"otelcol.component.id": "`+a.receiver+`"`, `"error": "`+queueIsFull+`"`) {
				return false
			}
		}
		return true
	}
	exporter := map[string]string{"exporter": "otlp_http"}

	// The backend refuses: the queue fills and refuses pages of both
	// receivers, which retry them.
	sink.refuse(true)
	first := r.start(t, "collector-1")
	waitFor(t, first, 60*time.Second, "both receivers retry a page the full queue refused", func() bool { return full(first) })
	assert.Equal(t, float64(queueSize), r.metric("otelcol_exporter_queue_capacity", exporter), "queue capacity")
	assert.Equal(t, float64(queueSize), r.metric("otelcol_exporter_queue_size", exporter), "pages in the full queue")
	failed := r.metric("otelcol_exporter_enqueue_failed_log_records", exporter)
	assert.Positive(t, failed, "records the full queue refused")
	for _, a := range r.accounts {
		handed := r.metric("otelcol_receiver_accepted_log_records", map[string]string{"receiver": a.receiver})
		assert.Less(t, handed, float64(records), "%s had handed over every record: no backlog left to hold back", a.receiver)
	}
	require.NoError(t, first.Stop(60*time.Second), first.LogTail(30))
	require.Empty(t, sink.records(), "the backend accepted records while it refused")

	// Started again on the same storage: the queue is still full and
	// refuses pages again; then the backend accepts.
	second := r.start(t, "collector-2")
	waitFor(t, second, 60*time.Second, "both receivers retry a page the full queue refused", func() bool { return full(second) })
	sink.refuse(false)
	waitFor(t, second, 90*time.Second, "every record delivered", func() bool {
		return r.everyAccountHas(sink.records(), records)
	})
	require.NoError(t, second.Stop(60*time.Second), second.LogTail(30))
	got := sink.records()
	r.assertEachOnce(t, got)
	accepted, refused := sink.counts()
	t.Logf("the full queue refused %.0f records before the stop; %d records in %d exports accepted, %d refused", failed, len(got), accepted, refused)
}
