package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// checkLine finds the line of one check in doctor's output and returns its
// result (PASS, WARN, FAIL, SKIP) and text.
func checkLine(t *testing.T, out, name string) (string, string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(PASS|WARN|FAIL|SKIP)  ` + regexp.QuoteMeta(name) + `: +(.*)$`)
	m := re.FindStringSubmatch(out)
	require.NotNil(t, m, "no line for the check %q in:\n%s", name, out)
	return m[1], m[2]
}

// assertCheck asserts a check's result and that its text holds each of
// want.
func assertCheck(t *testing.T, out, name, result string, want ...string) {
	t.Helper()
	got, text := checkLine(t, out, name)
	assert.Equal(t, result, got, "%s: %s", name, text)
	for _, w := range want {
		assert.Contains(t, text, w, name)
	}
}

// doctorAPI is a simulator with records, the last a minute old.
func doctorAPI(t *testing.T, opts zendesksim.Options) *testAPI {
	t.Helper()
	a := newTestAPI(t, opts)
	now := time.Now()
	a.sim.Generate(20, now.Add(-time.Hour), now.Add(-time.Minute))
	return a
}

func (a *testAPI) doctor(t *testing.T, args ...string) result {
	t.Helper()
	return a.run(t, append([]string{"doctor", "--max-requests-per-minute", "0"}, args...)...)
}

func TestDoctorPassesOnTheSimulator(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{Faults: zendesksim.Faults{BudgetPerMinute: 400}})
	r := a.doctor(t)
	require.Equal(t, exitOK, r.code, "%s%s", r.stdout, r.stderr)
	assertCheck(t, r.stdout, "API reachable", checkPass, "answered HTTP 200")
	assertCheck(t, r.stdout, "credentials", checkPass, "accepted")
	assertCheck(t, r.stdout, "permission and plan", checkPass)
	assertCheck(t, r.stdout, "records readable", checkPass, "newest record created", "ago")
	assertCheck(t, r.stdout, "rate limit", checkPass, "allows 400 requests a minute", "suggested max_requests_per_minute: 100")
	assertCheck(t, r.stdout, "API clock", checkPass, "agrees")
	assert.NotContains(t, r.stdout, "FAIL")
	assert.Empty(t, r.stderr)
}

func TestDoctorWrongTokenExits2(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	a.env[envAPIToken] = wrongToken
	r := a.doctor(t)
	require.Equal(t, exitAuth, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkPass, "HTTP 401")
	assertCheck(t, r.stdout, "credentials", checkFail, "refused (401)")
	assert.Contains(t, r.stdout, "hint:")
	assertCheck(t, r.stdout, "records readable", checkSkip)
}

func TestDoctorForbiddenExits2(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	a.sim.SetForbidden(true)
	r := a.doctor(t)
	require.Equal(t, exitAuth, r.code, r.stdout)
	assertCheck(t, r.stdout, "credentials", checkPass)
	assertCheck(t, r.stdout, "permission and plan", checkFail, "forbidden (403)")
	assert.Contains(t, r.stdout, "Enterprise")
}

func TestDoctorUnreachableAPI(t *testing.T) {
	closed := httptest.NewServer(nil)
	closed.Close()
	a := doctorAPI(t, zendesksim.Options{})
	a.env[envEndpoint] = closed.URL
	r := a.doctor(t, "--timeout", "2s")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkFail, "connection refused")
	assert.Contains(t, r.stdout, "HTTPS_PROXY")
	assertCheck(t, r.stdout, "credentials", checkSkip)
}

// noProxy skips a test of doctor's own DNS and TLS checks when the
// environment names a proxy: through one, doctor resolves nothing itself.
func noProxy(t *testing.T, endpoint string) {
	t.Helper()
	u, err := url.Parse(endpoint)
	require.NoError(t, err)
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		t.Skipf("SKIPPED: the environment names a proxy for %s (%v, %v)", endpoint, p, err)
	}
}

// A host that does not resolve (.invalid never does, RFC 6761) fails
// "API reachable" with the DNS hint, before any request, and fast: the
// README's "the API reachable (DNS, ...)". With a resolver that answers,
// the failure is its NXDOMAIN; with none, the --timeout bounds it.
func TestDoctorHostThatDoesNotResolve(t *testing.T) {
	const endpoint = "https://nonexistent.invalid"
	noProxy(t, endpoint)
	a := doctorAPI(t, zendesksim.Options{})
	a.env[envEndpoint] = endpoint
	start := time.Now()
	r := a.doctor(t, "--timeout", "3s")
	took := time.Since(start)
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkFail, "nonexistent.invalid does not resolve")
	assert.Contains(t, r.stdout, "hint:                check the subdomain or endpoint, and DNS (/etc/resolv.conf)")
	for _, n := range []string{"credentials", "permission and plan", "records readable", "rate limit", "API clock"} {
		assertCheck(t, r.stdout, n, checkSkip)
	}
	assert.Less(t, took, 5*time.Second, "the failure is bounded by --timeout, without the client's retries")
}

// A server whose certificate the client does not trust (httptest's own,
// on 127.0.0.1) fails "API reachable" with the TLS hint, not the network
// one: the README's "the API reachable (..., TLS, ...)".
func TestDoctorCertificateNotTrusted(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	ts := httptest.NewUnstartedServer(a.sim)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the client refuses
	ts.StartTLS()
	t.Cleanup(ts.Close)
	noProxy(t, ts.URL)
	a.env[envEndpoint] = ts.URL
	r := a.doctor(t, "--timeout", "10s")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkFail, "certificate")
	assert.Contains(t, r.stdout, "hint:                the server's certificate did not verify: check the tls settings (ca_file, ca_pem)")
	assert.NotContains(t, r.stdout, "HTTPS_PROXY", "the network hint is not the TLS one")
	assertCheck(t, r.stdout, "credentials", checkSkip)
	assert.Zero(t, a.sim.Stats().Requests, "no request got through the handshake")
}

func TestDoctorAPIThatDoesNotAnswer(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{Faults: zendesksim.Faults{PSlow: 1, SlowDelay: time.Hour}})
	r := a.doctor(t, "--timeout", "1s")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkFail)
	assert.Contains(t, r.stdout, "no answer within 1s")
}

func TestDoctorServerErrors(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{Faults: zendesksim.Faults{P500: 1}})
	r := a.doctor(t, "--timeout", "3s")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkPass, "HTTP 500")
	assertCheck(t, r.stdout, "records readable", checkFail, "500")
}

func TestDoctorClockSkew(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{ClockOffset: -10 * time.Minute})
	r := a.doctor(t)
	require.Equal(t, exitOK, r.code, "a warning is no failure: %s", r.stdout)
	// The Date header has whole seconds: 10m0s or 10m1s.
	assertCheck(t, r.stdout, "API clock", checkWarn, "the local clock is 10m", "ahead of the API's")
	assert.Contains(t, r.stdout, "NTP")
}

func TestDoctorWithoutConnection(t *testing.T) {
	r := runCLI(t, map[string]string{}, "doctor")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "connection", checkFail, "no account given")
}

// writeConfig writes a collector configuration for doctor --config.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

const crashSafeConfig = `
extensions:
  file_storage:
    directory: /var/lib/otelcol/zendesk
    fsync: true
receivers:
  zendesk_audit_logs/acme:
    subdomain: acme
    email: admin@acme.com
    api_token: ${env:ZENDESK_API_TOKEN}
    storage: file_storage
processors:
  memory_limiter: {check_interval: 1s, limit_mib: 256}
exporters:
  otlp_http:
    endpoint: https://otlp.example.com
    sending_queue: {storage: file_storage}
    retry_on_failure: {max_elapsed_time: 0s}
  debug: {}
service:
  extensions: [file_storage]
  pipelines:
    logs:
      receivers: [zendesk_audit_logs/acme]
      processors: [memory_limiter]
      exporters: [otlp_http, debug]
`

// A collector that is not in PATH: the configuration is parsed only.
func TestDoctorConfigCrashSafe(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	r := a.doctor(t, "--config", writeConfig(t, crashSafeConfig), "--collector", fakeCollector(t, 0))
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkPass, "validate accepts it")
	assertCheck(t, r.stdout, "pipeline crash-safe", checkPass, "zendesk_audit_logs/acme")
}

func TestDoctorConfigWarnsOnBatchAndMemoryQueue(t *testing.T) {
	cfg := strings.NewReplacer(
		"processors: [memory_limiter]", "processors: [memory_limiter, batch]",
		"sending_queue: {storage: file_storage}", "sending_queue: {queue_size: 100}",
		"fsync: true", "fsync: false",
		"processors:\n", "processors:\n  batch: {}\n",
		"    storage: file_storage\n", "",
	).Replace(crashSafeConfig)
	a := doctorAPI(t, zendesksim.Options{})
	r := a.doctor(t, "--config", writeConfig(t, cfg), "--collector", fakeCollector(t, 0))
	require.Equal(t, exitOK, r.code, "warnings are no failure: %s", r.stdout)
	_, text := checkLine(t, r.stdout, "pipeline crash-safe")
	assertCheck(t, r.stdout, "pipeline crash-safe", checkWarn, "batch processor batch", "exporter otlp_http queues in memory")
	assert.NotContains(t, text, "debug", "the debug exporter is synchronous")
	assert.NotContains(t, text, "fsync", "fsync matters for what is stored, and nothing is")
	assert.Contains(t, text, "no storage", "receiver without storage")
}

// A persistent queue on a file_storage without fsync: true (fsync: false,
// or no fsync at all) gets doctor's fsync warning, and only it, also when
// the queue has a file_storage of its own and the receiver's checkpoint
// one with fsync: the README's "a crash-safe pipeline (persistent queue
// or synchronous exporter, fsync)".
func TestDoctorConfigWarnsOnFileStorageWithoutFsync(t *testing.T) {
	queueOwnStorage := strings.NewReplacer(
		"extensions:\n", "extensions:\n  file_storage/queue:\n    directory: /var/lib/otelcol/queue\n    fsync: false\n",
		"sending_queue: {storage: file_storage}", "sending_queue: {storage: file_storage/queue}",
		"extensions: [file_storage]", "extensions: [file_storage, file_storage/queue]",
	).Replace(crashSafeConfig)
	a := doctorAPI(t, zendesksim.Options{})
	for _, c := range []struct{ name, cfg, extension string }{
		{"fsync: false", strings.Replace(crashSafeConfig, "fsync: true", "fsync: false", 1), "file_storage"},
		{"no fsync", strings.Replace(crashSafeConfig, "    fsync: true\n", "", 1), "file_storage"},
		{"the queue's own storage", queueOwnStorage, "file_storage/queue"},
	} {
		require.NotEqual(t, crashSafeConfig, c.cfg, c.name)
		r := a.doctor(t, "--config", writeConfig(t, c.cfg), "--collector", fakeCollector(t, 0))
		require.Equal(t, exitOK, r.code, "%s: a warning is no failure: %s", c.name, r.stdout)
		assertCheck(t, r.stdout, "pipeline crash-safe", checkWarn,
			"extension "+c.extension+" has no fsync: true, so a power loss may lose its last writes")
		_, text := checkLine(t, r.stdout, "pipeline crash-safe")
		assert.NotContains(t, text, ";", "%s: the fsync warning is the only problem: %s", c.name, text)
		assert.Contains(t, r.stdout, "fsync: true\n", "%s: the hint names the fix", c.name)
	}
}

func TestDoctorConfigRefused(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	r := a.doctor(t, "--config", writeConfig(t, crashSafeConfig), "--collector", fakeCollector(t, 1))
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkFail, "refused it", "error: unknown field")

	r = a.doctor(t, "--config", writeConfig(t, crashSafeConfig), "--collector", filepath.Join(t.TempDir(), "missing"))
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkFail, "cannot run")

	r = a.doctor(t, "--config", writeConfig(t, "receivers: [\n"))
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkFail, "is not YAML")

	noReceiver := strings.ReplaceAll(crashSafeConfig, "receivers: [zendesk_audit_logs/acme]", "receivers: [otlp]")
	r = a.doctor(t, "--config", writeConfig(t, noReceiver), "--collector", fakeCollector(t, 0))
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "pipeline crash-safe", checkFail, "no logs pipeline uses a zendesk_audit_logs receiver")
}

// The built collector, when there is one, validates the README's
// configuration (as doctor runs it) and refuses a broken one.
func TestDoctorConfigWithTheBuiltCollector(t *testing.T) {
	collector, err := filepath.Abs(filepath.Join("..", "..", "_build", "otelcol-zendesk"))
	require.NoError(t, err)
	if _, err := os.Stat(collector); err != nil {
		t.Skipf("SKIPPED: the built collector %s is missing: run make build", collector)
	}
	a := doctorAPI(t, zendesksim.Options{})
	t.Setenv("ZENDESK_API_TOKEN", "x") // the ${env:...} of the configuration, in doctor's own environment
	cfg := strings.ReplaceAll(crashSafeConfig, "/var/lib/otelcol/zendesk", t.TempDir())
	r := a.doctor(t, "--config", writeConfig(t, cfg), "--collector", collector)
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkPass)
	r = a.doctor(t, "--config", writeConfig(t, strings.Replace(cfg, "storage: file_storage\n", "storage: file_storage\n    pol_interval: 1m\n", 1)), "--collector", collector)
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "config valid", checkFail, "pol_interval")
}

// fakeCollector is a script that plays the collector's validate: it
// exits with code, and says why when it refuses.
func fakeCollector(t *testing.T, code int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "otelcol")
	script := "#!/bin/sh\n"
	if code != 0 {
		script += "echo 'Error: failed to get config: cannot unmarshal the configuration: error: unknown field' >&2\n"
	}
	script += "exit " + string(rune('0'+code)) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

func TestDoctorCheckpoint(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	dir := t.TempDir()

	// A receiver without a storage file: a typo, or one that never ran.
	r := a.doctor(t, "--storage-dir", dir)
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "checkpoint", checkFail, "receiver zendesk_audit_logs has no checkpoint in")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "doctor leaves no storage file behind")

	recent := time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	require.Equal(t, exitOK, runCLI(t, nil, "checkpoint", "set", "--create", "--storage-dir", dir, "--receiver", "zendesk_audit_logs/acme", "--time", recent).code)
	// The receiver of the configuration is the one checked.
	r = a.doctor(t, "--storage-dir", dir, "--config", writeConfig(t, crashSafeConfig), "--collector", fakeCollector(t, 0))
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "checkpoint", checkPass, "zendesk_audit_logs/acme is at "+recent, "behind now")

	old := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	require.Equal(t, exitOK, runCLI(t, nil, "checkpoint", "set", "--create", "--storage-dir", dir, "--time", old).code)
	r = a.doctor(t, "--storage-dir", dir)
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "checkpoint", checkWarn, "zendesk_audit_logs is at "+old)

	// A running collector holds the storage.
	_, closeClient := openAsReceiver(t, dir, "zendesk_audit_logs")
	defer closeClient()
	r = a.doctor(t, "--storage-dir", dir)
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "checkpoint", checkWarn, "locked")
}

// With an OAuth client, doctor asks the token endpoint first: a refused
// client exits 2 like refused credentials, and no secret is printed
// (runCLI checks).
func TestDoctorOAuthClient(t *testing.T) {
	a := newOAuthAPI(t)
	r := a.doctor(t)
	require.Equal(t, exitOK, r.code, r.stdout)
	assertCheck(t, r.stdout, "OAuth client", checkPass, "issued an access token")
	assertCheck(t, r.stdout, "credentials", checkPass, "accepted")

	a.env[envOAuthClientSecret] = "Wrong-Secret-99"
	r = a.doctor(t)
	require.Equal(t, exitAuth, r.code, r.stdout)
	assertCheck(t, r.stdout, "OAuth client", checkFail)
	assertCheck(t, r.stdout, "API reachable", checkSkip)
	assert.Equal(t, 1, strings.Count(r.stdout, "Zendesk refused the OAuth client"), "the hint once, on its own line:\n%s", r.stdout)
	assert.Contains(t, r.stdout, "hint:                Zendesk refused the OAuth client")
	assert.NotContains(t, r.stdout, "Wrong-Secret-99")
	assert.NotContains(t, r.stdout, testClientSecret)
}

// A stored checkpoint the receiver cannot use stops it: it reads nothing
// (README: Troubleshooting, "Not polling"), since reading from its
// configured start would skip records. doctor's hint says so, and names
// the two fixes; it does not say the receiver starts over.
func TestDoctorDamagedCheckpointHintSaysTheReceiverReadsNothing(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{})
	dir := t.TempDir()
	client, closeFn := openAsReceiver(t, dir, "zendesk_audit_logs")
	require.NoError(t, client.Set(t.Context(), checkpoint.Key, []byte(`{"version":9,"second":"2024-05-01T00:00:00Z","ids":[]}`)))
	closeFn()

	r := a.doctor(t, "--storage-dir", dir)
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "checkpoint", checkFail, "cannot be used", "version 9")
	assert.Contains(t, r.stdout, "hint:                the receiver reads nothing while it is stored")
	assert.Contains(t, r.stdout, "checkpoint set")
	assert.Contains(t, r.stdout, "checkpoint reset")
	assert.NotContains(t, r.stdout, "ignores it")
}

// An answer that is neither a page nor a refusal (a proxy's 502 during
// an outage, a 5xx, a 429) says nothing of the credentials: doctor does
// not pass them, nor the permission, on such an answer; here the token is
// even a wrong one.
func TestDoctorDoesNotPassTheCredentialsOnAnAnswerThatIsNoVerdict(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	}))
	t.Cleanup(ts.Close)
	a := doctorAPI(t, zendesksim.Options{})
	a.env[envEndpoint] = ts.URL
	a.env[envAPIToken] = wrongToken
	r := a.doctor(t, "--timeout", "2s")
	require.Equal(t, exitFail, r.code, r.stdout)
	assertCheck(t, r.stdout, "API reachable", checkPass, "HTTP 502")
	assertCheck(t, r.stdout, "credentials", checkSkip, "HTTP 502")
	assertCheck(t, r.stdout, "permission and plan", checkSkip)
	assertCheck(t, r.stdout, "records readable", checkFail, "502")
	assert.NotContains(t, r.stdout, "accepted")
}

// Ctrl-C (or SIGTERM) while doctor waits for the API ends the run as
// interrupted: no check fails for it, and no hint blames the network, the
// DNS or the proxy for the user's own interrupt.
func TestDoctorInterruptedSaysSoAndFailsNoCheck(t *testing.T) {
	a := doctorAPI(t, zendesksim.Options{Faults: zendesksim.Faults{PSlow: 1, SlowDelay: time.Hour}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"doctor", "--max-requests-per-minute", "0"}, func(k string) string { return a.env[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return a.sim.Stats().Requests > 0 }, 10*time.Second, 10*time.Millisecond)
	cancel() // what signal.NotifyContext does on Ctrl-C
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("doctor did not end on its interrupt")
	}
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr.String(), "zendesk-audit: interrupted")
	assert.NotContains(t, stdout.String(), "FAIL", "an interrupt is no failed check:\n%s", stdout.String())
	assert.NotContains(t, stdout.String(), "HTTPS_PROXY")
}
