package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/detect"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

const (
	outputJSON  = "json"
	outputTable = "table"
)

// descriptionWidth is how many characters of a change description the
// table shows.
const descriptionWidth = 60

type listOpts struct {
	conn     connFlags
	filter   filterFlags
	sort     string
	limit    int
	pageSize int
	output   string
	flagged  bool
}

func listFlags() (*flag.FlagSet, *listOpts) {
	o := &listOpts{}
	fs := newFlagSet("list")
	o.conn.register(fs)
	o.filter.register(fs)
	fs.StringVar(&o.sort, "sort", "desc", "`order` by created_at: asc (oldest first) or desc (newest first)")
	fs.IntVar(&o.limit, "limit", 0, "stop after `N` records, 0 for all")
	fs.IntVar(&o.pageSize, "page-size", zendesk.MaxPageSize, "`N` records per request, 1..100")
	fs.StringVar(&o.output, "output", outputJSON, "`format`: json (one object per line) or table")
	fs.BoolVar(&o.flagged, "flagged", false, "only records a detection rule flags (README: Detections); the API has no such filter, so every page of the window is read")
	return fs, o
}

func (c *cli) cmdList(ctx context.Context, args []string) error {
	const cmd = "list"
	fs, o := listFlags()
	pos, err := c.parseArgs(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(cmd, "list takes no arguments, got %q", pos[0])
	}
	var sort zendesk.Sort
	switch o.sort {
	case "asc":
		sort = zendesk.SortAscending
	case "desc":
		sort = zendesk.SortDescending
	default:
		return usagef(cmd, "--sort must be asc or desc, got %q", o.sort)
	}
	if o.limit < 0 {
		return usagef(cmd, "--limit must not be negative (0 means all), got %d", o.limit)
	}
	if o.pageSize < 1 || o.pageSize > zendesk.MaxPageSize {
		return usagef(cmd, "--page-size must be between 1 and %d, got %d", zendesk.MaxPageSize, o.pageSize)
	}
	out, err := newRecordWriter(cmd, o.output, c.stdout)
	if err != nil {
		return err
	}
	filter, err := o.filter.filter(cmd, c.now())
	if err != nil {
		return err
	}
	client, err := c.client(cmd, fs, &o.conn, zendesk.Hooks{})
	if err != nil {
		return err
	}

	detector, err := detect.New(nil)
	if err != nil {
		return err
	}
	pageSize := o.pageSize
	if o.limit > 0 && !o.flagged {
		pageSize = min(pageSize, o.limit)
	}
	// The progress line is erased before anything reaches stdout, which
	// may be the same terminal.
	progress := newProgress(c.stderr)
	n, after, chain := 0, "", zendesk.NewChain()
	finish := func(err error) error {
		progress.clear()
		if err != nil && n == 0 {
			return err // not even a table header
		}
		// Keep what was read before a failure: it is valid, and says how
		// far the listing got.
		return errors.Join(out.flush(), err)
	}
	for {
		page, err := client.List(ctx, zendesk.ListParams{Filter: filter, PageSize: pageSize, Sort: sort, After: after})
		if err != nil {
			return finish(err)
		}
		for i := range page.AuditLogs {
			rule := detector.MatchAuditLog(&page.AuditLogs[i])
			if o.flagged && rule == nil {
				continue
			}
			if err := out.write(&page.AuditLogs[i], rule); err != nil {
				return err
			}
			n++
			if o.limit > 0 && n >= o.limit {
				break
			}
		}
		if o.limit > 0 && n >= o.limit || !page.HasMore {
			break
		}
		if after, err = chain.Next(page); err != nil {
			return finish(fmt.Errorf("stopping after %d records: %w", n, err))
		}
		if out.streams() {
			progress.clear()
			if err := out.buf.Flush(); err != nil {
				return err
			}
		}
		progress.update(n)
	}
	return finish(nil)
}

type showOpts struct {
	conn   connFlags
	output string
}

func showFlags() (*flag.FlagSet, *showOpts) {
	o := &showOpts{}
	fs := newFlagSet("show")
	o.conn.register(fs)
	fs.StringVar(&o.output, "output", outputJSON, "`format`: json or table")
	return fs, o
}

