package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/otlpfile"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

const (
	simEmail    = "imagetest@example.com"
	simAPIToken = "imagetest-token"
	// configPath is the image's default configuration path; the test
	// mounts its configurations there and starts the image without
	// arguments, so the image's CMD is what runs.
	configPath = "/etc/otelcol-zendesk/config.yaml"
	// requestsPerMinute paces the backfill (5 pages a second) so that the
	// kill lands in its middle.
	requestsPerMinute = 300
)

// imageTest is one run of the test; cleanup removes what it created.
type imageTest struct {
	opts   options
	docker dockerCLI
	log    io.Writer
	name   string // prefix of container and volume names

	workDir    string
	containers []string
	volume     string
}

// result is what the summary line reports.
type result struct {
	image        string
	sizeBytes    int64
	user         string
	uid          string
	events       int
	killedAt     int // distinct records in the sink when the collector was killed
	killAfter    time.Duration
	killExit     int
	recordsAtEnd int
	duplicates   int
	servedAfter  int // records the simulator served after the restart
	restartTook  time.Duration
	elapsed      time.Duration
	pageSize     int
	versionLabel string
}

func (r result) summary() string {
	return fmt.Sprintf("image-test: PASS image=%s version=%s size=%.1fMB user=%s uid=%s records=%d killed_at=%d (after %s, exit %d) "+
		"restart: served=%d (remaining %d + re-read), all arrived after %s, duplicates=%d (<= page %d) readme_config=valid default_config=valid elapsed=%s",
		r.image, r.versionLabel, float64(r.sizeBytes)/1e6, r.user, r.uid, r.events, r.killedAt, r.killAfter.Round(100*time.Millisecond), r.killExit,
		r.servedAfter, r.events-r.killedAt, r.restartTook.Round(100*time.Millisecond), r.duplicates, r.pageSize, r.elapsed.Round(time.Second))
}

func (t *imageTest) logf(format string, args ...any) {
	fmt.Fprintf(t.log, "image-test: "+format+"\n", args...)
}

