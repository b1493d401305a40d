package zendesk_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// page wraps records in a cursor page body.
func page(records ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"audit_logs":[`)
	for i, r := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r)
	}
	b.WriteString(`],"meta":{"has_more":false,"after_cursor":"a","before_cursor":"b"},"links":{"next":null,"prev":null}}`)
	return b.Bytes()
}

func decodeOne(t *testing.T, record string) zendesk.AuditLog {
	t.Helper()
	p, err := zendesk.DecodeCursorPage(page(record))
	require.NoError(t, err)
	require.Len(t, p.AuditLogs, 1)
	return p.AuditLogs[0]
}

func raw(s string) jsontext.Value { return jsontext.Value(s) }

// Every field is optional: absent, null and present values decode.
func TestAuditLogDecoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want zendesk.AuditLog
	}{
		{"empty object", `{}`, zendesk.AuditLog{}},
		{"null record", `null`, zendesk.AuditLog{}},
		{"all null", `{"id":null,"url":null,"action":null,"action_label":null,"actor_id":null,"actor_name":null,
			"change_description":null,"created_at":null,"ip_address":null,"source_id":null,"source_label":null,"source_type":null}`,
			zendesk.AuditLog{}},
		{"every field", `{"url":"https://acme.zendesk.com/api/v2/audit_logs/1.json","id":1,"action_label":"Updated","actor_id":-1,
			"actor_name":"Zendesk","source_id":987654321098,"source_type":"user","source_label":"John Doe","action":"update",
			"change_description":"a\nb \"q\" \u00e9","ip_address":"2001:db8::1","created_at":"2024-05-01T11:32:44Z"}`,
			zendesk.AuditLog{
				URL: zendesk.Some("https://acme.zendesk.com/api/v2/audit_logs/1.json"), ID: zendesk.Some(int64(1)),
				ActionLabel: zendesk.Some("Updated"), ActorID: zendesk.Some(int64(-1)), ActorName: zendesk.Some("Zendesk"),
				SourceID: zendesk.Some(int64(987654321098)), SourceType: zendesk.Some("user"), SourceLabel: zendesk.Some("John Doe"),
				Action: zendesk.Some("update"), ChangeDescription: zendesk.Some("a\nb \"q\" é"), IPAddress: zendesk.Some("2001:db8::1"),
				CreatedAt: zendesk.Some(time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC)),
			}},
		{"empty strings are present", `{"change_description":"","ip_address":""}`,
			zendesk.AuditLog{ChangeDescription: zendesk.Some(""), IPAddress: zendesk.Some("")}},
		{"escaped known name", `{"\u0069d":7}`, zendesk.AuditLog{ID: zendesk.Some(int64(7))}},
		{"created_at with fractions", `{"created_at":"2024-05-01T11:32:44.5Z"}`,
			zendesk.AuditLog{CreatedAt: zendesk.Some(time.Date(2024, 5, 1, 11, 32, 44, 5e8, time.UTC))}},
		{"unknown members, as sent", ` { "action" : "login" , "new" : { "x" : [ 1 , 2 ] }, "n": null } `,
			zendesk.AuditLog{Action: zendesk.Some("login"), Extra: map[string]jsontext.Value{"new": raw(`{ "x" : [ 1 , 2 ] }`), "n": raw(`null`)}}},
		{"names match exactly: another case is another member", `{"ID":1}`,
			zendesk.AuditLog{Extra: map[string]jsontext.Value{"ID": raw(`1`)}}},
		{"duplicate names: the last wins", `{"id":1,"id":2,"x":1,"x":2}`,
			zendesk.AuditLog{ID: zendesk.Some(int64(2)), Extra: map[string]jsontext.Value{"x": raw(`2`)}}},
		{"invalid UTF-8 becomes U+FFFD", "{\"actor_name\":\"a\xffb\"}", zendesk.AuditLog{ActorName: zendesk.Some("a\uFFFDb")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeOne(t, tc.in)
			if tc.want.Extra == nil {
				assert.Nil(t, got.Extra)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// A member of a known name whose value does not fit its field leaves the
// field absent, is kept as sent in Extra, and is named in Mistyped; the
// other fields of the record decode as usual.
func TestMistypedFieldsAreKeptAndNamed(t *testing.T) {
	t.Parallel()
	const rest = `"action_label":"Updated","actor_name":"Sameer Patel","source_type":"user"`
	for _, tc := range []struct {
		name, member, value, got, want string
	}{
		{"actor_id as a string", "actor_id", `"system"`, "string", "an integer"},
		{"source_id as a string", "source_id", `"n/a"`, "string", "an integer"},
		{"action as an array", "action", `["update","bulk"]`, "array", "a string"},
		{"ip_address as an object", "ip_address", `{"v4":"203.0.113.9"}`, "object", "a string"},
		{"id as a string", "id", `"498483"`, "string", "an integer"},
		{"id as a fraction", "id", `1.5`, "number", "an integer"},
		{"id beyond int64", "id", `9223372036854775808`, "number", "an integer"},
		{"id in exponent form", "id", `1e3`, "number", "an integer"},
		{"created_at as a number", "created_at", `1714563164`, "number", "an RFC 3339 time string"},
		{"created_at unparseable", "created_at", `"yesterday"`, "string", "an RFC 3339 time string"},
		{"change_description as a boolean", "change_description", `true`, "boolean", "a string"},
		{"url as an object", "url", `{"href":"x"}`, "object", "a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"id":5,"created_at":"2024-05-01T11:32:44Z","actor_id":9,"source_id":3,"action":"update","ip_address":"192.0.2.1",` + rest + `}`
			// The member under test comes last, replacing the well-typed one.
			in = in[:len(in)-1] + `,"` + tc.member + `":` + tc.value + `}`
			got := decodeOne(t, in)

			assert.Equal(t, []zendesk.MistypedField{{Name: tc.member, Got: tc.got, Want: tc.want}}, got.Mistyped)
			assert.Equal(t, map[string]jsontext.Value{tc.member: raw(tc.value)}, got.Extra, "the value as sent, under its own name")
			fields := map[string]bool{
				"id": got.ID.Valid, "created_at": got.CreatedAt.Valid, "actor_id": got.ActorID.Valid,
				"source_id": got.SourceID.Valid, "action": got.Action.Valid, "ip_address": got.IPAddress.Valid,
				"url": got.URL.Valid, "change_description": got.ChangeDescription.Valid,
			}
			for name, valid := range fields {
				wantValid := name != tc.member && name != "url" && name != "change_description"
				assert.Equal(t, wantValid, valid, "field %s", name)
			}
			assert.Equal(t, zendesk.Some("Sameer Patel"), got.ActorName, "the other fields decode as usual")

			// Encoded again, the record has the member as it came.
			out, err := json.Marshal(got)
			require.NoError(t, err)
			var members map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(out, &members))
			assert.JSONEq(t, tc.value, string(members[tc.member]))
		})
	}
}