func (c *cli) cmdShow(ctx context.Context, args []string) error {
	const cmd = "show"
	fs, o := showFlags()
	pos, err := c.parseArgs(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef(cmd, "show takes one audit log ID, got %d arguments", len(pos))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usagef(cmd, "audit log ID %q is not a positive integer", pos[0])
	}
	if o.output != outputJSON && o.output != outputTable {
		return usagef(cmd, "--output must be json or table, got %q", o.output)
	}
	client, err := c.client(cmd, fs, &o.conn, zendesk.Hooks{})
	if err != nil {
		return err
	}
	rec, err := client.Get(ctx, id)
	if zendesk.KindOf(err) == zendesk.KindNotFound {
		return fmt.Errorf("audit log %d not found", id)
	}
	if err != nil {
		return err
	}
	// The severity and rule the receiver gives the record, as list says.
	detector, err := detect.New(nil)
	if err != nil {
		return err
	}
	rule := detector.MatchAuditLog(rec)
	if o.output == outputTable {
		return writeRecordDetail(c.stdout, rec, rule)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if b, err = withDetection(b, rule); err != nil {
		return err
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, b, "", "  "); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", indented.Bytes())
	return err
}

type exportOpts struct {
	conn   connFlags
	filter filterFlags
}

func exportFlags() (*flag.FlagSet, *exportOpts) {
	o := &exportOpts{}
	fs := newFlagSet("export")
	o.conn.register(fs)
	o.filter.register(fs)
	return fs, o
}

func (c *cli) cmdExport(ctx context.Context, args []string) error {
	const cmd = "export"
	fs, o := exportFlags()
	pos, err := c.parseArgs(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(cmd, "export takes no arguments, got %q", pos[0])
	}
	filter, err := o.filter.filter(cmd, c.now())
	if err != nil {
		return err
	}
	// A refused export is waited out (by the client); say so, or the
	// command would sit silent for a minute.
	hooks := zendesk.Hooks{OnWait: func(reason zendesk.WaitReason, d time.Duration) {
		if reason == zendesk.WaitRetryAfter || reason == zendesk.WaitBackoff {
			fmt.Fprintf(c.stderr, "zendesk-audit: export refused for now (429 Too Many Requests); trying again in %s (Ctrl-C stops)\n", d.Round(time.Millisecond))
		}
	}}
	client, err := c.client(cmd, fs, &o.conn, hooks)
	if err != nil {
		return err
	}
	start := c.now()
	if err := client.Export(ctx, filter); err != nil {
		return c.exportError(err, c.now().Sub(start))
	}
	fmt.Fprintln(c.stdout, "Export requested. Zendesk prepares the CSV out of band and emails a download link")
	fmt.Fprintln(c.stdout, "to the user of these credentials; nothing is downloaded here. Zendesk allows one")
	fmt.Fprintln(c.stdout, "export per minute per account.")
	return nil
}

// exportError explains an export that failed after waiting waited. The
// one-export-per-minute limit is named only when Zendesk said that was
// it; any other refusal speaks for itself.
func (c *cli) exportError(err error, waited time.Duration) error {
	var apiErr *zendesk.Error
	if !errors.As(err, &apiErr) || !apiErr.ExportLimited() {
		return err
	}
	after := ""
	if waited > 0 {
		after = fmt.Sprintf(" after waiting %s", waited.Round(time.Second))
	}
	when := "in about a minute"
	if apiErr.RetryAfter > 0 {
		wait := apiErr.RetryAfter.Round(time.Second)
		when = fmt.Sprintf("in %s, at %s", wait, c.now().Add(wait).Format("15:04:05 MST"))
	}
	return fmt.Errorf("export refused (429)%s: Zendesk allows one audit log export per minute per account, and that limit refused this one; it allows the next try %s", after, when)
}

// recordWriter prints records as JSON lines or as a table.
type recordWriter struct {
	buf   *bufio.Writer
	table *tabwriter.Writer // nil for JSON
}

func newRecordWriter(cmd, format string, w io.Writer) (*recordWriter, error) {
	rw := &recordWriter{buf: bufio.NewWriter(w)}
	switch format {
	case outputJSON:
	case outputTable:
		rw.table = tabwriter.NewWriter(rw.buf, 0, 8, 2, ' ', 0)
		fmt.Fprintln(rw.table, "CREATED_AT\tID\tACTION\tACTOR\tSOURCE_TYPE\tSOURCE\tRULE\tDESCRIPTION")
	default:
		return nil, usagef(cmd, "--output must be json or table, got %q", format)
	}
	return rw, nil
}

// write prints r; rule is the detection rule that flags it, or nil.
func (rw *recordWriter) write(r *zendesk.AuditLog, rule *detect.Rule) error {
	if rw.table == nil {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b, err = withDetection(b, rule)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = rw.buf.Write(b)
		return err
	}
	ruleName := "-"
	if rule != nil {
		ruleName = rule.Name
	}
	_, err := fmt.Fprintf(rw.table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		createdAt(r), optInt(r.ID), cell(r.Action),
		nameOrID(r.ActorName, r.ActorID), cell(r.SourceType),
		nameOrID(r.SourceLabel, r.SourceID), ruleName, firstLine(r.ChangeDescription.Value, descriptionWidth))
	return err
}

// detection is what a JSON line adds to the record: the severity the
// receiver gives it, and the rule that flags it.
type detection struct {
	Severity     string        `json:"severity"`
	SecurityRule *securityRule `json:"security_rule,omitempty"`
}

// securityRule holds the receiver's security_rule.* attributes.
type securityRule struct {
	Name      string `json:"name"`
	Category  string `json:"category"`
	Reference string `json:"reference"`
}

// withDetection adds the members of detection to the JSON object record.
func withDetection(record []byte, rule *detect.Rule) ([]byte, error) {
	_, text := convert.Severity(rule)
	d := detection{Severity: text}
	if rule != nil {
		d.SecurityRule = &securityRule{Name: rule.Name, Category: rule.Category, Reference: rule.Reference()}
	}
	members, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	record = bytes.TrimRight(record, " \n")
	out := record[:len(record)-1] // drop the closing brace
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, members[1:]...), nil
}

