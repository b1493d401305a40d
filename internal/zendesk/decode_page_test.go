package zendesk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// refCursorPageBody is cursorPageBody with records decoded by the
// reference, referenceUnmarshal.
type refCursorPageBody struct {
	AuditLogs []refAuditLog `json:"audit_logs"`
	Meta      struct {
		HasMore      bool    `json:"has_more"`
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
	} `json:"meta"`
}

// referencePage is what List made of a body before DecodeCursorPage:
// json.Unmarshal, records by referenceUnmarshal.
func referencePage(b []byte) (*Page, error) {
	var body refCursorPageBody
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, err
	}
	page := &Page{HasMore: body.Meta.HasMore}
	if body.AuditLogs != nil {
		page.AuditLogs = make([]AuditLog, len(body.AuditLogs))
		for i, r := range body.AuditLogs {
			page.AuditLogs[i] = AuditLog(r)
		}
	}
	if body.Meta.AfterCursor != nil {
		page.AfterCursor = *body.Meta.AfterCursor
	}
	if body.Meta.BeforeCursor != nil {
		page.BeforeCursor = *body.Meta.BeforeCursor
	}
	return page, nil
}

// cursorPageSeeds are pages as Zendesk sends them and the corner cases of
// the page's fast path.
var cursorPageSeeds = []string{
	string(zendesksim.SamplePage(3)),
	`{"audit_logs":[{"id":1,"created_at":"2024-05-01T11:32:44Z","ip_address":null,"extra":{"a":[1,"}"]}}],"meta":{"has_more":true,"after_cursor":"x"}}`,
	`{"audit_logs":[{"\u0069d":2,"action":"up\"date"}]}`,
	`{"audit_logs":[{"id":"1"}]}`, `{"audit_logs":[{"id":1,`, `<html>503</html>`,
	`{"audit_logs":[],"meta":{"has_more":false,"after_cursor":null,"before_cursor":null},"links":{"next":null,"prev":null}}`,
	` { "audit_logs" : [ { "id" : 1 } , null , { } ] , "meta" : { "has_more" : true , "after_cursor" : "a" , "before_cursor" : "b" } } `,
	`{}`, `null`, ` null `, `[]`, `"x"`, `1`, ``, `{"audit_logs":null}`, `{"audit_logs":[null]}`, `{"audit_logs":{}}`, `{"audit_logs":"x"}`, `{"audit_logs":[1]}`, `{"audit_logs":[[]]}`, `{"audit_logs":["x"]}`,
	`{"audit_logs":[{"id":1}],"audit_logs":[{"url":"u"}]}`, `{"audit_logs":[{"id":1},{"id":2}],"audit_logs":[null]}`, `{"audit_logs":[{"id":1}],"audit_logs":null}`, `{"audit_logs":null,"audit_logs":[{"id":1}]}`, `{"audit_logs":[{"id":1}],"AUDIT_LOGS":[]}`,
	`{"Audit_Logs":[{"ID":3}],"META":{"HAS_MORE":true,"After_Cursor":"c"}}`, `{"audıt_logs":[{"id":1}]}`, `{"audit_logſ":[{"id":1}]}`, `{"\u0061udit_logs":[{"id":1}]}`,
	`{"meta":null}`, `{"meta":{}}`, `{"meta":[]}`, `{"meta":1}`, `{"meta":"x"}`, `{"meta":{"has_more":null}}`, `{"meta":{"has_more":1}}`, `{"meta":{"has_more":"true"}}`,
	`{"meta":{"has_more":true},"meta":{"after_cursor":"a"}}`, `{"meta":{"has_more":true},"meta":null}`, `{"meta":{"has_more":true,"has_more":null}}`, `{"meta":{"has_more":true,"has_more":false}}`,
	`{"meta":{"after_cursor":"a","after_cursor":null}}`, `{"meta":{"after_cursor":"a\nb","before_cursor":"\ud800"}}`, `{"meta":{"after_cursor":1}}`, `{"meta":{"after_cursor":{}}}`, "{\"meta\":{\"after_cursor\":\"\xff\"}}",
	`{"meta":{"has_more":true,"after_cursor":"a","x":[1,{"y":null}]}}`, `{"meta":{"has_more":tru}}`, `{"meta":{"has_more":true,}}`, `{"meta":{"has_more":true}`, `{"meta":{"has_more":true}}x`, `{"meta":{"has_more":true}} `,
	`{"count":3,"next_page":null,"audit_logs":[{"id":1}]}`, `{"links":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
}

// FuzzCursorPageDecodeMatchesEncodingJSON: for any bytes, DecodeCursorPage
// and json.Unmarshal with the reference records both fail or both give the
// same page.
func FuzzCursorPageDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range cursorPageSeeds {
		f.Add([]byte(s))
	}
	for _, s := range auditLogSeeds {
		f.Add([]byte(`{"audit_logs":[` + s + `]}`))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCursorPageDecode(t, b)
	})
}

func checkCursorPageDecode(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := DecodeCursorPage(bytes.Clone(b))
	want, wantErr := referencePage(bytes.Clone(b))
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	// Type names differ between the two bodies; the rest of the message
	// is the same.
	if gotErr != nil && msg(gotErr) != strings.NewReplacer("refCursorPageBody", "cursorPageBody", "refAuditLog", "AuditLog").Replace(msg(wantErr)) {
		t.Fatalf("%q: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
}

func TestCursorPageDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range cursorPageSeeds {
		checkCursorPageDecode(t, []byte(s))
	}
	for _, s := range auditLogSeeds {
		checkCursorPageDecode(t, []byte(`{"audit_logs":[`+s+`]}`))
	}
	page := cursorPageSeeds[7]
	for i := range len(page) {
		checkCursorPageDecode(t, []byte(page[:i]))
		for _, c := range []byte(` "\{}[],:0-.tfnu` + "\x00\x80") {
			b := []byte(page)
			b[i] = c
			checkCursorPageDecode(t, b)
		}
	}
}

