package checkpoint

import (
	"testing"
	"time"
)

// FuzzDecode: any stored bytes give a usable position or an error, never a
// panic, and a position that decodes also encodes back to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"second":"2024-05-01T11:32:44Z","ids":[1,2,3]}`))
	f.Add([]byte(`{"version":1,"second":"2024-05-01T11:32:44Z"}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"second":"9999-12-31T23:59:59Z","ids":[-1]}`))
	f.Add([]byte(`null`))
	f.Add([]byte{0xff, 0x00})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b, now)
		if err != nil {
			return
		}
		if p.Second.After(now.Add(MaxFutureSkew)) {
			t.Fatalf("accepted a second in the future: %s", p.Second)
		}
		again, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Decode(again, now)
		if err != nil || !p.Equal(q) {
			t.Fatalf("round trip changed %v into %v (%v)", p, q, err)
		}
	})
}
