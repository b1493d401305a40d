package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// ackProxy stands between the collector under test's otlp_http exporter
// and the sink and passes every request through. Armed, it holds back the
// sink's acceptance of the next export: the sink has written the records,
// but the collector under test never learns it. The runner SIGKILLs the
// collector in exactly that moment, the one in which a crash makes
// duplicates unavoidable (delivered, not yet checkpointed): the records of
// that export must be delivered again after the restart, and no others.
//
// While the sink is down the proxy closes the exporter's connection, as a
// refused connection would have.
type ackProxy struct {
	sink   string // base URL of the sink
	client *http.Client
	srv    *http.Server
	url    string

	mu    sync.Mutex
	armed *ackHold
	// With countAcks (variant store), the proxy counts the ids of every
	// export the sink accepted (acked) and wakes the waiters of the next
	// acceptance of an id it had not accepted before (nextNewAck).
	countAcks bool
	acked     map[int64]int
	ackErrs   int
	waiters   []chan struct{}
}

// ackHold is one armed interception.
type ackHold struct {
	// acked receives the export the sink accepted, once.
	acked chan ackedExport
	// release lets the proxy go on once the collector is dead.
	release chan struct{}
}

// ackedExport is an export request the sink accepted and whose answer the
// proxy held back.
type ackedExport struct {
	IDs []int64 // the audit log ids of its records
	Err error   // the request could not be read for ids
}

// startAckProxy listens on a free port of 127.0.0.1 and forwards to sink;
// countAcks makes it count the ids the sink accepted.
func startAckProxy(sink string, countAcks bool) (*ackProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &ackProxy{
		sink:   strings.TrimSuffix(sink, "/"),
		client: &http.Client{Timeout: 30 * time.Second},
		url:    "http://" + ln.Addr().String(),

		countAcks: countAcks,
		acked:     map[int64]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is where the collector under test sends its exports.
func (p *ackProxy) URL() string { return p.url }

// close stops the proxy; held requests are let go.
func (p *ackProxy) close() {
	p.mu.Lock()
	if h := p.armed; h != nil {
		p.armed = nil
		close(h.release)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

// arm makes the proxy hold back the next export the sink accepts.
func (p *ackProxy) arm() *ackHold {
	h := &ackHold{acked: make(chan ackedExport, 1), release: make(chan struct{})}
	p.mu.Lock()
	p.armed = h
	p.mu.Unlock()
	return h
}

// disarm withdraws h if no export took it yet; false means one did (its
// ids are on h.acked).
func (p *ackProxy) disarm(h *ackHold) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed == h {
		p.armed = nil
		return true
	}
	return false
}

func (p *ackProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		dropConnection(w)
		return
	}
	out, err := http.NewRequestWithContext(req.Context(), req.Method, p.sink+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		dropConnection(w)
		return
	}
	out.Header = req.Header.Clone()
	resp, err := p.client.Do(out)
	if err != nil { // the sink is down
		dropConnection(w)
		return
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		dropConnection(w)
		return
	}
	if resp.StatusCode/100 == 2 {
		p.countAck(req.Header, body)
		p.mu.Lock()
		h := p.armed
		p.armed = nil
		p.mu.Unlock()
		if h != nil {
			ids, err := exportIDs(req.Header, body)
			h.acked <- ackedExport{IDs: ids, Err: err}
			select {
			case <-h.release:
			case <-req.Context().Done():
			}
			dropConnection(w) // the collector is gone: nobody hears the answer
			return
		}
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// countAck adds the ids of an accepted export to the count, and wakes
// the waiters for an acceptance when it holds an id not accepted before.
func (p *ackProxy) countAck(h http.Header, body []byte) {
	if !p.countAcks {
		return
	}
	ids, err := exportIDs(h, body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.ackErrs++
	}
	fresh := false
	for _, id := range ids {
		fresh = fresh || p.acked[id] == 0
		p.acked[id]++
	}
	if !fresh {
		return
	}
	for _, w := range p.waiters {
		close(w)
	}
	p.waiters = nil
}

// nextNewAck returns a channel closed once the sink accepts an export
// holding an id it had not accepted before. An export sent again (a
// retry, a batch cut off at the acknowledgement) holds only ids the sink
// has, perhaps on disk long since: the variant store's kill of the sink
// right after one would lose nothing it has not kept.
func (p *ackProxy) nextNewAck() <-chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	return ch
}

// ackedIDs returns the ids the sink accepted so far, ascending, each once.
func (p *ackProxy) ackedIDs() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]int64, 0, len(p.acked))
	for id := range p.acked {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// update and missing make the acceptances a delivery count for
// waitDelivered.
func (p *ackProxy) update() error { return nil }

// acceptedFewerThan returns the ids of want (ascending, each once) the
// sink accepted fewer than times times.
func (p *ackProxy) acceptedFewerThan(want []int64, times int) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for _, id := range want {
		if p.acked[id] < times {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p *ackProxy) missing(want []int64, times int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, id := range want {
		if p.acked[id] < times {
			n++
		}
	}
	return n
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	http.Error(w, "sink unavailable", http.StatusBadGateway)
}

// exportIDs reads the audit log ids of an OTLP/HTTP logs export request.
func exportIDs(h http.Header, body []byte) ([]int64, error) {
	switch enc := h.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
	default:
		return nil, fmt.Errorf("content encoding %q not understood", enc)
	}
	req := plogotlp.NewExportRequest()
	var err error
	switch ct := h.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/x-protobuf"):
		err = req.UnmarshalProto(body)
	case strings.HasPrefix(ct, "application/json"):
		err = req.UnmarshalJSON(body)
	default:
		err = fmt.Errorf("content type %q not understood", ct)
	}
	if err != nil {
		return nil, err
	}
	var ids []int64
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				v, ok := lrs.At(k).Attributes().Get(idAttribute)
				if !ok {
					return nil, errors.New("a log record without " + idAttribute)
				}
				ids = append(ids, v.Int())
			}
		}
	}
	return ids, nil
}
