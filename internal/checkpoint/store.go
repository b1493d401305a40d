package checkpoint

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Key is the storage key of the checkpoint, inside the storage client the
// extension gives the receiver. It must stay stable across releases, or
// users lose their place.
const Key = "zendesk_audit_logs.checkpoint"

// Store keeps a Position in a storage client.
type Store struct {
	client storage.Client
	now    func() time.Time
}

// NewStore returns a store on client; a storage.NewNopClient() keeps
// nothing.
func NewStore(client storage.Client) *Store {
	return &Store{client: client, now: time.Now}
}

// Load returns the stored position; found is false when none is stored. A
// value that cannot be used is an error that says why.
func (s *Store) Load(ctx context.Context) (p Position, found bool, err error) {
	b, err := s.client.Get(ctx, Key)
	if err != nil {
		return Position{}, false, fmt.Errorf("reading the checkpoint from storage: %w", err)
	}
	if b == nil {
		return Position{}, false, nil
	}
	p, err = Decode(b, s.now())
	if err != nil {
		return Position{}, false, err
	}
	return p, true, nil
}

// Save stores p.
func (s *Store) Save(ctx context.Context, p Position) error {
	b, err := Encode(p)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, Key, b); err != nil {
		return fmt.Errorf("writing the checkpoint to storage: %w", err)
	}
	return nil
}

// Delete removes the stored position.
func (s *Store) Delete(ctx context.Context) error {
	if err := s.client.Delete(ctx, Key); err != nil {
		return fmt.Errorf("deleting the checkpoint from storage: %w", err)
	}
	return nil
}
