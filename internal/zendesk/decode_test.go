package zendesk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// referenceUnmarshal is AuditLog.UnmarshalJSON as it was before the fast
// path: encoding/json into the fields, then unknownMembers. The fast path
// must agree with it on every input.
func referenceUnmarshal(a *AuditLog, b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var f auditLogFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	extra, err := unknownMembers(b)
	if err != nil {
		return err
	}
	f.Extra = extra
	*a = AuditLog(f)
	return nil
}

// refAuditLog decodes with referenceUnmarshal, for use inside other types.
type refAuditLog AuditLog

func (r *refAuditLog) UnmarshalJSON(b []byte) error {
	return referenceUnmarshal((*AuditLog)(r), b)
}

// sentinel is a record to decode over: null and errors leave it as it is.
func sentinel() AuditLog {
	return AuditLog{
		ID: Some(int64(42)), Action: Some("sentinel"),
		Extra: map[string]json.RawMessage{"s": json.RawMessage(`1`)},
	}
}

// auditLogSeeds are realistic records and the corner cases of the fast
// path: escapes, unicode, nulls, nested unknown values, big numbers,
// floats for int fields, duplicate keys, case variants.
var auditLogSeeds = []string{
	`{"url":"https://acme.zendesk.com/api/v2/audit_logs/498483000001.json","id":498483000001,"action_label":"Updated","actor_id":1234,"actor_name":"Sameer Patel","source_id":3456,"source_type":"user","source_label":"John Doe","action":"update","change_description":"Role changed from Administrator to End User","ip_address":"209.119.38.228","created_at":"2024-05-01T11:32:44Z"}`,
	`{"url":"https://acme.zendesk.com/api/v2/audit_logs/498483000002.json","id":498483000002,"action_label":"Signed in","actor_id":-1,"actor_name":"Zendesk","source_id":77,"source_type":"account_setting","source_label":"Zoë Müller — 日本語ブランド","action":"login","change_description":"","ip_address":null,"created_at":"2024-05-01T11:32:44Z"}`,
	`{"id":498483000003,"action":"exported","change_description":"line one\nline two","ip_address":"2001:db8::1","created_at":"2024-05-01T11:32:45Z","ticket_count":12,"ratio":0.5,"flagged":true,"details":{"from":"a","to":["b","c"]},"nothing":null}`,
	` { "action" : "login" , "new" : { "x" : [ 1 , 2 ] } } `,
	"\t\r\n{\n\t\"id\" :\r 1 ,\"url\"\t:\"u\"\n}\n",
	`{}`, ` {} `, `null`, ` null `, "\v null \u00a0", `nul`, `nullx`, `[]`, `[{}]`, `"x"`, `1`, `true`, ``, ` `, `{`, `}`, `{"id":1`, `{"id":1,}`, `{"id":1}x`, `{"id":1}{}`, `{"id" 1}`, `{id:1}`, `{'id':1}`,
	`{"id":null,"url":null,"action":null,"action_label":null,"actor_id":null,"actor_name":null,"change_description":null,"created_at":null,"ip_address":null,"source_id":null,"source_label":null,"source_type":null}`,
	`{"id":0}`, `{"id":-0}`, `{"id":00}`, `{"id":01}`, `{"id":-}`, `{"id":--1}`, `{"id":+1}`,
	`{"id":9223372036854775807}`, `{"id":9223372036854775808}`, `{"id":-9223372036854775808}`, `{"id":-9223372036854775809}`,
	`{"id":99999999999999999999}`, `{"id":12345678901234567890123}`,
	`{"id":1.0}`, `{"id":1.5}`, `{"id":1e3}`, `{"id":1E3}`, `{"id":1e+3}`, `{"actor_id":-1.}`, `{"source_id":.5}`, `{"id":1.}`, `{"id":1e}`,
	`{"id":"1"}`, `{"id":true}`, `{"id":false}`, `{"id":{}}`, `{"id":[]}`, `{"id":[1]}`, `{"id":NaN}`,
	`{"url":1}`, `{"url":true}`, `{"url":{}}`, `{"url":[]}`, `{"url":"a\"b"}`, `{"url":"\u00e9\u2028\ud83d\ude80"}`, `{"url":"\ud800"}`, `{"url":"\udc00x"}`,
	`{"url":"\x"}`, `{"url":"\u12"}`, `{"url":"\u12G4"}`, "{\"url\":\"tab\there\"}", "{\"url\":\"nul\x00\"}",
	"{\"url\":\"bad \xff utf8\"}", "{\"url\":\"bad \xc3 utf8\"}", "{\"url\":\"surrogate \xed\xa0\x80\"}", "{\"url\":\"ok \xef\xbf\xbd\"}",
	`{"action":"é🚀 日本語","actor_name":"\/slash\\back"}`,
	`{"url":"\ud83d\u0041"}`, `{"url":"\ud83d\ud83d\ude80"}`, `{"url":"\udc00\ud800"}`, `{"url":"\uD83D\uDE80 \u0000 \b\f\r\t\/"}`, `{"url":"\ud83d\"}`, `{"url":"\ud83d\u"}`,
	`{"action":"a\"b","actor_name":"plain","change_description":"c\nd","source_label":"bad \u00e9\ud800 \\","url":"u"}`, "{\"action\":\"x\xffy\\n\",\"url\":\"\xed\xa0\x80\\t\"}",
	`{"url":"a\"","url":null}`, `{"url":null,"url":"\"b"}`, `{"url":"\"a","url":"b"}`, `{"url":"a\"","x":"\"","url":"\u00e9"}`,
	`{"created_at":"2024-05-01T11:32:44Z"}`, `{"created_at":"2024-05-01T11:32:44.123456789Z"}`, `{"created_at":"2024-05-01T11:32:44+02:00"}`,
	`{"created_at":"2024-05-01T11:32:44+05:30"}`, `{"created_at":"2024-05-01T11:32:44-00:00"}`, `{"created_at":"2024-05-01T11:32:44+24:00"}`,
	`{"created_at":"2024-05-01 11:32:44Z"}`, `{"created_at":"2024-05-01T11:32:44"}`, `{"created_at":"2024-5-1T11:32:44Z"}`, `{"created_at":"2024-05-01T11:32:44,5Z"}`,
	`{"created_at":"\u0032024-05-01T11:32:44Z"}`, `{"created_at":"yesterday"}`, `{"created_at":""}`, `{"created_at":1714563164}`, `{"created_at":true}`, `{"created_at":{}}`,
	`{"created_at":"2024-02-30T00:00:00Z"}`, `{"created_at":"10000-01-01T00:00:00Z"}`,
	`{"id":1,"id":2}`, `{"id":1,"id":null}`, `{"id":null,"id":3}`, `{"url":"a","url":"b"}`, `{"url":"a","url":null}`, `{"url":"a\n","url":"b"}`, `{"url":"a","url":"b\n"}`,
	`{"x":1,"x":2}`, `{"x":1,"x":null}`, `{"x":{"a":1},"x":[2]}`, `{"created_at":"2024-05-01T11:32:44Z","created_at":null}`,
	`{"ID":1}`, `{"Id":1,"id":2}`, `{"id":1,"ID":2}`, `{"URL":"u","Action":"a","ACTION_LABEL":"l","Actor_Id":5,"CREATED_AT":"2024-05-01T11:32:44Z"}`,
	`{"ıd":1}`, `{"İD":1}`, `{"ſource_id":1}`, `{"résumé":true}`, `{"\u0069d":7}`, `{"caf\u00e9":2,"q\"k":3,"back\\slash":4}`, "{\"\xff\":1}",
	`{"Extra":1}`, `{"-":1}`, `{"":1}`, `{"a":{"b":{"c":[1,{"d":[]}]}},"id":5,"e":[[],[{}]]}`, `{"a":"}{][","b":{"c":"}}}"},"id":1}`,
	`{"a":[1,2,]}`, `{"a":{"b":1,}}`, `{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":tru}`, `{"a":falsey}`, `{"a":-}`, `{"a":1.e5}`, `{"a":0.5e-10}`, `{"a":-0.0E+0}`,
	`{"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	`{"x":` + strings.Repeat(`{"a":`, 520) + `1` + strings.Repeat("}", 520) + `}`,
	`{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
}

// FuzzAuditLogDecodeMatchesEncodingJSON: for any bytes, AuditLog's
// UnmarshalJSON and the encoding/json reference both fail, with the same
// error, or both give the same record; null leaves the record as it was.
func FuzzAuditLogDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range auditLogSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAuditLogDecode(t, b)
	})
}

