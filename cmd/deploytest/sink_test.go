package deploytest

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/otlpfile"
)

// otlpSink is an OTLP/HTTP backend on 127.0.0.1 for the otlp_http
// exporter: it decodes every export of logs (protobuf, gzip or not) and
// keeps the records of those it accepts. It accepts with 200, or while
// refusing answers 503, which the exporter retries; an export it holds
// waits, unanswered, until the test releases it.
type otlpSink struct {
	url string

	mu       sync.Mutex
	refusing bool
	recs     []otlpfile.Record // accepted, in arrival order, repeats included
	exports  int               // exports accepted
	refused  int               // exports refused
	hold     *heldExport       // the next export is held
	held     []*heldExport     // every export held so far
	bad      []string          // exports that could not be decoded
}

// heldExport is an export the sink keeps unanswered: arrived is closed when
// it arrived, release lets the sink answer it.
type heldExport struct {
	arrived, release chan struct{}
	once             sync.Once
	records          int // written before arrived is closed
}

// answer releases the export: the sink answers it as it answers any other.
func (h *heldExport) answer() { h.once.Do(func() { close(h.release) }) }

func newOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	s := &otlpSink{}
	srv := httptest.NewServer(http.HandlerFunc(s.export))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	t.Cleanup(func() {
		// Before srv.Close, which waits for the exports it is answering.
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, h := range s.held {
			h.answer()
		}
	})
	t.Cleanup(func() {
		if bad := s.decodeErrors(); len(bad) > 0 {
			t.Errorf("the sink could not decode %d exports: %v", len(bad), bad)
		}
	})
	return s
}

func (s *otlpSink) export(w http.ResponseWriter, r *http.Request) {
	recs, err := decodeExport(r)
	if err != nil {
		s.mu.Lock()
		s.bad = append(s.bad, err.Error())
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	h := s.hold
	s.hold = nil
	s.mu.Unlock()
	if h != nil {
		h.records = len(recs)
		close(h.arrived)
		<-h.release
	}

	s.mu.Lock()
	refuse := s.refusing
	if refuse {
		s.refused++
	} else {
		s.exports++
		s.recs = append(s.recs, recs...)
	}
	s.mu.Unlock()
	if refuse {
		http.Error(w, "refusing", http.StatusServiceUnavailable)
		return
	}
	body, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(body)
}

// decodeExport reads the records of an OTLP/HTTP protobuf export request.
func decodeExport(r *http.Request) ([]otlpfile.Record, error) {
	body := r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, err
	}
	return otlpfile.Records(req.Logs())
}

// refuse makes the sink refuse (503) every export from now on, or accept
// them again.
func (s *otlpSink) refuse(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusing = on
}

// holdNext holds the next export that arrives until it is released.
func (s *otlpSink) holdNext() *heldExport {
	h := &heldExport{arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = h
	s.held = append(s.held, h)
	return h
}

// records is a copy of the records accepted so far.
func (s *otlpSink) records() []otlpfile.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]otlpfile.Record(nil), s.recs...)
}

// counts is how many exports were accepted and refused so far.
func (s *otlpSink) counts() (accepted, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exports, s.refused
}

func (s *otlpSink) decodeErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}
