package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/convert"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// A storeSource lists the audit log ids a log store holds for the window,
// repeats included.
type storeSource interface {
	// describe names the source for the report.
	describe() string
	// ids appends every id held to dst and returns it; progress is called
	// with the count so far now and then.
	ids(ctx context.Context, dst []int64, progress func(n int)) ([]int64, error)
}

// maxStoreLine bounds one line of a store's answer or of an ids file.
const maxStoreLine = 1 << 20

// victoriaLogs reads the ids from VictoriaLogs with one LogsQL query,
// streamed: /select/logsql/query answers one JSON object per line.
type victoriaLogs struct {
	base   string // http(s)://host:port, no trailing slash
	query  string
	client *http.Client
	// idle is how long the answer may send nothing (its head included)
	// before reconcile gives up on it.
	idle time.Duration
}

// errStoreIdle ends a query whose answer sent nothing for idle.
var errStoreIdle = errors.New("the store sent nothing")

// newVictoriaLogs checks the URL and builds the query of the window
// [since, until) with the filters of flt and the user's own where clause;
// idle bounds each wait for the answer's next bytes.
func newVictoriaLogs(rawURL, where string, since, until time.Time, flt zendesk.Filter, idle time.Duration) (*victoriaLogs, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--victorialogs %q is not an http(s)://host:port URL", rawURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--victorialogs must be the server's base URL (http://host:9428), without credentials, query or fragment")
	}
	return &victoriaLogs{
		base:  strings.TrimSuffix(u.String(), "/"),
		query: logsQLIDsQuery(where, since, until, flt),
		// No overall timeout: the answer streams; ctx and idle end it. A
		// transport of its own, as the API client's
		// (zendesk.Options.HTTPClient): the query is a POST, which a
		// connection closed under it would fail.
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		idle:   idle,
	}, nil
}

// logsQLIDsQuery is the LogsQL query of the ids of the window [since,
// until) that the API filters of flt (the same the receiver's records
// carry as attributes) and where select.
func logsQLIDsQuery(where string, since, until time.Time, flt zendesk.Filter) string {
	parts := []string{
		fmt.Sprintf("_time:[%s, %s)", since.UTC().Format(time.RFC3339Nano), until.UTC().Format(time.RFC3339Nano)),
		logsQLField(convert.AttrLogRecordUID) + ":*",
	}
	exact := func(field, value string) {
		parts = append(parts, logsQLField(field)+":="+strconv.Quote(value))
	}
	if flt.Action != "" {
		exact(convert.AttrAction, flt.Action)
	}
	if flt.SourceType != "" {
		exact(convert.AttrSourceType, flt.SourceType)
	}
	if flt.SourceID != 0 {
		exact(convert.AttrSourceID, strconv.FormatInt(flt.SourceID, 10))
	}
	if flt.ActorID != 0 {
		exact(convert.AttrActorID, strconv.FormatInt(flt.ActorID, 10))
	}
	if flt.IPAddress != "" {
		exact(convert.AttrClientAddress, flt.IPAddress)
	}
	if strings.TrimSpace(where) != "" {
		parts = append(parts, "("+where+")")
	}
	return strings.Join(parts, " AND ") + " | fields " + logsQLField(convert.AttrLogRecordUID)
}

// logsQLField quotes a field name for LogsQL.
func logsQLField(name string) string { return strconv.Quote(name) }

func (v *victoriaLogs) describe() string { return "victorialogs " + v.base }

func (v *victoriaLogs) ids(ctx context.Context, dst []int64, progress func(int)) ([]int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(v.idle, func() { cancel(errStoreIdle) })
	defer idle.Stop()
	dst, err := v.read(ctx, dst, progress, idle)
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errStoreIdle):
		return dst, fmt.Errorf("VictoriaLogs sent nothing for %s (--store-idle-timeout): reconcile needs its whole answer", v.idle)
	case errors.Is(err, errBrokeOff) && ctx.Err() == nil:
		// VictoriaLogs answers 200 and streams; a query that runs past its
		// -search.maxQueryDuration is cut off mid-stream, said only in the
		// store's own log.
		return dst, fmt.Errorf("%w: VictoriaLogs cuts its answer off like this when the query runs longer than its -search.maxQueryDuration (its own log then says so); reconcile needs the whole answer: narrow the window (--since, --until) or raise that limit", err)
	}
	return dst, err
}