func checkAuditLogDecode(t *testing.T, b []byte) {
	t.Helper()
	got, want := sentinel(), sentinel()
	gotErr := got.UnmarshalJSON(bytes.Clone(b))
	wantErr := referenceUnmarshal(&want, bytes.Clone(b))
	if msg(gotErr) != msg(wantErr) {
		t.Fatalf("%q: error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}

	// The same through encoding/json, as a member of a page.
	var gotV AuditLog
	var wantV refAuditLog
	gotErr, wantErr = json.Unmarshal(b, &gotV), json.Unmarshal(b, &wantV)
	if msg(gotErr) != strings.ReplaceAll(msg(wantErr), "refAuditLog", "AuditLog") {
		t.Fatalf("%q: json.Unmarshal error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if !reflect.DeepEqual(gotV, AuditLog(wantV)) {
		t.Fatalf("%q: json.Unmarshal\n got %#v\nwant %#v", b, gotV, AuditLog(wantV))
	}
}

func msg(err error) string {
	if err == nil {
		return ""
	}
	return "error: " + err.Error()
}

func TestAuditLogDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range auditLogSeeds {
		checkAuditLogDecode(t, []byte(s))
	}
	// Every prefix of a record: truncated bodies.
	rec := auditLogSeeds[2]
	for i := range len(rec) {
		checkAuditLogDecode(t, []byte(rec[:i]))
	}
	// Every byte of a record replaced by one that matters to JSON.
	for i := range len(rec) {
		for _, c := range []byte(` "\{}[],:0-.eE+tfnu` + "\x00\x1f\x80\xff") {
			b := []byte(rec)
			b[i] = c
			checkAuditLogDecode(t, b)
		}
	}
}

// The fast path decides the usual records by itself, without encoding/json.
func TestAuditLogDecodeFastPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		auditLogSeeds[0], auditLogSeeds[1], auditLogSeeds[2], auditLogSeeds[3], `{}`,
		`{"id":1,"id":null,"url":"a","url":"b","x":1,"x":2,"ID":5}`,
	} {
		d := decoder{b: []byte(s)}
		d.ws()
		var a AuditLog
		if !d.record(&a) {
			t.Errorf("fast path gave up on %s at %d", s, d.i)
		}
	}
	// Escapes and invalid UTF-8 in values stay on the fast path.
	for _, s := range []string{`{"url":"a\nb"}`, `{"url":"\ud800"}`, `{"change_description":"Description changed from \"\" to \"x\"","action":"a\u00e9\ud83d\ude80"}`, "{\"url\":\"bad \xff\"}"} {
		d := decoder{b: []byte(s)}
		var a AuditLog
		if !d.record(&a) {
			t.Errorf("fast path gave up on %s at %d", s, d.i)
		}
	}
}

