package main

// The variant `store`: the collector under test (the queue setup) writes
// into VictoriaLogs, the reference log store, instead of a sink
// collector. The sink outage of the schedule becomes a SIGKILL of
// VictoriaLogs right after it accepted an export, and its restart on the
// same data directory and port: VictoriaLogs acknowledges records before
// they are on disk (-inmemoryDataFlushInterval, 5 s by default), so the
// kill loses what it had accepted and not yet flushed, which the
// collector has checkpointed. The run then measures that loss with its
// own accounting (the ids the proxy saw VictoriaLogs accept, against the
// ids VictoriaLogs holds after a clean restart) and requires
// `zendesk-audit reconcile --victorialogs ... --resend ...` to find
// exactly those records and send them again, and a second reconcile to
// find nothing missing.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// storeResult is what the variant store adds to the summary.
type storeResult struct {
	// Lost are the ids the simulator has that VictoriaLogs did not hold
	// after its kill and a clean restart, though every one of them was
	// accepted by it: the e2e's own accounting.
	Lost int
	// LostUnexplained counts lost ids VictoriaLogs had not accepted
	// before its SIGKILL: a loss the kill does not explain.
	LostUnexplained int
	// Found and Reconciled are the first reconcile's missing and re-sent
	// counts; MissingAfter the second reconcile's missing count.
	Found        int
	Reconciled   int
	MissingAfter int
	// Codes are the exit codes of the two reconcile runs.
	Codes [2]int
	// StoreDuplicates are the log records the store holds beyond one per
	// id after the repair.
	StoreDuplicates int
	AckErrors       int // exports accepted whose ids could not be read
}

// storeVerdict lists why the store part failed.
func (s *storeResult) verdict() []string {
	var why []string
	if s.Lost == 0 {
		why = append(why, "the SIGKILL of VictoriaLogs lost nothing: reconcile was not put to the test")
	}
	if s.LostUnexplained > 0 {
		why = append(why, fmt.Sprintf("%d records lost by the store had not been accepted by it before its SIGKILL", s.LostUnexplained))
	}
	if s.Found != s.Lost {
		why = append(why, fmt.Sprintf("reconcile found %d missing records where the store lost %d", s.Found, s.Lost))
	}
	if s.Reconciled != s.Lost {
		why = append(why, fmt.Sprintf("reconcile re-sent %d records where the store lost %d", s.Reconciled, s.Lost))
	}
	if want := min(s.Lost, 1) * exitMissingCode; s.Codes[0] != want {
		why = append(why, fmt.Sprintf("the first reconcile exited %d, want %d", s.Codes[0], want))
	}
	if s.MissingAfter != 0 || s.Codes[1] != 0 {
		why = append(why, fmt.Sprintf("the second reconcile found %d records missing (exit %d)", s.MissingAfter, s.Codes[1]))
	}
	if s.AckErrors > 0 {
		why = append(why, fmt.Sprintf("%d exports VictoriaLogs accepted could not be read for ids", s.AckErrors))
	}
	return why
}

// exitMissingCode is zendesk-audit's exit code for records missing.
const exitMissingCode = 3

