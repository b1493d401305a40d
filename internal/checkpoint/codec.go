package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the format of the stored value this code writes and reads.
const Version = 1

// MaxIDs bounds the ids a stored value may hold. A second with more audit
// logs than this is far beyond anything Zendesk produces.
const MaxIDs = 1_000_000

// MaxFutureSkew is how far past the local clock a stored second may lie,
// for clock skew between Zendesk and the collector. A stored value further
// ahead is refused, so a tampered checkpoint cannot make the receiver skip
// ahead.
const MaxFutureSkew = time.Minute

// MinSecond is the earliest second a stored position may hold: Zendesk's
// audit log did not exist before it (Zendesk itself was founded in 2007).
// An earlier second is a mistake, e.g. a year typed as 0000 that makes
// every request's created_at filter invalid, and is refused both ways.
var MinSecond = time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)

type stored struct {
	Version int       `json:"version"`
	Second  time.Time `json:"second"`
	IDs     []int64   `json:"ids"`
}

// Encode renders p as the stored value: JSON with a version field. A
// second before MinSecond is an error.
func Encode(p Position) ([]byte, error) {
	if p.Second.Before(MinSecond) {
		return nil, fmt.Errorf("checkpoint second %s is before %s, before Zendesk's audit log existed", formatSecond(p.Second), MinSecond.Format(time.RFC3339))
	}
	ids := p.IDs()
	if ids == nil {
		ids = []int64{}
	}
	return json.Marshal(stored{Version: Version, Second: p.Second.UTC(), IDs: ids})
}

// Decode reads a stored value and checks it before use: the version is
// known, the second is set, whole, not before MinSecond and not in the
// future, the ids are
// positive and not too many.
func Decode(b []byte, now time.Time) (Position, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Position{}, fmt.Errorf("checkpoint is not valid JSON: %w", err)
	}
	if head.Version == nil {
		return Position{}, errors.New("checkpoint has no version field")
	}
	if *head.Version != Version {
		return Position{}, fmt.Errorf("checkpoint version %d is not supported (this build reads version %d)", *head.Version, Version)
	}
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Position{}, fmt.Errorf("checkpoint version %d is malformed: %w", Version, err)
	}
	switch {
	case s.Second.IsZero():
		return Position{}, errors.New("checkpoint has no second")
	case s.Second.Before(MinSecond):
		return Position{}, fmt.Errorf("checkpoint second %s is before %s, before Zendesk's audit log existed", formatSecond(s.Second), MinSecond.Format(time.RFC3339))
	case !s.Second.Equal(s.Second.Truncate(time.Second)):
		return Position{}, fmt.Errorf("checkpoint second %s is not a whole second", s.Second.Format(time.RFC3339Nano))
	case s.Second.After(now.Add(MaxFutureSkew)):
		return Position{}, fmt.Errorf("checkpoint second %s is in the future", s.Second.UTC().Format(time.RFC3339))
	case len(s.IDs) > MaxIDs:
		return Position{}, fmt.Errorf("checkpoint holds %d ids, more than %d", len(s.IDs), MaxIDs)
	}
	for _, id := range s.IDs {
		if id <= 0 {
			return Position{}, fmt.Errorf("checkpoint holds the id %d, which is not positive", id)
		}
	}
	return At(s.Second, s.IDs), nil
}

// formatSecond renders t for a message, RFC 3339 in UTC; a year outside
// 0000..9999, which RFC 3339 cannot write, as Go writes it.
func formatSecond(t time.Time) string {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return t.UTC().String()
	}
	return t.UTC().Format(time.RFC3339)
}
