package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// defaultScopeVersion is the instrumentation scope version re-sent
// records carry: the receiver sets the collector's version there, which
// for this repository's distribution is builder-config.yaml's
// dist::version (a test keeps the two equal).
const defaultScopeVersion = "0.1.0-dev"

// resendBatch is how many records one re-send carries at most.
const resendBatch = 1000

// progressEvery is how often reconcile reports progress on stderr.
const progressEvery = 5 * time.Second

type reconcileOpts struct {
	conn          connFlags
	filter        filterFlags
	day           string
	victoriaLogs  string
	where         string
	idsFile       string
	resend        string
	headers       headerFlags
	scopeVersion  string
	disabledRules string
	maxListed     int
	resendTimeout time.Duration
	storeIdle     time.Duration
}

func reconcileFlags() (*flag.FlagSet, *reconcileOpts) {
	o := &reconcileOpts{}
	fs := newFlagSet("reconcile")
	o.conn.register(fs)
	o.filter.register(fs)
	fs.StringVar(&o.day, "day", "", "the window is one UTC `day`: YYYY-MM-DD, or yesterday (for a daily CronJob); instead of --since and --until")
	fs.StringVar(&o.victoriaLogs, "victorialogs", "", "the store: VictoriaLogs at `URL` (http://HOST:9428), read with one LogsQL query")
	fs.StringVar(&o.where, "where", "", "VictoriaLogs: a LogsQL filter that narrows the store to this account, e.g. 'zendesk.subdomain:=acme'")
	fs.StringVar(&o.idsFile, "ids-file", "", "the store: the ids it holds, from `FILE` (- for stdin): one id a line, or JSON lines carrying log.record.uid")
	fs.StringVar(&o.resend, "resend", "", "send the missing records to the OTLP/HTTP `ENDPOINT` (the otlp_http exporter's endpoint; /v1/logs is added)")
	fs.Var(&o.headers, "header", "`NAME=VALUE` header of every re-send request (repeatable)")
	fs.StringVar(&o.scopeVersion, "scope-version", defaultScopeVersion, "re-sent records' instrumentation scope `version` (the receiver's is its collector's version)")
	fs.StringVar(&o.disabledRules, "disabled-rules", "", "detection `rules` the receiver has switched off (detections::disabled_rules), comma-separated")
	fs.IntVar(&o.maxListed, "max-listed", 100, "list at most `N` missing records, duplicate and unknown ids each; 0 lists all")
	fs.DurationVar(&o.resendTimeout, "resend-timeout", 5*time.Minute, "how long the retries of one re-send may take in all")
	fs.DurationVar(&o.storeIdle, "store-idle-timeout", 5*time.Minute, "VictoriaLogs: how long its answer may send nothing before reconcile gives up")
	return fs, o
}

// codeError ends the command with an exit code of its own, its report
// already printed.
type codeError struct{ code int }

func (e *codeError) Error() string { return "exit " + strconv.Itoa(e.code) }

// reconciler is one run of reconcile.
type reconciler struct {
	c        *cli
	o        *reconcileOpts
	client   *zendesk.Client
	filter   zendesk.Filter // the API filters, no created_at
	since    time.Time      // the window is since <= created_at < until
	until    time.Time
	store    storeSource
	lastNote time.Time
}