// startVictoriaLogs starts VictoriaLogs on r.sinkPort (drawn on the first
// start, the same on a restart) with its data in <workdir>/victorialogs.
func (r *runner) startVictoriaLogs(ctx context.Context) error {
	if r.sinkPort == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		r.sinkPort = port
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.sinkPort))
	p, err := r.sup.Start("victoria-logs", r.opts.victoriaLogs, []string{
		"-storageDataPath=" + r.path("victorialogs"),
		"-httpListenAddr=" + addr,
	}, r.path("victorialogs.log"), nil)
	if err != nil {
		return err
	}
	r.sinkP = p
	deadline := time.Now().Add(60 * time.Second)
	for {
		if vlHealthy(ctx, "http://"+addr) {
			r.logf("victoria-logs listening on %s (pid %d)", addr, p.Pid())
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("victoria-logs exited (%s) before answering on %s; see %s:\n%s", p.ExitStatus(), addr, r.path("victorialogs.log"), logTail(p, 10))
		}
		if time.Now().After(deadline) {
			_ = p.Kill(5 * time.Second)
			return fmt.Errorf("victoria-logs does not answer on %s/health after 60s; see %s", addr, r.path("victorialogs.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func vlHealthy(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (r *runner) vlURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(r.sinkPort))
}

// vlAckWait bounds the wait for an export to land before the kill.
const vlAckWait = 10 * time.Second

// killVictoriaLogs SIGKILLs VictoriaLogs right after it accepted an
// export of records it did not have (they are then in memory only), and
// notes which ids it had accepted by then.
func (r *runner) killVictoriaLogs(ctx context.Context) error {
	ack := r.proxy.nextNewAck()
	how := "right after it accepted an export of new records"
	select {
	case <-ack:
	case <-time.After(vlAckWait):
		how = fmt.Sprintf("at once: no export within %s", vlAckWait)
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if err := r.sinkP.Kill(10 * time.Second); err != nil {
		return err
	}
	r.ackedBeforeStoreKill = r.proxy.ackedIDs()
	r.logf("SIGKILLed victoria-logs %s (%d ids accepted so far)", how, len(r.ackedBeforeStoreKill))
	return nil
}

// vlIDs reads the id of every record VictoriaLogs holds, repeats
// included.
func (r *runner) vlIDs(ctx context.Context) (sinkContent, error) {
	var c sinkContent
	form := url.Values{"query": {`* | fields "` + uidAttribute + `", "` + idAttribute + `"`}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.vlURL()+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return c, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, fmt.Errorf("querying VictoriaLogs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("querying VictoriaLogs: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec map[string]string
		if err := json.Unmarshal(line, &rec); err != nil {
			return c, fmt.Errorf("VictoriaLogs' answer: %w", err)
		}
		c.Records++
		id, err := strconv.ParseInt(rec[idAttribute], 10, 64)
		if err != nil {
			c.NoID++
			continue
		}
		if rec[uidAttribute] != rec[idAttribute] {
			c.BadUID++
		}
		c.IDs = append(c.IDs, id)
	}
	return c, sc.Err()
}

// waitSearchable polls VictoriaLogs until it holds want distinct ids or
// the timeout passes (records take about a second to become searchable).
func (r *runner) waitSearchable(ctx context.Context, want int, timeout time.Duration) (sinkContent, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := r.vlIDs(ctx)
		if err != nil {
			return c, err
		}
		if distinct(c.IDs) >= want || time.Now().After(deadline) {
			return c, nil
		}
		if err := r.pause(ctx, 500*time.Millisecond); err != nil {
			return c, err
		}
	}
}

func distinct(ids []int64) int {
	s := slices.Clone(ids)
	slices.Sort(s)
	return len(slices.Compact(s))
}

// finishStore runs after the drain, with the collector and VictoriaLogs
// stopped (SIGTERM: VictoriaLogs flushes). It restarts VictoriaLogs,
// measures what it lost, runs reconcile twice and returns the store's
// final content.
func (r *runner) finishStore(ctx context.Context, expected []int64) (sinkContent, *storeResult, error) {
	res := &storeResult{}
	r.proxy.mu.Lock()
	res.AckErrors = r.proxy.ackErrs
	r.proxy.mu.Unlock()
	if err := r.startVictoriaLogs(ctx); err != nil {
		return sinkContent{}, nil, err
	}
	before, err := r.vlIDs(ctx)
	if err != nil {
		return sinkContent{}, nil, err
	}
	held := slices.Clone(before.IDs)
	slices.Sort(held)
	var lost []int64
	for _, id := range expected {
		if _, ok := slices.BinarySearch(held, id); !ok {
			lost = append(lost, id)
		}
	}
	for _, id := range lost {
		if _, ok := slices.BinarySearch(r.ackedBeforeStoreKill, id); !ok {
			res.LostUnexplained++
		}
	}
	res.Lost = len(lost)
	r.logf("the store holds %d log records, %d distinct ids; it lost %d of the %d records (all accepted by it: the collector has checkpointed them): %s",
		before.Records, distinct(before.IDs), res.Lost, len(expected), sampleIDs(lost, 10))

	// reconcile as an operator runs it: the account's budget, a window
	// around everything, the store's own query, --resend into the store.
	// The simulator's error faults are turned off (429 with Retry-After
	// stays): reconcile reports a failure after five attempts, and that
	// is for a CronJob to retry, not for this check.
	if err := r.admin.setFaults(ctx, `{"p429":0.04,"retry_after":"1s","latency":"50ms","budget_per_minute":600}`); err != nil {
		return sinkContent{}, nil, err
	}
	since := time.Now().Add(-r.opts.backlog - 2*time.Hour).UTC().Truncate(time.Second)
	until := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	args := []string{"reconcile", "--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339),
		"--max-requests-per-minute", "600", "--victorialogs", r.vlURL(), "--where", "server.address:=127.0.0.1", "--max-listed", "20"}
	first, code, err := r.reconcile(ctx, append(slices.Clone(args), "--resend", r.vlURL()+"/insert/opentelemetry"), "reconcile-1.txt")
	if err != nil {
		return sinkContent{}, nil, err
	}
	res.Codes[0] = code
	res.Found, res.Reconciled = first["missing"], first["resent"]
	if _, err := r.waitSearchable(ctx, len(expected), 30*time.Second); err != nil {
		return sinkContent{}, nil, err
	}
	second, code, err := r.reconcile(ctx, args, "reconcile-2.txt")
	if err != nil {
		return sinkContent{}, nil, err
	}
	res.Codes[1] = code
	res.MissingAfter = second["missing"]
	after, err := r.vlIDs(ctx)
	if err != nil {
		return sinkContent{}, nil, err
	}
	res.StoreDuplicates = len(after.IDs) - distinct(after.IDs)
	return after, res, nil
}

// reconcile runs zendesk-audit with args, its report saved in the work
// directory, and returns the numbers of its last line and its exit code.
func (r *runner) reconcile(ctx context.Context, args []string, out string) (map[string]int, int, error) {
	cmd := exec.CommandContext(ctx, r.opts.zendeskAudit, args...)
	cmd.Env = append(os.Environ(), "ZENDESK_ENDPOINT="+r.simURL, "ZENDESK_EMAIL="+e2eEmail, "ZENDESK_API_TOKEN="+e2eToken,
		"ZENDESK_SUBDOMAIN=", "ZENDESK_OAUTH_TOKEN=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	_ = os.WriteFile(r.path(out), append(stdout.Bytes(), stderr.Bytes()...), 0o644)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return nil, 0, fmt.Errorf("running zendesk-audit reconcile: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "reconcile ") {
		return nil, code, fmt.Errorf("zendesk-audit reconcile exited %d without its summary line; see %s:\n%s", code, r.path(out), stderr.String())
	}
	nums := map[string]int{}
	for _, kv := range strings.Fields(last)[1:] {
		k, v, _ := strings.Cut(kv, "=")
		if n, err := strconv.Atoi(v); err == nil {
			nums[k] = n
		}
	}
	r.logf("zendesk-audit %s (%.1fs, exit %d): %s", strings.Join(args[:1], " "), time.Since(t0).Seconds(), code, last)
	return nums, code, nil
}

// setFaults replaces the simulator's faults (POST /_sim/faults).
func (s *simAdmin) setFaults(ctx context.Context, faultsJSON string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/_sim/faults", strings.NewReader(faultsJSON))
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /_sim/faults: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /_sim/faults: %s", resp.Status)
	}
	return nil
}
