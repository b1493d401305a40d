package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// collectorRun is the built collector started with a configuration of
// its own.
type collectorRun struct {
	*childproc.Process
}

// startCollector writes conf to dir/name.yaml and starts, under sup, the
// built collector with it (its log: dir/name.log).
func startCollector(sup *childproc.Supervisor, collectorPath, dir, name, conf string, env ...string) (collectorRun, error) {
	confPath := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return collectorRun{}, err
	}
	col, err := sup.StartEnv("otelcol-zendesk", collectorPath, []string{"--config", confPath}, env, filepath.Join(dir, name+".log"), nil)
	return collectorRun{col}, err
}

// explain adds to err, when the collector exited, how and the end of its
// log.
func (c collectorRun) explain(err error) error {
	if c.Exited() {
		return fmt.Errorf("%w; the collector exited (%s), its log ends:\n%s", err, c.ExitStatus(), c.LogTail(15))
	}
	return err
}

// simFaults is a faults object for POST /_sim/faults that keeps the
// simulator's account budget (faults replace the simulator's own, and
// without a budget it reports 700 a minute: see SimAccountBudget), with
// more members (JSON, without braces; may be empty).
func simFaults(more string) string {
	f := `{"budget_per_minute": ` + strconv.Itoa(SimAccountBudget)
	if more != "" {
		f += ", " + more
	}
	return f + "}"
}

// holdAPI makes the simulator answer every API request with a 503 (a
// receiver waits and retries) and returns its counters.
func holdAPI(ctx context.Context, sim Sim) (zendesksim.Stats, error) {
	if err := sim.SetFaults(ctx, simFaults(`"p503_html": 1, "retry_after": "500ms"`)); err != nil {
		return zendesksim.Stats{}, err
	}
	return sim.Stats(ctx)
}

// releaseAndDrain lets the simulator answer again, and waits until it
// served n records more than base and the receiver polled again after
// them: polls are sequential, so the last page went through the
// exporter by then.
func releaseAndDrain(ctx context.Context, sim Sim, base zendesksim.Stats, n int) error {
	if err := sim.SetFaults(ctx, simFaults("")); err != nil {
		return err
	}
	served, err := sim.WaitStats(ctx, drainTimeout(n), func(st zendesksim.Stats) bool { return st.RecordsServed-base.RecordsServed >= n })
	if err != nil {
		return err
	}
	if _, err := sim.WaitStats(ctx, 30*time.Second, func(st zendesksim.Stats) bool { return st.ListRequests > served.ListRequests }); err != nil {
		return fmt.Errorf("waiting for the poll after the backlog: %w", err)
	}
	return nil
}