func (t *imageTest) run(ctx context.Context) (result, error) {
	start := time.Now()
	res := result{image: t.opts.image, events: t.opts.events, pageSize: t.opts.pageSize}
	v, err := t.docker.run(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil {
		return res, fmt.Errorf("no Docker daemon reachable, the image test cannot run (start dockerd, see the README's \"Running in a container\"): %w", err)
	}
	t.logf("docker daemon %s", v)
	if err := t.checkImage(ctx, &res); err != nil {
		return res, err
	}
	if err := t.makeWorkDir(); err != nil {
		return res, err
	}
	if err := t.validateConfigs(ctx); err != nil {
		return res, err
	}

	// The simulator: a backlog ending two minutes ago (older than the
	// settle delay), served on loopback.
	sim := zendesksim.New(zendesksim.Options{Email: simEmail, APIToken: simAPIToken, Seed: 13})
	now := time.Now()
	want := map[int64]bool{}
	var created []time.Time // of every record, oldest first
	for _, r := range sim.Generate(t.opts.events, now.Add(-2*time.Hour), now.Add(-2*time.Minute)) {
		want[r.ID] = true
		created = append(created, r.CreatedAt)
	}
	slices.SortFunc(created, time.Time.Compare)
	starts := &queryStarts{next: sim}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: starts, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	sinkAddr, err := t.startSink(ctx)
	if err != nil {
		return res, err
	}

	// The collector under test, its checkpoint on a named volume.
	t.volume = t.name + "-state"
	if _, err := t.docker.run(ctx, "volume", "create", t.volume); err != nil {
		return res, err
	}
	colCfg, err := t.writeConfig("collector.yaml", collectorTemplate, collectorParams{
		SimURL: "http://" + ln.Addr().String(), Email: simEmail, APIToken: simAPIToken,
		SinkURL: "http://" + sinkAddr, PageSize: t.opts.pageSize, RequestsPerMinute: requestsPerMinute,
	})
	if err != nil {
		return res, err
	}
	colArgs := []string{"-v", t.volume + ":/var/lib/otelcol", "-v", colCfg + ":" + configPath + ":ro"}

	if err := t.killMidBackfill(ctx, &res, colArgs); err != nil {
		return res, err
	}
	servedAtKill := sim.Stats().RecordsServed
	starts.watch()

	// Again, on the same volume, until every record arrived.
	second := t.name + "-2"
	restartedAt := time.Now()
	if err := t.startContainer(ctx, second, colArgs...); err != nil {
		return res, err
	}
	if err := waitFor(ctx, 2*time.Minute, func() (bool, error) {
		_, distinct, err := readOut(t.outFile())
		if err != nil {
			return false, err
		}
		return distinct >= len(want), t.exitedEarly(ctx, second)
	}); err != nil {
		_, distinct, _ := readOut(t.outFile())
		return res, fmt.Errorf("after the restart, %d of %d records arrived: %w\n%s", distinct, len(want), err, t.docker.logTail(ctx, second))
	}
	res.restartTook = time.Since(restartedAt)
	res.servedAfter = sim.Stats().RecordsServed - servedAtKill
	if _, err := t.docker.run(ctx, "stop", "--time", "20", second); err != nil {
		return res, err
	}
	st, err := t.docker.state(ctx, second)
	if err != nil {
		return res, err
	}
	if st.ExitCode != 0 {
		return res, fmt.Errorf("the restarted collector exited %d on docker stop, want 0\n%s", st.ExitCode, t.docker.logTail(ctx, second))
	}

	final, err := settled(ctx, t.outFile())
	if err != nil {
		return res, err
	}
	if err := checkDelivery(final, want, t.opts.pageSize); err != nil {
		return res, err
	}
	res.recordsAtEnd, _ = otlpfile.Count(final)
	res.duplicates = res.recordsAtEnd - len(want)
	// Read from the checkpoint, not from the start: no list request after
	// the restart starts before the records delivered before the kill,
	// less the page or two the checkpoint may lag behind them (a kill
	// between an export and the checkpoint's write). What it served is
	// not the measure: time slices read their shared seconds twice.
	mark := created[max(res.killedAt-2*t.opts.pageSize, 0)].Truncate(time.Second).Add(-time.Second)
	if first, ok := starts.earliest(); !ok {
		return res, errors.New("no list request after the restart")
	} else if first.Before(mark) {
		return res, fmt.Errorf("after the restart a list request started at %s, before %s (the records delivered before the kill, less two pages): the collector read from the start again", first.Format(time.RFC3339), mark.Format(time.RFC3339))
	}
	res.elapsed = time.Since(start)
	return res, nil
}

// checkImage: the image exists, its user is not root, it has its labels.
func (t *imageTest) checkImage(ctx context.Context, res *result) error {
	info, err := t.docker.inspectImage(ctx, t.opts.image)
	if err != nil {
		return fmt.Errorf("the image %s is missing (run make image): %w", t.opts.image, err)
	}
	res.sizeBytes, res.user = info.Size, info.User
	if !nonRoot(info.User) {
		return fmt.Errorf("the image's user is %q: it must be a non-root uid", info.User)
	}
	res.versionLabel = info.Labels["org.opencontainers.image.version"]
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if info.Labels[l] == "" {
			return fmt.Errorf("the image has no label %s", l)
		}
	}
	return nil
}

// makeWorkDir makes the directory of the configurations (read by the
// containers' user, 10001) and the sink's output directory (written by it).
func (t *imageTest) makeWorkDir() error {
	var err error
	if t.workDir, err = os.MkdirTemp("", "imagetest-"); err != nil {
		return err
	}
	if err := os.Chmod(t.workDir, 0o755); err != nil {
		return err
	}
	out := filepath.Dir(t.outFile())
	if err := os.Mkdir(out, 0o777); err != nil {
		return err
	}
	return os.Chmod(out, 0o777) // past the umask
}

// outFile is the sink's file, as the host sees it.
func (t *imageTest) outFile() string { return filepath.Join(t.workDir, "out", "records.json") }

// startSink starts the image as the sink, OTLP/HTTP in and a file exporter
// out to the mounted directory, and returns its address once it listens.
func (t *imageTest) startSink(ctx context.Context) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg, err := t.writeConfig("sink.yaml", sinkTemplate, sinkParams{Endpoint: addr})
	if err != nil {
		return "", err
	}
	sink := t.name + "-sink"
	if err := t.startContainer(ctx, sink, "-v", filepath.Dir(t.outFile())+":/out", "-v", cfg+":"+configPath+":ro"); err != nil {
		return "", err
	}
	if err := waitFor(ctx, 30*time.Second, func() (bool, error) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil, t.exitedEarly(ctx, sink)
	}); err != nil {
		return "", fmt.Errorf("the sink container did not listen on %s: %w\n%s", addr, err, t.docker.logTail(ctx, sink))
	}
	return addr, nil
}

