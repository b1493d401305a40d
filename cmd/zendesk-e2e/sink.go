package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// idAttribute is the log record attribute that carries the audit log id;
// uidAttribute carries it too, as a string, for de-duplication downstream.
const (
	idAttribute  = "zendesk.audit_log.id"
	uidAttribute = "log.record.uid"
)

// otlpLogsJSON is the part of an OTLP/JSON ExportLogsServiceRequest the
// check reads.
type otlpLogsJSON struct {
	ResourceLogs []struct {
		ScopeLogs []struct {
			LogRecords []struct {
				Attributes []struct {
					Key   string `json:"key"`
					Value struct {
						IntValue    json.RawMessage `json:"intValue"`
						StringValue *string         `json:"stringValue"`
					} `json:"value"`
				} `json:"attributes"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

// sinkContent is what the sink's file holds.
type sinkContent struct {
	IDs     []int64 // the id of every log record, in file order, repeats included
	NoID    int     // log records without a usable id attribute
	BadUID  int     // log records with an id whose log.record.uid is not that id
	Lines   int     // non-empty lines (one OTLP request each)
	Records int     // log records
}

func (c *sinkContent) add(o sinkContent) {
	c.IDs = append(c.IDs, o.IDs...)
	c.NoID += o.NoID
	c.BadUID += o.BadUID
	c.Lines += o.Lines
	c.Records += o.Records
}

// parseSinkLine reads one line of the file exporter's JSON output.
func parseSinkLine(line []byte) (sinkContent, error) {
	var c sinkContent
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return c, nil
	}
	c.Lines = 1
	var req otlpLogsJSON
	if err := json.Unmarshal(line, &req); err != nil {
		return c, err
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				c.Records++
				id, ok := int64(0), false
				var uid *string
				for _, a := range lr.Attributes {
					switch a.Key {
					case idAttribute:
						id, ok = attrInt(a.Value.IntValue, a.Value.StringValue)
					case uidAttribute:
						uid = a.Value.StringValue
					}
				}
				if !ok {
					c.NoID++
					continue
				}
				c.IDs = append(c.IDs, id)
				if uid == nil || *uid != strconv.FormatInt(id, 10) {
					c.BadUID++
				}
			}
		}
	}
	return c, nil
}

// attrInt reads an OTLP/JSON intValue: a decimal string per the protobuf
// JSON mapping of int64, or a bare number from lenient writers. A string
// value holding a decimal integer is accepted too.
func attrInt(raw json.RawMessage, str *string) (int64, bool) {
	if len(raw) > 0 && string(raw) != "null" {
		s := string(raw)
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if str != nil {
		n, err := strconv.ParseInt(*str, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// parseSink reads a whole sink file. Every non-empty line must be valid,
// the last one included, even without its newline.
func parseSink(r io.Reader) (sinkContent, error) {
	var all sinkContent
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			c, perr := parseSinkLine(line)
			if perr != nil {
				return all, fmt.Errorf("line %d: %w", n, perr)
			}
			all.add(c)
		}
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

// parseSinkFile reads the sink file at path; a missing file is empty.
func parseSinkFile(path string) (sinkContent, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return sinkContent{}, nil
	}
	if err != nil {
		return sinkContent{}, err
	}
	defer f.Close()
	c, err := parseSink(f)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// sinkTail follows the sink's file while the sink writes it: each update
// reads the complete lines added since the previous one. A line still
// being written (no newline yet) is left for the next update.
type sinkTail struct {
	path   string
	offset int64
	seen   map[int64]int
	bad    int // lines that did not parse
}

func newSinkTail(path string) *sinkTail {
	return &sinkTail{path: path, seen: map[int64]int{}}
}

// update reads what was added; a missing file is not an error.
func (t *sinkTail) update() error {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() < t.offset {
		// Truncated under us: start over (the final check will tell).
		t.offset, t.seen, t.bad = 0, map[int64]int{}, 0
	}
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return err
	}
	return t.consume(f)
}

// consume reads complete lines from r, advancing the offset past them.
func (t *sinkTail) consume(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a partial line (or nothing) is left
		}
		if err != nil {
			return err
		}
		t.offset += int64(len(line))
		c, perr := parseSinkLine(line)
		if perr != nil {
			t.bad++
			continue
		}
		for _, id := range c.IDs {
			t.seen[id]++
		}
	}
}

// missing counts the ids of want the tail has seen fewer than times
// times.
func (t *sinkTail) missing(want []int64, times int) int {
	n := 0
	for _, id := range want {
		if t.seen[id] < times {
			n++
		}
	}
	return n
}
