package bench

import (
	"context"
	"fmt"
	"os"
)

// DumpFile writes sim's records as JSON lines to path (see
// [Sim.DumpJSONLines]) and checks that there are n of them.
func DumpFile(ctx context.Context, sim Sim, path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	got, err := sim.DumpJSONLines(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dumping the simulator's records to %s: %w", path, err)
	}
	if got != n {
		return fmt.Errorf("dumped %d records, want %d", got, n)
	}
	return nil
}