// A mistyped member followed by a well-typed one of the same name: the
// last wins, and the record is not reported as mistyped; and the reverse.
func TestMistypedDuplicateNames(t *testing.T) {
	t.Parallel()
	got := decodeOne(t, `{"actor_id":"system","actor_id":7}`)
	assert.Equal(t, zendesk.AuditLog{ActorID: zendesk.Some(int64(7))}, got)

	got = decodeOne(t, `{"actor_id":7,"actor_id":"system"}`)
	assert.False(t, got.ActorID.Valid)
	assert.Equal(t, []zendesk.MistypedField{{Name: "actor_id", Got: "string", Want: "an integer"}}, got.Mistyped)
}

// Several records, each decoded on its own: one record's mistyped field
// touches neither the records before it nor those after it.
func TestOneMistypedRecordDoesNotTouchTheOthers(t *testing.T) {
	t.Parallel()
	p, err := zendesk.DecodeCursorPage(page(
		`{"id":1,"actor_id":2}`,
		`{"id":2,"actor_id":"system","action":["update","bulk"]}`,
		`{"id":3,"actor_id":4}`,
	))
	require.NoError(t, err)
	require.Len(t, p.AuditLogs, 3)
	assert.Equal(t, zendesk.AuditLog{ID: zendesk.Some(int64(1)), ActorID: zendesk.Some(int64(2))}, p.AuditLogs[0])
	assert.Equal(t, zendesk.AuditLog{ID: zendesk.Some(int64(3)), ActorID: zendesk.Some(int64(4))}, p.AuditLogs[2])
	assert.Equal(t, []zendesk.MistypedField{
		{Name: "actor_id", Got: "string", Want: "an integer"},
		{Name: "action", Got: "array", Want: "a string"},
	}, p.AuditLogs[1].Mistyped)
	assert.Equal(t, zendesk.Some(int64(2)), p.AuditLogs[1].ID)
	assert.Equal(t, "actor_id: string, not an integer", p.AuditLogs[1].Mistyped[0].String())
}

