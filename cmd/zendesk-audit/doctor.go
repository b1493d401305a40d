package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/checkpoint"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/metadata"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// errCredentialsRefused is a doctor run in which Zendesk refused the
// credentials (401) or their permission (403): exit code 2. Its lines
// are already printed.
var errCredentialsRefused = errors.New("credentials refused")

// The check results of doctor, one line each.
const (
	checkPass = "PASS"
	checkWarn = "WARN" // works, but not as it should: the exit code stays 0
	checkFail = "FAIL"
	checkSkip = "SKIP" // not run: a check before it failed, or the answer cannot tell
)

// clockSkewWarn is the difference between the local clock and the API's
// beyond which doctor warns.
const clockSkewWarn = 30 * time.Second

// behindWarn is how far behind now a stored checkpoint may be before
// doctor warns: 5 x (poll_interval + settle_delay) at their defaults, the
// alert's threshold (README: Runbook).
const behindWarn = 10 * time.Minute

// defaultCollector is the collector doctor runs `validate` with, looked up
// in PATH when --collector is not given.
const defaultCollector = "otelcol-zendesk"

type doctorOpts struct {
	conn        connFlags
	config      string
	collector   string
	storageDir  string
	storageName string
	receiver    string
	timeout     time.Duration
}

func doctorFlags() (*flag.FlagSet, *doctorOpts) {
	o := &doctorOpts{}
	fs := newFlagSet("doctor")
	o.conn.register(fs)
	fs.StringVar(&o.config, "config", "", "the collector's configuration `FILE`: validate it and check that its pipeline is crash-safe")
	fs.StringVar(&o.collector, "collector", "", "the collector `binary` that validates --config (default: "+defaultCollector+" in PATH; without one the file is only parsed)")
	fs.StringVar(&o.storageDir, "storage-dir", "", "the file_storage extension's `directory`: check the receiver's checkpoint (stop the collector first)")
	fs.StringVar(&o.storageName, "storage", "", "the extension instance: `NAME` for file_storage/NAME")
	fs.StringVar(&o.receiver, "receiver", "", "the receiver's component `ID` whose checkpoint to check (default: the only one of --config, else zendesk_audit_logs)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long the API checks may take in all")
	return fs, o
}

// doctor collects the results of one run.
type doctor struct {
	c       *cli
	ctx     context.Context // the command's: canceled on Ctrl-C or SIGTERM
	failed  bool
	refused bool
}

// report prints one check: its result, name and what it found, then a
// hint on the next line when there is something to do. A detail that
// holds the hint in brackets (an API error's message names its hint)
// leaves it to the hint's line.
func (d *doctor) report(result, name, detail, hint string) {
	if d.ctx.Err() != nil {
		// Interrupted: what a check found since then is the interrupt's
		// doing, and the run ends saying so.
		return
	}
	if hint != "" {
		detail = strings.Replace(detail, " ("+hint+")", "", 1)
	}
	fmt.Fprintf(d.c.stdout, "%s  %-20s %s\n", result, name+":", detail)
	if hint != "" {
		fmt.Fprintf(d.c.stdout, "      %-20s %s\n", "hint:", hint)
	}
	if result == checkFail {
		d.failed = true
	}
}

func (c *cli) cmdDoctor(ctx context.Context, args []string) error {
	const cmd = "doctor"
	fs, o := doctorFlags()
	pos, err := c.parseArgs(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(cmd, "doctor takes no arguments, got %q", pos[0])
	}
	if o.timeout <= 0 {
		return usagef(cmd, "--timeout must be positive, got %s", o.timeout)
	}
	d := &doctor{c: c, ctx: ctx}

	var receivers []string
	if o.config != "" {
		receivers = d.checkConfig(ctx, o)
	}
	// The API: with the connection of the flags and the environment.
	rlHook := &rateLimitSeen{}
	client, err := c.client(cmd, fs, &o.conn, zendesk.Hooks{OnRateLimit: rlHook.observe, OnRequest: rlHook.request})
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		d.report(checkFail, "connection", ue.msg, "give the account and credentials the receiver uses (zendesk-audit help doctor)")
	case err != nil:
		return err
	default:
		apiCtx, cancel := context.WithTimeout(ctx, o.timeout)
		d.checkAPI(apiCtx, client, rlHook, o.timeout)
		cancel()
	}
	if o.storageDir != "" {
		d.checkCheckpoint(ctx, o, receivers)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case d.refused:
		return errCredentialsRefused
	case d.failed:
		return errSilent
	}
	return nil
}

