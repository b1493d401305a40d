package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// exportBody is an OTLP/HTTP logs export of records with these ids, as
// the otlp_http exporter sends it by default: protobuf, gzip.
func exportBody(t *testing.T, ids ...int64) []byte {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, id := range ids {
		lrs.AppendEmpty().Attributes().PutInt(idAttribute, id)
	}
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, err = zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return z.Bytes()
}

func postExport(url string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/logs", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	return (&http.Client{Timeout: 10 * time.Second}).Do(req)
}

func TestAckProxy(t *testing.T) {
	var got atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer sink.Close()
	p, err := startAckProxy(sink.URL, false)
	require.NoError(t, err)
	defer p.close()

	// Unarmed, it passes the sink's answer through.
	resp, err := postExport(p.URL(), exportBody(t, 1, 2))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
	assert.EqualValues(t, 1, got.Load())

	// Armed, the sink gets the export, the sender never hears of it.
	h := p.arm()
	sent := make(chan error, 1)
	go func() {
		resp, err := postExport(p.URL(), exportBody(t, 7, 8, 9))
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	var acked ackedExport
	select {
	case acked = <-h.acked:
	case <-time.After(10 * time.Second):
		t.Fatal("the armed proxy did not report the export")
	}
	require.NoError(t, acked.Err)
	assert.Equal(t, []int64{7, 8, 9}, acked.IDs)
	assert.EqualValues(t, 2, got.Load(), "the sink has the export")
	select {
	case err := <-sent:
		t.Fatalf("the sender got an answer before the release: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(h.release)
	assert.Error(t, <-sent, "the sender never gets the acceptance")
	assert.False(t, p.disarm(h), "taken already")

	// Disarmed before any export: it passes through again.
	h = p.arm()
	assert.True(t, p.disarm(h))
	resp, err = postExport(p.URL(), exportBody(t, 3))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// The sink down: the connection is dropped, as a refused one.
	sink.Close()
	_, err = postExport(p.URL(), exportBody(t, 4))
	assert.Error(t, err)
}

func TestExportIDs(t *testing.T) {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().PutInt(idAttribute, 42)
	js, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	ids, err := exportIDs(http.Header{"Content-Type": {"application/json"}}, js)
	require.NoError(t, err)
	assert.Equal(t, []int64{42}, ids)

	_, err = exportIDs(http.Header{"Content-Type": {"text/plain"}}, js)
	assert.ErrorContains(t, err, "content type")
	_, err = exportIDs(http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"br"}}, js)
	assert.ErrorContains(t, err, "content encoding")

	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	js, err = plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	_, err = exportIDs(http.Header{"Content-Type": {"application/json"}}, js)
	assert.ErrorContains(t, err, "without "+idAttribute)
}

// Counting (variant store): the ids of every accepted export, none of a
// refused one, and a wake-up at the next acceptance.
func TestAckProxyCountsAcceptedIDs(t *testing.T) {
	var refuse atomic.Bool
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if refuse.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer sink.Close()
	p, err := startAckProxy(sink.URL, true)
	require.NoError(t, err)
	defer p.close()

	next := p.nextNewAck()
	resp, err := postExport(p.URL(), exportBody(t, 3, 1, 2))
	require.NoError(t, err)
	resp.Body.Close()
	select {
	case <-next:
	case <-time.After(10 * time.Second):
		t.Fatal("nextNewAck was not woken by an accepted export of new ids")
	}
	// An export of ids accepted before (sent again) does not wake it; one
	// with a new id does.
	next = p.nextNewAck()
	resp, err = postExport(p.URL(), exportBody(t, 1, 3))
	require.NoError(t, err)
	resp.Body.Close()
	select {
	case <-next:
		t.Fatal("nextNewAck was woken by an export of ids accepted before")
	default:
	}
	resp, err = postExport(p.URL(), exportBody(t, 1, 5))
	require.NoError(t, err)
	resp.Body.Close()
	select {
	case <-next:
	case <-time.After(10 * time.Second):
		t.Fatal("nextNewAck was not woken by an export with a new id")
	}
	refuse.Store(true)
	resp, err = postExport(p.URL(), exportBody(t, 4))
	require.NoError(t, err)
	resp.Body.Close()
	refuse.Store(false)
	resp, err = postExport(p.URL(), exportBody(t, 2))
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, []int64{1, 2, 3, 5}, p.ackedIDs())
	assert.Equal(t, 1, p.missing([]int64{1, 2, 4}, 1), "4 was refused")
	assert.Equal(t, 3, p.missing([]int64{1, 2, 3, 4}, 3), "only 1 was accepted three times")
	assert.Equal(t, []int64{2, 3, 4}, p.acceptedFewerThan([]int64{4, 3, 2, 1, 3}, 3))
}