// What stays an error: a body that is not JSON, and an envelope not of
// the API's shape.
func TestDecodeCursorPageErrors(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty":                         ``,
		"HTML":                          `<html><body>503</body></html>`,
		"truncated":                     string(zendesksim.SamplePage(3)[:200]),
		"trailing garbage":              `{"audit_logs":[]} x`,
		"audit_logs not an array":       `{"audit_logs":{"id":1}}`,
		"has_more not a boolean":        `{"audit_logs":[],"meta":{"has_more":"yes"}}`,
		"after_cursor not a string":     `{"audit_logs":[],"meta":{"after_cursor":5}}`,
		"an invalid value in a record":  `{"audit_logs":[{"id":01}]}`,
		"a record cut inside a member":  `{"audit_logs":[{"id":1,"actor_id":"sys`,
		"not an object at the top":      `[{"id":1}]`,
		"a string not closed in a name": `{"audit_logs":[{"id`,
	} {
		_, err := zendesk.DecodeCursorPage([]byte(body))
		assert.Error(t, err, name)
	}
	_, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[{"id":1},{"id":01}]}`))
	assert.ErrorContains(t, err, "/audit_logs/1", "the error says where")
}

// A record that is not a JSON object is schema drift of the whole record:
// it is kept as sent, said to be mistyped, and the records around it are
// decoded as usual.
func TestDecodeCursorPageKeepsARecordThatIsNotAnObject(t *testing.T) {
	t.Parallel()
	p, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[{"id":1},"x",[1,{"a":2}],42,true,{"id":2}],"meta":{"has_more":false}}`))
	require.NoError(t, err)
	require.Len(t, p.AuditLogs, 6)
	assert.Equal(t, zendesk.Some(int64(1)), p.AuditLogs[0].ID)
	assert.Equal(t, zendesk.Some(int64(2)), p.AuditLogs[5].ID)
	for i, want := range map[int]struct{ raw, got string }{
		1: {`"x"`, "string"}, 2: {`[1,{"a":2}]`, "array"}, 3: {`42`, "number"}, 4: {`true`, "boolean"},
	} {
		a := p.AuditLogs[i]
		assert.Equal(t, want.raw, string(a.NotAnObject), "record %d", i)
		assert.Equal(t, []zendesk.MistypedField{{Name: zendesk.FieldRecord, Got: want.got, Want: "an object"}}, a.Mistyped, "record %d", i)
		assert.False(t, a.ID.Valid || a.CreatedAt.Valid, "record %d has no fields", i)
		b, err := json.Marshal(a)
		require.NoError(t, err)
		assert.Equal(t, want.raw, string(b), "encoded as it was sent")
	}
}

