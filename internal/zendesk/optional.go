package zendesk

import (
	"bytes"
	"encoding/json"
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

// MarshalJSON encodes an absent value as null.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if !o.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(o.Value)
}

// UnmarshalJSON decodes null as absent.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*o = Optional[T]{}
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Optional[T]{Value: v, Valid: true}
	return nil
}