// streams reports whether output may go out page by page: JSON lines do, so
// that a pipe sees them early; a table is aligned over all its rows.
func (rw *recordWriter) streams() bool { return rw.table == nil }

func (rw *recordWriter) flush() error {
	if rw.table != nil {
		if err := rw.table.Flush(); err != nil {
			return err
		}
	}
	return rw.buf.Flush()
}

// writeRecordDetail prints one record as FIELD VALUE lines, the change
// description in full.
func writeRecordDetail(w io.Writer, r *zendesk.AuditLog, rule *detect.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	row("ID", optInt(r.ID))
	row("CREATED_AT", createdAt(r))
	_, severity := convert.Severity(rule)
	row("SEVERITY", severity)
	if rule != nil {
		row("RULE", rule.Name+" ("+rule.Category+")")
		row("REFERENCE", rule.Reference())
	} else {
		row("RULE", "-")
	}
	action := cell(r.Action)
	if l, ok := r.ActionLabel.Get(); ok && l != "" {
		action += " (" + clean(l) + ")"
	}
	row("ACTION", action)
	row("ACTOR", withID(r.ActorName, r.ActorID))
	row("IP_ADDRESS", cell(r.IPAddress))
	row("SOURCE_TYPE", cell(r.SourceType))
	row("SOURCE", withID(r.SourceLabel, r.SourceID))
	desc := strings.Split(strings.ReplaceAll(r.ChangeDescription.Value, "\r\n", "\n"), "\n")
	for i, line := range desc {
		name := "DESCRIPTION"
		if i > 0 {
			name = ""
		}
		if line = clean(line); line == "" && len(desc) == 1 {
			line = "-"
		}
		row(name, line)
	}
	row("URL", cell(r.URL))
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		var compact bytes.Buffer
		if json.Compact(&compact, r.Extra[k]) != nil {
			compact.Reset()
			compact.Write(r.Extra[k])
		}
		row(clean(k), clean(compact.String()))
	}
	return tw.Flush()
}

func createdAt(r *zendesk.AuditLog) string {
	if t, ok := r.CreatedAt.Get(); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return "-"
}

func optInt(o zendesk.Optional[int64]) string {
	if v, ok := o.Get(); ok {
		return strconv.FormatInt(v, 10)
	}
	return "-"
}

func cell(o zendesk.Optional[string]) string {
	if v, ok := o.Get(); ok && v != "" {
		return clean(v)
	}
	return "-"
}

// nameOrID is the name, or the id when there is no name.
func nameOrID(name zendesk.Optional[string], id zendesk.Optional[int64]) string {
	if v, ok := name.Get(); ok && strings.TrimSpace(v) != "" {
		return clean(v)
	}
	return optInt(id)
}

// withID is "name (id)".
func withID(name zendesk.Optional[string], id zendesk.Optional[int64]) string {
	n, ok := name.Get()
	if !ok || strings.TrimSpace(n) == "" {
		return optInt(id)
	}
	if _, ok := id.Get(); !ok {
		return clean(n)
	}
	return clean(n) + " (" + optInt(id) + ")"
}

// firstLine is the first line of s, at most width characters; "…" marks
// anything cut, further lines included.
func firstLine(s string, width int) string {
	line, rest, more := strings.Cut(strings.TrimSpace(s), "\n")
	line = clean(line)
	if r := []rune(line); len(r) > width {
		return string(r[:width-1]) + "…"
	}
	if more && strings.TrimSpace(rest) != "" {
		return line + " …"
	}
	if line == "" {
		return "-"
	}
	return line
}

// clean makes API text safe for a terminal and a table: control characters
// (tabs, newlines, escape sequences) become spaces.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s))
}

// progress prints a running count on stderr, only when stderr is a
// terminal, and erases it at the end.
type progress struct {
	w       io.Writer
	printed bool
}

func newProgress(stderr io.Writer) *progress {
	if !isTerminal(stderr) {
		return &progress{}
	}
	return &progress{w: stderr}
}

func (p *progress) update(n int) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%d records so far…", n)
	p.printed = true
}

// clear erases the progress line, if one is shown.
func (p *progress) clear() {
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
		p.printed = false
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