// killMidBackfill starts the collector, checks the uid its process runs
// as, and `docker kill`s it once about a third of the backlog arrived.
func (t *imageTest) killMidBackfill(ctx context.Context, res *result, colArgs []string) error {
	first := t.name + "-1"
	startedAt := time.Now()
	if err := t.startContainer(ctx, first, colArgs...); err != nil {
		return err
	}
	st, err := t.docker.state(ctx, first)
	if err != nil {
		return err
	}
	if res.uid, err = processUID(st.Pid); err != nil {
		return err
	}
	if res.uid == "0" {
		return errors.New("the collector's process runs as uid 0 in the container")
	}

	killAt := t.opts.events * 3 / 10
	if err := waitFor(ctx, 90*time.Second, func() (bool, error) {
		_, distinct, err := readOut(t.outFile())
		if err != nil {
			return false, err
		}
		return distinct >= killAt, t.exitedEarly(ctx, first)
	}); err != nil {
		return fmt.Errorf("waiting for %d records before the kill: %w\n%s", killAt, err, t.docker.logTail(ctx, first))
	}
	if _, err := t.docker.run(ctx, "kill", first); err != nil {
		return err
	}
	res.killAfter = time.Since(startedAt)
	if st, err = t.docker.state(ctx, first); err != nil {
		return err
	}
	res.killExit = st.ExitCode
	if st.Running || st.ExitCode != 137 {
		return fmt.Errorf("after docker kill the collector's state is running=%t exit=%d, want exit 137", st.Running, st.ExitCode)
	}
	// What the sink holds once its last flush is written.
	atKill, err := settled(ctx, t.outFile())
	if err != nil {
		return err
	}
	_, res.killedAt = otlpfile.Count(atKill)
	if res.killedAt >= t.opts.events {
		return fmt.Errorf("every record had arrived before the kill (%d): the kill was not mid-backfill", res.killedAt)
	}
	t.logf("killed the collector after %s with %d of %d records delivered", res.killAfter.Round(100*time.Millisecond), res.killedAt, t.opts.events)
	return nil
}

// validateConfigs runs `validate` inside the image on the README's
// configuration and on the image's own default configuration.
func (t *imageTest) validateConfigs(ctx context.Context) error {
	readme, err := os.ReadFile(t.opts.readme)
	if err != nil {
		return err
	}
	cfg, err := readmeConfig(readme)
	if err != nil {
		return err
	}
	path := filepath.Join(t.workDir, "readme.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	if out, err := t.docker.run(ctx, "run", "--rm", "--network", "host", "-e", "ZENDESK_OAUTH_CLIENT_SECRET=imagetest",
		"-v", path+":"+configPath+":ro", t.opts.image, "validate", "--config="+configPath); err != nil {
		return fmt.Errorf("the README's configuration fails validate in the image: %w %s", err, out)
	}
	t.logf("the README's configuration passes validate in the image")
	if out, err := t.docker.run(ctx, "run", "--rm", "--network", "host",
		"-e", "ZENDESK_SUBDOMAIN=acme", "-e", "ZENDESK_OAUTH_CLIENT_ID=imagetest-client", "-e", "ZENDESK_OAUTH_CLIENT_SECRET=imagetest",
		"-e", "OTLP_ENDPOINT=https://otlp.example.com", t.opts.image, "validate", "--config="+configPath); err != nil {
		return fmt.Errorf("the image's default configuration fails validate: %w %s", err, out)
	}
	t.logf("the image's default configuration passes validate")
	return nil
}

// writeConfig renders a configuration into the work directory, readable
// by the containers' user.
func (t *imageTest) writeConfig(name string, tmpl *template.Template, params any) (string, error) {
	b, err := render(tmpl, params)
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.workDir, name)
	return path, os.WriteFile(path, b, 0o644)
}

