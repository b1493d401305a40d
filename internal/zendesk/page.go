package zendesk

import (
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// A success body is decoded in one pass: the envelope, and each record in
// place by AuditLog's UnmarshalJSONFrom, token by token. Only a body that
// is not JSON, or whose envelope does not have the API's shape, is an
// error; a record with a member of an unexpected type is decoded as far
// as it goes and says so (Mistyped), and a record that is not an object is
// kept as sent (NotAnObject). (Decoding the envelope with each record left
// as a raw value, then each record on its own, scanned every record twice
// and copied it once: a fifth of a drain's CPU, see docs/performance.md.)

// cursorPageBody is a body of the cursor-paginated listing. links is not
// read: the client builds every request on its own base URL.
type cursorPageBody struct {
	// date, roundTrip and latency describe the response (see dated).
	date               time.Time
	roundTrip, latency time.Duration
	AuditLogs          auditLogs `json:"audit_logs"`
	Meta               struct {
		HasMore      bool    `json:"has_more"`
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
	} `json:"meta"`
}

func (p *cursorPageBody) decode(b []byte) error { return json.Unmarshal(b, p, jsonOptions) }

// page is what List returns of the body, without List's check of has_more
// against after_cursor (which depends on the request).
func (p *cursorPageBody) page() (*Page, error) {
	page := &Page{AuditLogs: p.AuditLogs, HasMore: p.Meta.HasMore}
	if p.Meta.AfterCursor != nil {
		page.AfterCursor = *p.Meta.AfterCursor
	}
	if p.Meta.BeforeCursor != nil {
		page.BeforeCursor = *p.Meta.BeforeCursor
	}
	return page, nil
}

// DecodeCursorPage decodes a body of the cursor-paginated listing into the
// Page List makes of it (without List's check of has_more against
// after_cursor, which depends on the request).
func DecodeCursorPage(b []byte) (*Page, error) {
	var body cursorPageBody
	if err := body.decode(b); err != nil {
		return nil, err
	}
	return body.page()
}

type offsetPageBody struct {
	AuditLogs    auditLogs `json:"audit_logs"`
	Count        int       `json:"count"`
	NextPage     *string   `json:"next_page"`
	PreviousPage *string   `json:"previous_page"`
}

func (p *offsetPageBody) decode(b []byte) error { return json.Unmarshal(b, p, jsonOptions) }

type showBody struct {
	AuditLog jsontext.Value `json:"audit_log"`
}

func (p *showBody) decode(b []byte) error { return json.Unmarshal(b, p, jsonOptions) }

// decodeRecords decodes each record on its own. A null record is the zero
// AuditLog; one that is not a JSON object is kept as sent (NotAnObject).
func decodeRecords(raws []jsontext.Value) ([]AuditLog, error) {
	logs := make([]AuditLog, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &logs[i], jsonOptions); err != nil {
			return nil, fmt.Errorf("audit_logs[%d]: %w", i, err)
		}
	}
	return logs, nil
}
