package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// Sim is a running simulator, in this process or another, reached over
// HTTP.
type Sim struct {
	URL      string
	Email    string
	APIToken string
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func (s Sim) get(ctx context.Context, pathQuery string, auth bool, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+pathQuery, nil)
	if err != nil {
		return err
	}
	if auth {
		req.SetBasicAuth(s.Email+"/token", s.APIToken)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", pathQuery, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// Stats reads the simulator's counters (GET /_sim/stats).
func (s Sim) Stats(ctx context.Context) (zendesksim.Stats, error) {
	var st zendesksim.Stats
	err := s.get(ctx, "/_sim/stats", false, &st)
	return st, err
}

// DumpJSONLines reads every record from the API, oldest first, 100 a page
// with cursor pagination, and writes each record object as one line of
// JSON, as a cron job dumping the API to a file for a file-tailing
// collector would. It returns the number of records written.
func (s Sim) DumpJSONLines(ctx context.Context, w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var line bytes.Buffer
	n := 0
	after := ""
	for pages := 0; ; pages++ {
		if pages > 1<<20 {
			return n, fmt.Errorf("more than %d pages: the cursor does not advance", pages)
		}
		q := url.Values{"page[size]": {"100"}, "sort": {"created_at"}}
		if after != "" {
			q.Set("page[after]", after)
		}
		var page struct {
			AuditLogs []json.RawMessage `json:"audit_logs"`
			Meta      struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
		}
		if err := s.get(ctx, "/api/v2/audit_logs?"+q.Encode(), true, &page); err != nil {
			return n, err
		}
		for _, rec := range page.AuditLogs {
			line.Reset()
			if err := json.Compact(&line, rec); err != nil {
				return n, err
			}
			line.WriteByte('\n')
			if _, err := bw.Write(line.Bytes()); err != nil {
				return n, err
			}
			n++
		}
		if !page.Meta.HasMore {
			break
		}
		if page.Meta.AfterCursor == "" {
			return n, fmt.Errorf("has_more without after_cursor after %d records", n)
		}
		after = page.Meta.AfterCursor
	}
	return n, bw.Flush()
}

// WaitStats polls the simulator's counters every 20 ms until cond holds,
// ctx ends or timeout passes. It returns the last counters read.
func (s Sim) WaitStats(ctx context.Context, timeout time.Duration, cond func(zendesksim.Stats) bool) (zendesksim.Stats, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Stats(ctx)
		if err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return st, fmt.Errorf("simulator stats: %w", err)
			}
			return st, fmt.Errorf("timed out after %s (stats: %d list requests, %d records served)", timeout, st.ListRequests, st.RecordsServed)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
