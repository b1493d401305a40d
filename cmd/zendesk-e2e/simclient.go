package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// simAdmin talks to the simulator's unauthenticated /_sim endpoints and,
// for diagnostics, to its API.
type simAdmin struct {
	base   string
	client *http.Client
}

func newSimAdmin(base string) *simAdmin {
	return &simAdmin{base: base, client: &http.Client{Timeout: 10 * time.Second}}
}

func (s *simAdmin) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %.200s", method, path, resp.Status, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func (s *simAdmin) stats(ctx context.Context) (simStats, error) {
	var st simStats
	err := s.do(ctx, http.MethodGet, "/_sim/stats", &st)
	return st, err
}

func (s *simAdmin) ids(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.do(ctx, http.MethodGet, "/_sim/ids", &ids)
	return ids, err
}

func (s *simAdmin) setLiveRate(ctx context.Context, rate float64) error {
	return s.do(ctx, http.MethodPost, "/_sim/live?rate="+strconv.FormatFloat(rate, 'f', -1, 64), nil)
}

// createdAt looks a record up through the API (GET /api/v2/audit_logs/{id})
// for diagnostics; faults may make it fail.
func (s *simAdmin) createdAt(ctx context.Context, email, token string, id int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v2/audit_logs/"+url.PathEscape(strconv.FormatInt(id, 10)), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(email+"/token", token)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AuditLog struct {
			CreatedAt string `json:"created_at"`
		} `json:"audit_log"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	return out.AuditLog.CreatedAt, nil
}