// rateLimitSeen keeps what the last response said of the rate limit, and
// the failure of the last request (the call's own error may only say that
// time ran out while the client retried).
type rateLimitSeen struct {
	rl      zendesk.RateLimit
	seen    bool
	lastErr *zendesk.Error
}

func (r *rateLimitSeen) request(_ string, _ int, err *zendesk.Error) {
	if err != nil && err.Type() != "canceled" {
		r.lastErr = err
	}
}

func (r *rateLimitSeen) observe(rl zendesk.RateLimit) {
	if rl.Limit > 0 || rl.Remaining >= 0 {
		r.rl, r.seen = rl, true
	}
}

// checkAPI reads the newest audit log, and judges from that one request
// (and the retries the client makes) the API's reachability, the
// credentials, the permission, the rate limit and the clocks.
func (d *doctor) checkAPI(ctx context.Context, client *zendesk.Client, rl *rateLimitSeen, timeout time.Duration) {
	base, _ := url.Parse(client.BaseURL())
	host := base.Hostname()
	via := ""
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: base}); err == nil && proxy != nil {
		via = " via proxy " + proxy.Redacted()
	}
	skip := func(names ...string) {
		for _, n := range names {
			d.report(checkSkip, n, "not checked: the check above failed", "")
		}
	}

	if net.ParseIP(host) == nil && via == "" {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			d.report(checkFail, "API reachable", fmt.Sprintf("%s does not resolve: %s", host, err),
				"check the subdomain or endpoint, and DNS (/etc/resolv.conf); behind a proxy, set HTTPS_PROXY")
			skip("credentials", "permission and plan", "records readable", "rate limit", "API clock")
			return
		}
	}

	// An OAuth client: its token first, which every request needs.
	if applies, detail, err := checkOAuthClient(ctx, client); applies {
		if err != nil {
			var ze *zendesk.Error
			hint := fmt.Sprintf("check DNS, the proxy (HTTPS_PROXY, NO_PROXY), and that this host may reach %s:%s", host, port(base))
			if errors.As(err, &ze) && ze.Hint() != "" {
				hint = ze.Hint()
			}
			if zendesk.OAuthClientRefused(err) {
				d.refused = true
			}
			d.report(checkFail, "OAuth client", fmt.Sprintf("%s%s: %s", base.Host, via, err), hint)
			skip("API reachable", "credentials", "permission and plan", "records readable", "rate limit", "API clock")
			return
		}
		d.report(checkPass, "OAuth client", detail, "")
	}

	start := time.Now()
	page, err := client.List(ctx, zendesk.ListParams{PageSize: 1, Sort: zendesk.SortDescending})
	answered := time.Now()
	var ze *zendesk.Error
	if err != nil && !errors.As(err, &ze) {
		ze = &zendesk.Error{Kind: zendesk.KindNetwork, Err: err}
	}
	if err != nil && ze.StatusCode == 0 && rl.lastErr != nil && errors.Is(err, context.DeadlineExceeded) {
		// Time ran out while the client retried: the last request's
		// failure says why.
		ze, err = rl.lastErr, fmt.Errorf("%w (retried until --timeout %s ran out)", rl.lastErr, timeout)
	}
	if err != nil && ze.StatusCode == 0 {
		hint := fmt.Sprintf("check DNS, the proxy (HTTPS_PROXY, NO_PROXY), and that this host may reach %s:%s", host, port(base))
		switch {
		case ze.Kind == zendesk.KindTLS, ze.Kind == zendesk.KindNetwork && ze.Hint() != "":
			hint = ze.Hint()
		case ze.Type() == "timeout" || errors.Is(err, context.DeadlineExceeded) && rl.lastErr == nil:
			hint = fmt.Sprintf("no answer within %s: a firewall or proxy that drops the connection, or an API that does not answer", timeout)
		case ze.Kind == zendesk.KindDecode || ze.Kind == zendesk.KindTooLarge:
			hint = "something answered that is not the Zendesk API: check the endpoint, or a proxy rewriting answers"
		}
		d.report(checkFail, "API reachable", fmt.Sprintf("%s%s: %s", base.Host, via, err), hint)
		skip("credentials", "permission and plan", "records readable", "rate limit", "API clock")
		return
	}
	status := http.StatusOK
	if ze != nil {
		status = ze.StatusCode
	}
	d.report(checkPass, "API reachable", fmt.Sprintf("%s%s answered HTTP %d", base.Host, via, status), "")

	switch {
	case ze != nil && ze.Kind == zendesk.KindAuth:
		d.refused = true
		d.report(checkFail, "credentials", "refused (401)"+zendeskSays(ze), ze.Hint()+"; API token access must be enabled in Admin Center")
		skip("permission and plan", "records readable")
	case ze != nil && ze.Kind == zendesk.KindForbidden:
		d.refused = true
		d.report(checkPass, "credentials", "accepted (the 403 is about permission)", "")
		d.report(checkFail, "permission and plan", "forbidden (403)"+zendeskSays(ze), ze.Hint())
		skip("records readable")
	case ze != nil:
		if status >= 200 && status < 300 {
			d.report(checkPass, "credentials", "accepted", "")
			d.report(checkPass, "permission and plan", "no refusal", "")
		} else {
			// A 5xx or 429 (of a proxy, maybe) is no verdict on them.
			notChecked := fmt.Sprintf("not checked: the API answered HTTP %d, which is neither an acceptance nor a refusal", status)
			d.report(checkSkip, "credentials", notChecked, "")
			d.report(checkSkip, "permission and plan", notChecked, "")
		}
		d.report(checkFail, "records readable", err.Error(), "the API failed after the client's retries: try again; if it persists, see status.zendesk.com")
	default:
		d.report(checkPass, "credentials", "accepted", "")
		d.report(checkPass, "permission and plan", "the user may read the audit log", "")
		if len(page.AuditLogs) == 0 {
			d.report(checkPass, "records readable", "the audit log is empty", "")
		} else if created, ok := page.AuditLogs[0].CreatedAt.Get(); ok {
			d.report(checkPass, "records readable", fmt.Sprintf("newest record created %s (%s ago)",
				created.UTC().Format(time.RFC3339), humanAge(d.c.now().Sub(created))), "")
		} else {
			d.report(checkWarn, "records readable", "the newest record has no readable created_at",
				"Zendesk sent a record of an unexpected shape: zendesk-audit list --limit 1 shows it")
		}
	}

	d.checkRateLimit(rl)
	if page == nil {
		d.report(checkSkip, "API clock", "not checked: no page was read", "")
		return
	}
	d.checkClock(page.Date, start, answered)
}