// The fast path decides a usual page by itself.
func TestCursorPageDecodeFastPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{string(zendesksim.SamplePage(100)), cursorPageSeeds[1], cursorPageSeeds[6], cursorPageSeeds[7], `{}`} {
		var body cursorPageBody
		if !body.decodeFast([]byte(s)) {
			t.Errorf("fast path gave up on %.80s", s)
		}
	}
	page, err := DecodeCursorPage(zendesksim.SamplePage(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.AuditLogs) != 100 || !page.HasMore || page.AfterCursor != "xyz" || page.BeforeCursor != "abc" ||
		page.AuditLogs[99].ID != Some(int64(498483000099)) {
		t.Fatalf("got %+v", page)
	}
}

func BenchmarkDecodeCursorPage(b *testing.B) {
	page := zendesksim.SamplePage(100)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeCursorPage(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var body cursorPageBody
			if err := json.Unmarshal(page, &body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The client reads bodies into buffers it reuses, so nothing decoded may
// refer to the body's bytes: every decoder, fast and slow, copies.
func TestDecodedRecordsDoNotAliasTheBody(t *testing.T) {
	bodies := map[string]string{
		"fast path": string(zendesksim.SamplePage(3)),
		"escapes and extras": `{"audit_logs":[{"id":1,"action":"upd\"ate","actor_name":"Zo\u00eb","change_description":"a\nb","created_at":"2024-05-01T11:32:00Z","custom":{"k":[1,"v"]},"tag":"x"}],` +
			`"meta":{"has_more":true,"after_cursor":"aGVsbG8=","before_cursor":"b\u0041"}}`,
		"slow path (escaped member name)": `{"audit_logs":[{"i\u0064":7,"action":"create","url":"https://x.zendesk.com/a","extra":"e","created_at":"2024-05-01T11:32:00Z"}],"meta":{"has_more":false,"after_cursor":"c","before_cursor":null}}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			want, err := DecodeCursorPage([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			buf := []byte(body)
			got, err := DecodeCursorPage(buf)
			if err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				buf[i] = 'X'
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("overwriting the body changed the decoded page:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