// startContainer starts the image, detached, with the default command,
// as the Kubernetes manifests run it: a read-only root filesystem (only
// the volume and the mounts are writable), no capabilities, no privilege
// escalation.
func (t *imageTest) startContainer(ctx context.Context, name string, args ...string) error {
	runArgs := append([]string{"run", "-d", "--name", name, "--network", "host",
		"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}, args...)
	t.containers = append(t.containers, name)
	if _, err := t.docker.run(ctx, append(runArgs, t.opts.image)...); err != nil {
		return err
	}
	return nil
}

// exitedEarly is an error once the container stopped.
func (t *imageTest) exitedEarly(ctx context.Context, name string) error {
	st, err := t.docker.state(ctx, name)
	if err != nil {
		return err
	}
	if !st.Running {
		return fmt.Errorf("container %s exited with %d", name, st.ExitCode)
	}
	return nil
}

// cleanup removes the containers, the volume and the work directory.
func (t *imageTest) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(t.containers) > 0 {
		_, _ = t.docker.run(ctx, append([]string{"rm", "-f", "-v"}, t.containers...)...)
	}
	if t.volume != "" {
		_, _ = t.docker.run(ctx, "volume", "rm", "-f", t.volume)
	}
	if t.workDir != "" {
		_ = os.RemoveAll(t.workDir)
	}
}

// checkDelivery: every record arrived, none unknown, duplicates within
// one page (the page cut off by the kill).
func checkDelivery(recs []otlpfile.Record, want map[int64]bool, pageSize int) error {
	count := map[int64]int{}
	for _, r := range recs {
		count[r.ID]++
	}
	var missing, unknown []int64
	for id := range want {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id := range count {
		if !want[id] {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(missing)
	slices.Sort(unknown)
	switch {
	case len(missing) > 0:
		return fmt.Errorf("%d records never arrived, e.g. %v", len(missing), missing[:min(5, len(missing))])
	case len(unknown) > 0:
		return fmt.Errorf("%d records the simulator does not have arrived, e.g. %v", len(unknown), unknown[:min(5, len(unknown))])
	}
	if dups := len(recs) - len(want); dups > pageSize {
		return fmt.Errorf("%d duplicates, more than one page (%d)", dups, pageSize)
	}
	return nil
}

// nonRoot reports whether an image's USER is a user other than root.
func nonRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u != "" && u != "0" && u != "root"
}

// processUID is the real uid of a process, from /proc (the container's
// main process as the host sees it).
func processUID(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", fmt.Errorf("reading the uid of the container's process: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0], nil
			}
		}
	}
	return "", fmt.Errorf("no Uid line in /proc/%d/status", pid)
}

func readOut(path string) (records, distinct int, err error) {
	recs, err := otlpfile.Read(path)
	if err != nil {
		return 0, 0, err
	}
	records, distinct = otlpfile.Count(recs)
	return records, distinct, nil
}

// settled reads the sink's file once it stopped growing for a second (the
// sink flushes every 100 ms).
func settled(ctx context.Context, path string) ([]otlpfile.Record, error) {
	var last int64 = -1
	var recs []otlpfile.Record
	err := waitEvery(ctx, time.Second, 30*time.Second, func() (bool, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return false, err
		}
		if fi.Size() != last {
			last = fi.Size()
			return false, nil
		}
		recs, err = otlpfile.Read(path)
		return err == nil, err
	})
	return recs, err
}

// waitFor polls cond every 100 ms until it is true, it returns an error,
// or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	return waitEvery(ctx, 100*time.Millisecond, limit, cond)
}

// waitEvery polls cond every interval until it is true, it returns an
// error, or limit passes.
func waitEvery(ctx context.Context, interval, limit time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s: %w", limit, ctx.Err())
		case <-tick.C:
		}
	}
}

// freePort is a TCP port of 127.0.0.1 that was free a moment ago, for a
// container that must be told its address.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// queryStarts passes requests to the simulator and, once watching, keeps
// the earliest created_at start of the list requests.
type queryStarts struct {
	next     http.Handler
	mu       sync.Mutex
	watching bool
	first    time.Time
}

func (q *queryStarts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if bounds := r.URL.Query()["filter[created_at][]"]; len(bounds) > 0 {
		if t, err := time.Parse(zendesk.TimeFormat, bounds[0]); err == nil {
			q.mu.Lock()
			if q.watching && (q.first.IsZero() || t.Before(q.first)) {
				q.first = t
			}
			q.mu.Unlock()
		}
	}
	q.next.ServeHTTP(w, r)
}

func (q *queryStarts) watch() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.watching = true
}

func (q *queryStarts) earliest() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.first, !q.first.IsZero()
}