// read sends the query and reads its answer, resetting idle at each
// read that got bytes.
func (v *victoriaLogs) read(ctx context.Context, dst []int64, progress func(int), idle *time.Timer) ([]int64, error) {
	form := url.Values{"query": {v.query}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return dst, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.client.Do(req)
	if err != nil {
		return dst, fmt.Errorf("querying VictoriaLogs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return dst, fmt.Errorf("querying VictoriaLogs: %s: %s (query: %s)", resp.Status, strings.TrimSpace(string(body)), v.query)
	}
	return readIDLines(&idleReader{r: resp.Body, timer: idle, d: v.idle}, dst, progress, "VictoriaLogs' answer")
}

// idleReader resets timer to d at each read that got bytes.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.timer.Reset(i.d)
	}
	return n, err
}

// idsFile reads one id per line, or JSON lines that carry log.record.uid
// (a store's export), from a file or stdin ("-").
type idsFile struct {
	path  string
	stdin io.Reader
}

func (f *idsFile) describe() string {
	if f.path == "-" {
		return "ids from stdin"
	}
	return "ids file " + f.path
}

func (f *idsFile) ids(_ context.Context, dst []int64, progress func(int)) ([]int64, error) {
	if f.path == "-" {
		return readIDLines(f.stdin, dst, progress, "stdin")
	}
	file, err := os.Open(f.path)
	if err != nil {
		return dst, err
	}
	defer file.Close()
	return readIDLines(file, dst, progress, f.path)
}

// readIDLines reads ids from r: each line an id, or a JSON object with
// the member log.record.uid (a string or a number). Blank lines are
// skipped; anything else is an error naming the line.
func readIDLines(r io.Reader, dst []int64, progress func(int), what string) ([]int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxStoreLine)
	// cut: the last line had no newline, and so may be part of a line.
	cut := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		advance, token, err := bufio.ScanLines(data, atEOF)
		if atEOF && token != nil && advance == len(data) && data[len(data)-1] != '\n' {
			cut = true
		}
		return advance, token, err
	})
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		id, err := parseIDLine(b)
		if err != nil && cut {
			return dst, fmt.Errorf("%s, line %d: %w after %d ids, in the middle of a line: %w", what, line, errBrokeOff, len(dst), err)
		}
		if err != nil {
			return dst, fmt.Errorf("%s, line %d: %w", what, line, err)
		}
		dst = appendGrow(dst, id)
		if progress != nil && len(dst)%100_000 == 0 {
			progress(len(dst))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return dst, fmt.Errorf("%s, line %d: longer than %d bytes", what, line+1, maxStoreLine)
		}
		return dst, fmt.Errorf("reading %s: %w after %d ids: %w", what, errBrokeOff, len(dst), err)
	}
	return dst, nil
}

// errBrokeOff marks an answer (or file) whose reading failed before its
// end: what was read of it is not all of it.
var errBrokeOff = errors.New("broke off")

// parseIDLine reads one id: a positive integer, or a JSON object holding
// it in log.record.uid.
func parseIDLine(b []byte) (int64, error) {
	if b[0] != '{' {
		id, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || id <= 0 {
			return 0, fmt.Errorf("%q is not an audit log id (a positive integer) nor a JSON object with %q", truncate(string(b), 40), convert.AttrLogRecordUID)
		}
		return id, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return 0, fmt.Errorf("not JSON: %w", err)
	}
	raw, ok := obj[convert.AttrLogRecordUID]
	if !ok {
		return 0, fmt.Errorf("the JSON object has no %q", convert.AttrLogRecordUID)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw) // a number
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %s is not an audit log id (a positive integer)", convert.AttrLogRecordUID, truncate(string(raw), 40))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