// The envelope: cursors, has_more, nulls, members the client does not read.
func TestDecodeCursorPageEnvelope(t *testing.T) {
	t.Parallel()
	p, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[],"meta":{"has_more":true,"after_cursor":"x\u0041","before_cursor":null},"links":{"next":"n"},"other":1}`))
	require.NoError(t, err)
	assert.Equal(t, &zendesk.Page{AuditLogs: []zendesk.AuditLog{}, HasMore: true, AfterCursor: "xA"}, p)

	p, err = zendesk.DecodeCursorPage([]byte(`{"meta":null}`))
	require.NoError(t, err)
	assert.Empty(t, p.AuditLogs)
	assert.False(t, p.HasMore)

	p, err = zendesk.DecodeCursorPage(zendesksim.SamplePage(100))
	require.NoError(t, err)
	require.Len(t, p.AuditLogs, 100)
	assert.Equal(t, "xyz", p.AfterCursor)
	for _, a := range p.AuditLogs {
		assert.Empty(t, a.Mistyped)
		assert.Nil(t, a.Extra)
	}
}

// The client reads bodies into buffers it reuses, so nothing decoded may
// refer to the body's bytes.
func TestDecodedRecordsDoNotAliasTheBody(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"sample": string(zendesksim.SamplePage(3)),
		"escapes, extras and mistyped fields": `{"audit_logs":[{"id":1,"action":"upd\"ate","actor_name":"Zo\u00eb","change_description":"a\nb",` +
			`"created_at":"2024-05-01T11:32:00Z","custom":{"k":[1,"v"]},"tag":"x","actor_id":"system","ip_address":{"v4":"1.2.3.4"}}],` +
			`"meta":{"has_more":true,"after_cursor":"aGVsbG8=","before_cursor":"b\u0041"}}`,
	} {
		want, err := zendesk.DecodeCursorPage([]byte(body))
		require.NoError(t, err, name)
		buf := []byte(body)
		got, err := zendesk.DecodeCursorPage(buf)
		require.NoError(t, err, name)
		for i := range buf {
			buf[i] = 'X'
		}
		assert.True(t, reflect.DeepEqual(got, want), "%s: overwriting the body changed the decoded page", name)
	}
}

// Records encode with the API's member names, absent fields left out,
// Extra's members after them; encoding/json and the decoder agree.
func TestAuditLogEncoding(t *testing.T) {
	t.Parallel()
	out, err := json.Marshal(zendesk.AuditLog{})
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(out))

	a := zendesk.AuditLog{
		ID:        zendesk.Some(int64(5)),
		CreatedAt: zendesk.Some(time.Date(2024, 5, 1, 11, 32, 44, 0, time.UTC)),
		IPAddress: zendesk.Optional[string]{},
		Extra:     map[string]jsontext.Value{"new": raw(`[1,{"a":null}]`), "b": raw(`"x"`)},
	}
	out, err = json.Marshal(a)
	require.NoError(t, err)
	assert.Equal(t, `{"id":5,"created_at":"2024-05-01T11:32:44Z","b":"x","new":[1,{"a":null}]}`, string(out))

	var back zendesk.AuditLog
	require.NoError(t, json.Unmarshal(out, &back), "encoding/json callers decode through UnmarshalJSON")
	assert.Equal(t, a, back)
}

func BenchmarkDecodeCursorPage(b *testing.B) {
	body := zendesksim.SamplePage(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := zendesk.DecodeCursorPage(body); err != nil {
			b.Fatal(err)
		}
	}
}

// A string field holds the string as the library unquotes it, whether it
// takes the copy of a plain string or the unquoting of one with escapes or
// invalid UTF-8 (replaced by U+FFFD, as AllowInvalidUTF8 does).
func TestStringFieldsAreUnquotedAsTheLibraryDoes(t *testing.T) {
	t.Parallel()
	for _, quoted := range []string{
		`""`, `"update"`, `"Logged in"`, `"naïve café ✓ 日本"`, `"a\"b"`, `"line\nnext"`,
		`"\u00e9t\u00e9"`, `"\ud83d\ude00"`, `"back\\slash"`, `"tab\tand\/slash"`,
		"\"bad \xff utf8\"", "\"cut \xe2\x82\"", "\"\xed\xa0\x80 surrogate\"",
	} {
		want, _ := jsontext.AppendUnquote(nil, quoted) // invalid UTF-8: replaced, and an error
		require.True(t, utf8.Valid(want), quoted)
		page, err := zendesk.DecodeCursorPage([]byte(`{"audit_logs":[{"action":` + quoted + `,"actor_name":"x","change_description":` + quoted + `}]}`))
		require.NoError(t, err, quoted)
		require.Len(t, page.AuditLogs, 1)
		a := page.AuditLogs[0]
		assert.Equal(t, string(want), a.Action.Value, quoted)
		assert.Equal(t, string(want), a.ChangeDescription.Value, quoted)
		assert.Equal(t, "x", a.ActorName.Value, quoted)
	}
}

// A page's records share one string for their string fields, made when
// the page is read; a page of more records than a page holds (an API
// that ignored page[size]) moves them as it grows, and each keeps its own
// fields all the same: every record of the page is what it is alone.
func TestEveryRecordOfALargePageHasItsOwnStrings(t *testing.T) {
	t.Parallel()
	body := zendesksim.SamplePage(3*zendesk.MaxPageSize + 7)
	page, err := zendesk.DecodeCursorPage(body)
	require.NoError(t, err)
	var raw struct {
		AuditLogs []jsontext.Value `json:"audit_logs"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	require.Len(t, page.AuditLogs, len(raw.AuditLogs))
	for i, r := range raw.AuditLogs {
		var alone zendesk.AuditLog
		require.NoError(t, alone.UnmarshalJSON(r))
		require.Equal(t, alone, page.AuditLogs[i], "record %d", i)
	}
}