func (c *cli) cmdReconcile(ctx context.Context, args []string) error {
	const cmd = "reconcile"
	fs, o := reconcileFlags()
	pos, err := c.parseArgs(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(cmd, "reconcile takes no arguments, got %q", pos[0])
	}
	var day time.Time
	switch {
	case o.day != "" && (o.filter.since != "" || o.filter.until != ""):
		return usagef(cmd, "--day and --since/--until are exclusive: give one window")
	case o.day == "yesterday":
		day = c.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	case o.day != "":
		if day, err = time.Parse(time.DateOnly, o.day); err != nil {
			return usagef(cmd, "--day %q is neither YYYY-MM-DD nor yesterday", o.day)
		}
	case o.filter.since == "":
		return usagef(cmd, "--since (or --day) is required: reconcile compares one window (e.g. --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z)")
	}
	if o.maxListed < 0 {
		return usagef(cmd, "--max-listed must not be negative (0 lists all), got %d", o.maxListed)
	}
	if o.resendTimeout <= 0 {
		return usagef(cmd, "--resend-timeout must be positive, got %s", o.resendTimeout)
	}
	if o.storeIdle <= 0 {
		return usagef(cmd, "--store-idle-timeout must be positive, got %s", o.storeIdle)
	}
	if len(o.headers) > 0 && o.resend == "" {
		return usagef(cmd, "--header needs --resend")
	}
	flt, err := o.filter.filter(cmd, c.now())
	if err != nil {
		return err
	}
	if !day.IsZero() {
		flt.CreatedAtStart, flt.CreatedAtEnd = day, day.AddDate(0, 0, 1)
	}
	r := &reconciler{c: c, o: o, since: flt.CreatedAtStart, until: flt.CreatedAtEnd}
	if !r.until.After(r.since) {
		return usagef(cmd, "the window is empty: --until must be after --since")
	}
	flt.CreatedAtStart, flt.CreatedAtEnd = time.Time{}, time.Time{}
	r.filter = flt
	switch {
	case o.victoriaLogs != "" && o.idsFile != "":
		return usagef(cmd, "--victorialogs and --ids-file are exclusive: give one store")
	case o.victoriaLogs != "":
		if r.store, err = newVictoriaLogs(o.victoriaLogs, o.where, r.since, r.until, flt, o.storeIdle); err != nil {
			return usagef(cmd, "%s", err)
		}
	case o.idsFile != "":
		if o.where != "" {
			return usagef(cmd, "--where narrows a VictoriaLogs query; an ids file holds what it holds")
		}
		r.store = &idsFile{path: o.idsFile, stdin: c.stdin}
	default:
		return usagef(cmd, "no store: give --victorialogs URL or --ids-file FILE")
	}
	hooks := zendesk.Hooks{OnWait: func(reason zendesk.WaitReason, d time.Duration) {
		if reason == zendesk.WaitRetryAfter && d >= time.Second {
			r.note("Zendesk asked to wait %s (Retry-After)", d.Round(time.Second))
		}
	}}
	if r.client, err = c.client(cmd, fs, &o.conn, hooks); err != nil {
		return err
	}
	var res *resender
	if o.resend != "" {
		base, err := baseURLOf(c, fs, &o.conn)
		if err != nil {
			return usagef(cmd, "%s", err)
		}
		res, err = newResender(ctx, resendOptions{
			endpoint:      o.resend,
			headers:       o.headers,
			baseURL:       base,
			scopeVersion:  o.scopeVersion,
			disabledRules: splitList(o.disabledRules),
			maxElapsed:    o.resendTimeout,
		}, c.now)
		if err != nil {
			return usagef(cmd, "%s", err)
		}
		defer res.close()
	}
	return r.run(ctx, res)
}