// zendeskSays is what Zendesk's error body said, after a colon, if
// anything.
func zendeskSays(e *zendesk.Error) string {
	switch {
	case e.Description != "":
		return ": " + e.Description
	case e.Code != "":
		return ": " + e.Code
	}
	return ""
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// checkRateLimit reports the account's limit, from the headers of the
// last response, and a max_requests_per_minute that leaves most of it to
// the account's other integrations.
func (d *doctor) checkRateLimit(seen *rateLimitSeen) {
	if !seen.seen || seen.rl.Limit <= 0 {
		d.report(checkPass, "rate limit", "Zendesk named no limit in its headers: keep max_requests_per_minute at its default, 100", "")
		return
	}
	suggested := max(1, seen.rl.Limit/4)
	detail := fmt.Sprintf("the account allows %d requests a minute (%d left now), shared with every integration; suggested max_requests_per_minute: %d (a quarter)",
		seen.rl.Limit, seen.rl.Remaining, suggested)
	if seen.rl.Remaining >= 0 && seen.rl.Remaining < seen.rl.Limit/10 {
		d.report(checkWarn, "rate limit", detail, "less than a tenth of the limit is left: other integrations use most of it; lower max_requests_per_minute")
		return
	}
	d.report(checkPass, "rate limit", detail, "")
}

// checkClock compares the API's Date header with the local clock at the
// time of the answer (the header has whole seconds).
func (d *doctor) checkClock(date, sent, answered time.Time) {
	if date.IsZero() {
		d.report(checkWarn, "API clock", "the answer had no Date header", "a proxy may strip it; the receiver then uses the local clock to choose its windows")
		return
	}
	// Against the local clock when the answer arrived, not now: the
	// checks since then took time that the slack does not cover.
	skew := answered.Sub(date)
	// The header is truncated to the second, and the answer took a while.
	slack := time.Second + answered.Sub(sent)
	switch {
	case skew.Abs() <= slack:
		d.report(checkPass, "API clock", "the local clock agrees with the API's (to the second of its Date header)", "")
		return
	case skew.Abs() <= clockSkewWarn+slack:
		d.report(checkPass, "API clock", fmt.Sprintf("the local clock is %s off the API's (less than %s)", skew.Abs().Round(time.Second), clockSkewWarn), "")
		return
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	d.report(checkWarn, "API clock", fmt.Sprintf("the local clock is %s %s the API's", skew.Abs().Round(time.Second), dir),
		"the receiver reads by the API's clock, but initial_lookback, start_time and the checkpoint_lag metric use the local one: synchronize it (NTP)")
}

// checkConfig validates the collector's configuration and checks its
// pipelines; it returns the zendesk_audit_logs receivers they use.
func (d *doctor) checkConfig(ctx context.Context, o *doctorOpts) []string {
	data, err := os.ReadFile(o.config)
	if err != nil {
		d.report(checkFail, "config valid", err.Error(), "")
		d.report(checkSkip, "pipeline crash-safe", "not checked: no configuration", "")
		return nil
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		d.report(checkFail, "config valid", fmt.Sprintf("%s is not YAML: %s", o.config, err), "")
		d.report(checkSkip, "pipeline crash-safe", "not checked: no configuration", "")
		return nil
	}

	collector := o.collector
	if collector == "" {
		collector, _ = exec.LookPath(defaultCollector)
	}
	if collector == "" {
		d.report(checkWarn, "config valid", "parsed, not validated: no "+defaultCollector+" in PATH",
			"give --collector PATH (the collector you run), or run its validate command yourself")
	} else {
		vctx, cancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(vctx, collector, "validate", "--config="+o.config).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		switch {
		case err != nil && !errors.As(err, &exit):
			d.report(checkFail, "config valid", fmt.Sprintf("cannot run %s: %s", collector, err), "give --collector the path of the collector you run")
		case err != nil:
			d.report(checkFail, "config valid", fmt.Sprintf("%s validate refused it: %s", collector, lastLines(out, 3)),
				"fix what it names; ${env:...} references need their variables set here as in the collector's environment")
		default:
			d.report(checkPass, "config valid", collector+" validate accepts it", "")
		}
	}
	return d.checkPipelines(cfg)
}

// lastLines is the end of a command's output, on one line.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(out, nil))), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// typeOf is the type of a component id: batch for batch/name.
func typeOf(id string) string {
	t, _, _ := strings.Cut(id, "/")
	return t
}

// synchronousExporters have no sending queue unless given one.
var synchronousExporters = []string{"debug", "file", "nop"}

// checkPipelines checks that what the receivers hand on survives a crash:
// a persistent queue or a synchronous exporter, no batch processor, a
// checkpoint in storage, fsync on.
func (d *doctor) checkPipelines(cfg map[string]any) []string {
	asMap := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	list := func(m map[string]any, key string) []string {
		l, _ := m[key].([]any)
		var out []string
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	pipelines := asMap(asMap(cfg["service"])["pipelines"])
	var receivers, problems []string
	storages := map[string]bool{}
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(pipelines)) {
		p := asMap(pipelines[name])
		var ours []string
		for _, r := range list(p, "receivers") {
			if typeOf(r) == metadata.Type.String() {
				ours = append(ours, r)
			}
		}
		if typeOf(name) != "logs" || len(ours) == 0 {
			continue
		}
		for _, r := range ours {
			if !seen[r] {
				seen[r] = true
				receivers = append(receivers, r)
			}
			rc := asMap(asMap(cfg["receivers"])[r])
			if s, ok := rc["storage"].(string); ok && s != "" {
				storages[s] = true
			} else {
				problems = append(problems, fmt.Sprintf("receiver %s has no storage: its checkpoint lives in memory, and a restart reads again from initial_lookback", r))
			}
		}
		for _, proc := range list(p, "processors") {
			if typeOf(proc) == "batch" {
				problems = append(problems, fmt.Sprintf("pipeline %s: the batch processor %s holds records in memory, and a crash loses them (use the exporter's sending_queue batch settings)", name, proc))
			}
		}
		for _, e := range list(p, "exporters") {
			ec := asMap(asMap(cfg["exporters"])[e])
			q := asMap(ec["sending_queue"])
			switch {
			case q["enabled"] == false:
			case q["storage"] != nil:
				if s, ok := q["storage"].(string); ok {
					storages[s] = true
				}
			case q == nil && slices.Contains(synchronousExporters, typeOf(e)):
			default:
				problems = append(problems, fmt.Sprintf("exporter %s queues in memory (sending_queue without storage): a crash loses what it holds", e))
			}
		}
	}
	if len(receivers) == 0 {
		d.report(checkFail, "pipeline crash-safe", "no logs pipeline uses a "+metadata.Type.String()+" receiver", "add the receiver to service.pipelines.logs")
		return nil
	}
	for _, s := range slices.Sorted(maps.Keys(storages)) {
		ext := asMap(asMap(cfg["extensions"])[s])
		if typeOf(s) == "file_storage" && ext["fsync"] != true {
			problems = append(problems, fmt.Sprintf("extension %s has no fsync: true, so a power loss may lose its last writes", s))
		}
	}
	if len(problems) > 0 {
		d.report(checkWarn, "pipeline crash-safe", strings.Join(problems, "; "),
			"use the README's configuration: the exporter's sending_queue with storage: file_storage, no batch processor, fsync: true")
		return receivers
	}
	d.report(checkPass, "pipeline crash-safe", fmt.Sprintf("%s: checkpoint in storage, persistent queue or synchronous exporter, fsync on", strings.Join(receivers, ", ")), "")
	return receivers
}

// checkCheckpoint reads the receiver's checkpoint the way checkpoint show
// does, and says how far behind now it is.
func (d *doctor) checkCheckpoint(ctx context.Context, o *doctorOpts, receivers []string) {
	receiver := o.receiver
	if receiver == "" {
		receiver = metadata.Type.String()
		if len(receivers) == 1 {
			receiver = receivers[0]
		}
	}
	st, err := d.c.openStorage(ctx, "doctor", &checkpointOpts{
		storageDir: o.storageDir, storageName: o.storageName, storageTimeout: time.Second, receiver: receiver,
	})
	var ue *usageError
	switch {
	case errors.Is(err, errLocked):
		d.report(checkWarn, "checkpoint", "the storage is locked, probably by the running collector",
			"its otelcol_zendesk_audit_logs_checkpoint_lag metric says how far behind it is; or stop it and run doctor again")
		return
	case errors.As(err, &ue):
		d.report(checkFail, "checkpoint", ue.msg, "")
		return
	case err != nil:
		d.report(checkFail, "checkpoint", err.Error(), "--storage-dir is the file_storage extension's directory; a receiver that never ran has no checkpoint yet")
		return
	}
	defer func() {
		_ = st.close(ctx)
		if st.created != "" {
			_ = os.Remove(st.created)
		}
	}()
	raw, err := st.client.Get(ctx, checkpoint.Key)
	switch {
	case err != nil:
		d.report(checkFail, "checkpoint", fmt.Sprintf("reading the checkpoint of %s: %s", receiver, err), "")
		return
	case raw == nil:
		d.report(checkPass, "checkpoint", fmt.Sprintf("none stored for %s (%s): it starts from its start_time or initial_lookback", receiver, st.where), "")
		return
	}
	pos, err := checkpoint.Decode(raw, d.c.now())
	if err != nil {
		d.report(checkFail, "checkpoint", fmt.Sprintf("the checkpoint of %s cannot be used: %s", receiver, err),
			"the receiver reads nothing while it is stored (a permanent error status); stop it, then zendesk-audit checkpoint set replaces it, checkpoint reset deletes it (the receiver then starts from start_time or initial_lookback)")
		return
	}
	behind := d.c.now().Sub(pos.Second)
	detail := fmt.Sprintf("%s is at %s, %s behind now", receiver, pos.Second.UTC().Format(time.RFC3339), humanAge(behind))
	if behind > behindWarn {
		d.report(checkWarn, "checkpoint", detail, "more than 10 minutes behind: a backfill, or a receiver that stopped (README: Runbook, ZendeskAuditTrailStalled)")
		return
	}
	d.report(checkPass, "checkpoint", detail, "")
}
