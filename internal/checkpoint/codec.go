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

type stored struct {
	Version int       `json:"version"`
	Second  time.Time `json:"second"`
	IDs     []int64   `json:"ids"`
}

// Encode renders p as the stored value: JSON with a version field.
func Encode(p Position) ([]byte, error) {
	ids := p.IDs()
	if ids == nil {
		ids = []int64{}
	}
	return json.Marshal(stored{Version: Version, Second: p.Second.UTC(), IDs: ids})
}

// Decode reads a stored value and checks it before use: the version is
// known, the second is set, whole and not in the future, the ids are
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