// A usual record costs one allocation, for all its strings.
func TestAuditLogDecodeAllocations(t *testing.T) {
	b := []byte(auditLogSeeds[0])
	var a AuditLog
	if n := testing.AllocsPerRun(100, func() {
		if err := a.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("%v allocations per record, want 1", n)
	}
}

// The strings of a record share one allocation but are their own values:
// changing the input afterwards changes nothing.
func TestAuditLogDecodeValues(t *testing.T) {
	t.Parallel()
	in := []byte(`{"url":"u","action":"","actor_name":"a\tb","source_type":"t","x":{"k":[1]},"y":"z","x":2,"created_at":"2024-05-01T11:32:44+02:00"}`)
	var a, want AuditLog
	if err := a.UnmarshalJSON(in); err != nil {
		t.Fatal(err)
	}
	if err := referenceUnmarshal(&want, bytes.Clone(in)); err != nil {
		t.Fatal(err)
	}
	copy(in, bytes.Repeat([]byte("#"), len(in)))
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %#v\nwant %#v", a, want)
	}
	if a.URL != Some("u") || a.Action != Some("") || a.ActorName != Some("a\tb") || a.SourceType != Some("t") ||
		!a.CreatedAt.Value.Equal(time.Date(2024, 5, 1, 9, 32, 44, 0, time.UTC)) ||
		string(a.Extra["x"]) != "2" || string(a.Extra["y"]) != `"z"` || len(a.Extra) != 2 {
		t.Fatalf("got %#v", a)
	}
	// Appending to one Extra value does not touch the other.
	_ = append(a.Extra["x"], '!')
	if string(a.Extra["x"]) != "2" || string(a.Extra["y"]) != `"z"` {
		t.Fatalf("Extra values overlap: %q", a.Extra)
	}
}

func BenchmarkAuditLogUnmarshalJSON(b *testing.B) {
	rec := []byte(auditLogSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			var a AuditLog
			if err := a.UnmarshalJSON(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			var a AuditLog
			if err := referenceUnmarshal(&a, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
