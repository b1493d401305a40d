package zendesk

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Optional is a value that may be absent or JSON null. Every field of an
// audit log is optional: Zendesk documents all of them as read-only and
// nullable.
type Optional[T any] struct {
	Value T
	Valid bool
}

// Some returns a present Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Valid: true} }

// Get returns the value and whether it is present.
func (o Optional[T]) Get() (T, bool) { return o.Value, o.Valid }

// IsZero reports whether the value is absent; with the `omitzero` tag it
// keeps absent fields out of encoded JSON.
func (o Optional[T]) IsZero() bool { return !o.Valid }

// MarshalJSONTo encodes the value, or null when it is absent.
func (o Optional[T]) MarshalJSONTo(enc *jsontext.Encoder) error {
	if !o.Valid {
		return enc.WriteToken(jsontext.Null)
	}
	return json.MarshalEncode(enc, o.Value)
}