// baseURLOf is the account's base URL as the connection flags give it
// (c.client has checked them).
func baseURLOf(c *cli, fs *flag.FlagSet, f *connFlags) (string, error) {
	given := setFlags(fs)
	switch {
	case given["subdomain"]:
		return baseURL(f.subdomain, "")
	case given["endpoint"]:
		return baseURL("", f.endpoint)
	}
	return baseURL(strings.TrimSpace(c.env(envSubdomain)), strings.TrimSpace(c.env(envEndpoint)))
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// note prints a progress line on stderr.
func (r *reconciler) note(format string, args ...any) {
	fmt.Fprintf(r.c.stderr, "zendesk-audit reconcile: "+format+"\n", args...)
}

// progress prints a line at most every progressEvery.
func (r *reconciler) progress(format string, args ...any) {
	if now := r.c.now(); now.Sub(r.lastNote) >= progressEvery {
		r.lastNote = now
		r.note(format, args...)
	}
}

// recentWindow is how close to now a window's end makes reconcile warn:
// the receiver reads a record settle_delay (1m) after its created_at, at
// its next poll (poll_interval, 1m).
const recentWindow = 2 * time.Minute

func (r *reconciler) run(ctx context.Context, res *resender) error {
	r.lastNote = r.c.now()
	if r.c.now().Sub(r.until) < recentWindow {
		r.note("warning: the window ends less than %s ago: records the collector has not delivered yet count as missing (and --resend would send them twice); prefer an --until further back", recentWindow)
	}
	zrecs, noID, err := r.readZendesk(ctx)
	if err != nil {
		return err
	}
	r.note("Zendesk: %d records in the window; reading the store (%s)", len(zrecs), r.store.describe())
	stored, err := r.store.ids(ctx, nil, func(n int) { r.progress("store: %d ids so far", n) })
	if err != nil {
		return err
	}
	rep := compareIDs(zrecs, stored)

	// The missing records, read again from Zendesk range by range: those
	// listed are kept for the report, and with --resend all are sent.
	listed := len(rep.Missing)
	if r.o.maxListed > 0 {
		listed = min(listed, r.o.maxListed)
	}
	details, resent, notFound, err := r.readMissing(ctx, &rep, listed, res)
	if err != nil && resent == 0 {
		return err
	}
	r.report(&rep, noID, details, res != nil, resent, notFound)
	if err != nil {
		return fmt.Errorf("re-sent %d of %d missing records, then: %w", resent, len(rep.Missing), err)
	}
	if len(rep.Missing) > 0 {
		return &codeError{code: exitMissing}
	}
	return nil
}

// readZendesk lists the window oldest first and keeps id and created_at
// of each record. Zendesk is asked for a second more on each side (whether
// it treats its bounds as inclusive is not documented); the window itself
// is applied here.
func (r *reconciler) readZendesk(ctx context.Context) (recs []zendeskRecord, noID int, err error) {
	err = r.list(ctx, r.since, r.until, func(a *zendesk.AuditLog) error {
		id, ok := a.ID.Get()
		if !ok {
			noID++
			return nil
		}
		var at int64
		if t, ok := a.CreatedAt.Get(); ok {
			at = t.Unix()
		}
		recs = appendGrow(recs, zendeskRecord{ID: id, CreatedAt: at})
		return nil
	}, func(n int) { r.progress("Zendesk: %d records so far", n) })
	return recs, noID, err
}

// list calls each for every record of [from, to) that matches the
// filters, oldest first, and stops at its first error.
func (r *reconciler) list(ctx context.Context, from, to time.Time, each func(*zendesk.AuditLog) error, progress func(n int)) error {
	flt := r.filter
	flt.CreatedAtStart, flt.CreatedAtEnd = from.Add(-time.Second), to.Add(time.Second)
	after, n, chain := "", 0, zendesk.NewChain()
	for {
		page, err := r.client.List(ctx, zendesk.ListParams{Filter: flt, PageSize: zendesk.MaxPageSize, Sort: zendesk.SortAscending, After: after})
		if err != nil {
			return err
		}
		for i := range page.AuditLogs {
			a := &page.AuditLogs[i]
			if t, ok := a.CreatedAt.Get(); ok && (t.Before(from) || !t.Before(to)) {
				continue
			}
			if err := each(a); err != nil {
				return err
			}
			n++
		}
		if after, err = chain.Next(page); err != nil {
			return fmt.Errorf("after %d records: %w", n, err)
		}
		if after == "" {
			return nil
		}
		progress(n)
	}
}

// readMissing reads the missing records again, range by range, keeps the
// first listed of them (in created_at order) for the report and, with
// res, sends them all, in batches of resendBatch: it holds no more than
// those. notFound counts missing records Zendesk no longer listed.
func (r *reconciler) readMissing(ctx context.Context, rep *idReport, listed int, res *resender) (details []zendesk.AuditLog, resent, notFound int, err error) {
	want := listed // missing records to read again
	if res != nil {
		want = len(rep.Missing)
	}
	if want == 0 {
		return nil, 0, 0, nil
	}
	ids := rep.missingIDs()
	found := make([]bool, len(ids))
	var batch []zendesk.AuditLog
	flush := func() error {
		n, err := res.send(ctx, batch)
		resent += n
		if err != nil {
			return err
		}
		r.progress("re-sent %d of %d missing records", resent, len(ids))
		batch = batch[:0]
		return nil
	}
	covered := 0 // missing records in the ranges read
	for _, span := range mergeRanges(rep.Ranges) {
		if covered >= want {
			break
		}
		covered += span.Count
		err := r.list(ctx, span.From, span.To.Add(time.Second), func(a *zendesk.AuditLog) error {
			id, _ := a.ID.Get()
			k, ok := slices.BinarySearch(ids, id)
			if !ok || found[k] {
				return nil
			}
			found[k] = true
			if len(details) < listed {
				details = append(details, *a)
			}
			if res == nil {
				return nil
			}
			batch = append(batch, *a)
			if len(batch) < resendBatch {
				return nil
			}
			return flush()
		}, func(int) {})
		if err != nil {
			return details, resent, 0, err
		}
	}
	if res != nil && len(batch) > 0 {
		if err := flush(); err != nil {
			return details, resent, 0, err
		}
	}
	if covered >= len(ids) {
		for _, f := range found {
			if !f {
				notFound++
			}
		}
	}
	slices.SortFunc(details, func(a, b zendesk.AuditLog) int {
		ta, _ := a.CreatedAt.Get()
		tb, _ := b.CreatedAt.Get()
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return cmp.Compare(a.ID.Value, b.ID.Value)
	})
	return details, resent, notFound, nil
}

// mergeRanges joins ranges whose re-reading windows (a second more on
// each side) touch, so that no page is read twice.
func mergeRanges(rs []missingRange) []missingRange {
	var out []missingRange
	for _, m := range rs {
		if n := len(out); n > 0 && !m.From.Add(-time.Second).After(out[n-1].To.Add(time.Second)) {
			out[n-1].To = m.To
			out[n-1].Count += m.Count
			continue
		}
		out = append(out, m)
	}
	return out
}

// report prints the comparison on stdout, and last one line of
// key=value pairs for scripts.
func (r *reconciler) report(rep *idReport, noID int, details []zendesk.AuditLog, resending bool, resent, notFound int) {
	w := r.c.stdout
	listed := func(n int) int {
		if r.o.maxListed == 0 {
			return n
		}
		return min(n, r.o.maxListed)
	}
	more := func(shown, all int) {
		if all > shown {
			fmt.Fprintf(w, "  ... and %d more (--max-listed 0 lists all)\n", all-shown)
		}
	}
	fmt.Fprintf(w, "window       %s <= created_at < %s%s\n", r.since.UTC().Format(time.RFC3339), r.until.UTC().Format(time.RFC3339), describeFilter(r.filter))
	fmt.Fprintf(w, "zendesk      %d records\n", rep.ZendeskCount)
	if noID > 0 {
		fmt.Fprintf(w, "             and %d records without an id, which no store can be checked for\n", noID)
	}
	fmt.Fprintf(w, "store        %d records (%d log records; %s)\n", rep.StoreCount, rep.StoreRecords, r.store.describe())

	fmt.Fprintf(w, "missing      %d records", len(rep.Missing))
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, " in %d time ranges:\n", len(rep.Ranges))
		for _, m := range rep.Ranges[:listed(len(rep.Ranges))] {
			span := m.From.Format(time.RFC3339)
			if !m.To.Equal(m.From) {
				span += " .. " + m.To.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "  %-44s %d records\n", span, m.Count)
		}
		more(listed(len(rep.Ranges)), len(rep.Ranges))
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tCREATED_AT\tACTION\tSOURCE")
		for i := range details[:listed(len(details))] {
			a := &details[i]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s %s\n", optInt(a.ID), createdAt(a), cell(a.Action), cell(a.SourceType), optInt(a.SourceID))
		}
		_ = tw.Flush()
		more(listed(len(details)), len(rep.Missing))
	} else {
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "held twice   %d ids (%d log records more than ids)", len(rep.Duplicates), rep.DuplicateRecords())
	if len(rep.Duplicates) > 0 {
		fmt.Fprintln(w, ":")
		for _, d := range rep.Duplicates[:listed(len(rep.Duplicates))] {
			fmt.Fprintf(w, "  %d held %d times\n", d.ID, d.Count)
		}
		more(listed(len(rep.Duplicates)), len(rep.Duplicates))
	} else {
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "not zendesk  %d ids the store holds that Zendesk does not have in this window", len(rep.Unknown))
	if len(rep.Unknown) > 0 {
		shown := rep.Unknown[:listed(len(rep.Unknown))]
		parts := make([]string, len(shown))
		for i, id := range shown {
			parts[i] = strconv.FormatInt(id, 10)
		}
		fmt.Fprintf(w, ":\n  %s\n", strings.Join(parts, " "))
		more(len(shown), len(rep.Unknown))
	} else {
		fmt.Fprintln(w)
	}
	if resending {
		fmt.Fprintf(w, "re-sent      %d records to %s\n", resent, r.o.resend)
	}
	if notFound > 0 {
		fmt.Fprintf(w, "             %d missing records were no longer listed by Zendesk when read again\n", notFound)
	}
	result := "COMPLETE"
	switch {
	case len(rep.Missing) > 0 && resending && resent == len(rep.Missing):
		result = "MISSING_RESENT"
		fmt.Fprintf(w, "result       the store lacked %d records; all were re-sent: run reconcile again to check\n", len(rep.Missing))
	case len(rep.Missing) > 0:
		result = "MISSING"
		fmt.Fprintf(w, "result       the store lacks %d records\n", len(rep.Missing))
	default:
		fmt.Fprintln(w, "result       the store holds every record Zendesk has in the window")
	}
	fmt.Fprintf(w, "reconcile zendesk=%d store=%d store_records=%d missing=%d ranges=%d duplicates=%d unknown=%d resent=%d result=%s\n",
		rep.ZendeskCount, rep.StoreCount, rep.StoreRecords, len(rep.Missing), len(rep.Ranges), rep.DuplicateRecords(), len(rep.Unknown), resent, result)
}

// describeFilter names the API filters in effect, for the report.
func describeFilter(f zendesk.Filter) string {
	var parts []string
	add := func(k, v string) {
		if v != "" && v != "0" {
			parts = append(parts, k+"="+v)
		}
	}
	add("action", f.Action)
	add("source_type", f.SourceType)
	add("source_id", strconv.FormatInt(f.SourceID, 10))
	add("actor_id", strconv.FormatInt(f.ActorID, 10))
	add("ip_address", f.IPAddress)
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
