package deploytest

import (
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/otlpfile"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// account is one receiver instance of the shipped configuration and the
// simulator that plays its Zendesk account.
type account struct {
	receiver string // e.g. zendesk_audit_logs/acme
	sim      *zendesksim.Server
	host     string // the simulator's loopback address: the resource's server.address
	want     map[int64]bool
}

const (
	// serverAddress is the resource attribute that names the API host.
	serverAddress     = "server.address"
	recordsPerAccount = 1500
	// Two pages a second per account: the stop lands mid-backfill.
	requestsPerMinute = 120
)

// The many-accounts configuration that deploy/kubernetes ships (one
// collector, one receiver per account, each with its own credentials and
// its own checkpoint in the same file_storage) run by the built collector
// against one simulator per account, stopped mid-backfill and started
// again: each account's records arrive exactly once, and the resource tells
// the accounts apart.
//
// What the test changes in the shipped configuration: each account's
// subdomain becomes its simulator's endpoint (on its own loopback address,
// 127.0.0.1 and 127.0.0.2, so that server.address differs as the
// subdomains would), the storage directory a temporary one, the OTLP
// exporter a file exporter, the health_check port 0, and the polling
// faster. The persistent queue of the OTLP exporter is not part of this
// test.
func TestManyAccountsDeliverTheirOwnRecordsOnceAcrossARestart(t *testing.T) {
	collector := builtCollector(t)
	m := decodePlainManifests(t)
	require.Len(t, m.configMaps, 1)
	cfg := parseConfig(t, m.configMaps[0].Data["config.yaml"])

	var ids []string
	for id := range cfg["receivers"].(map[string]any) {
		if strings.HasPrefix(id, "zendesk_audit_logs/") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	require.Equal(t, []string{"zendesk_audit_logs/acme", "zendesk_audit_logs/globex"}, ids)

	now := time.Now()
	accounts := make([]*account, len(ids))
	for i, id := range ids {
		name := strings.TrimPrefix(id, "zendesk_audit_logs/")
		rcv := cfg["receivers"].(map[string]any)[id].(map[string]any)
		oauth, _ := rcv["oauth"].(map[string]any)
		require.NotNil(t, oauth, "%s: no oauth client", id)
		clientID, _ := oauth["client_id"].(string)
		require.NotEmpty(t, clientID, "%s: oauth.client_id", id)
		secret := name + "-client-secret"
		a := &account{receiver: id, host: fmt.Sprintf("127.0.0.%d", i+1), want: map[int64]bool{}}
		a.sim = zendesksim.New(zendesksim.Options{Seed: int64(i + 1),
			OAuthClients: []zendesksim.OAuthClient{{ID: clientID, Secret: secret}}})
		for _, r := range a.sim.Generate(recordsPerAccount, now.Add(-2*time.Hour), now.Add(-2*time.Minute)) {
			a.want[r.ID] = true
		}
		ln, err := net.Listen("tcp", a.host+":0")
		require.NoError(t, err)
		srv := httptest.NewUnstartedServer(a.sim)
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		accounts[i] = a

		delete(rcv, "subdomain")
		rcv["endpoint"] = srv.URL
		// The secret from the environment, as the Secret gives it.
		ref := envRef.FindStringSubmatch(oauth["client_secret"].(string))
		require.NotNil(t, ref, "%s: oauth.client_secret is not an ${env:...} reference", id)
		t.Setenv(ref[1], secret)
		rcv["poll_interval"] = "1s"
		rcv["settle_delay"] = "5s"
		rcv["max_requests_per_minute"] = requestsPerMinute
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "records.json")
	dig(cfg, "extensions", "file_storage").(map[string]any)["directory"] = filepath.Join(dir, "storage")
	dig(cfg, "extensions", "health_check").(map[string]any)["endpoint"] = "127.0.0.1:0"
	cfg["exporters"] = map[string]any{"file": map[string]any{
		"path": out, "format": "json", "append": true, "flush_interval": "100ms",
	}}
	dig(cfg, "service", "pipelines", "logs").(map[string]any)["exporters"] = []string{"file"}
	cfg["service"].(map[string]any)["telemetry"] = map[string]any{"metrics": map[string]any{"level": "none"}}
	config, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	configPath := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(configPath, config, 0o600))

	sup := childproc.NewSupervisor("deploytest")
	t.Cleanup(sup.KillAll)
	start := func(n int) *childproc.Process {
		p, err := sup.Start(fmt.Sprintf("collector-%d", n), collector, []string{"--config=" + configPath},
			filepath.Join(dir, fmt.Sprintf("collector-%d.log", n)), nil)
		require.NoError(t, err)
		return p
	}
	// byAccount counts the distinct ids that arrived for each account.
	byAccount := func() map[string]int {
		recs, err := otlpfile.Read(out)
		require.NoError(t, err)
		seen := map[string]map[int64]bool{}
		for _, r := range recs {
			h := r.Resource[serverAddress]
			if seen[h] == nil {
				seen[h] = map[int64]bool{}
			}
			seen[h][r.ID] = true
		}
		n := map[string]int{}
		for h, s := range seen {
			n[h] = len(s)
		}
		return n
	}

	// Stop it (SIGTERM) once every account is a fifth of the way.
	first := start(1)
	require.Eventually(t, func() bool {
		n := byAccount()
		return !first.Exited() && n[accounts[0].host] >= recordsPerAccount/5 && n[accounts[1].host] >= recordsPerAccount/5
	}, 60*time.Second, 100*time.Millisecond, "the accounts' backfills did not start: %s", first.LogTail(20))
	require.NoError(t, first.Stop(30*time.Second), first.LogTail(20))
	atStop := byAccount()
	for _, a := range accounts {
		require.Less(t, atStop[a.host], recordsPerAccount, "%s had delivered everything before the stop: not mid-backfill", a.receiver)
	}

	second := start(2)
	require.Eventually(t, func() bool {
		n := byAccount()
		return !second.Exited() && n[accounts[0].host] == recordsPerAccount && n[accounts[1].host] == recordsPerAccount
	}, 90*time.Second, 100*time.Millisecond, "not every record arrived after the restart: %v\n%s", byAccount(), second.LogTail(20))
	require.NoError(t, second.Stop(30*time.Second), second.LogTail(20))

	// Each account: its own records, each once, on a resource of its own.
	recs, err := otlpfile.Read(out)
	require.NoError(t, err)
	for _, a := range accounts {
		count := map[int64]int{}
		for _, r := range recs {
			if r.Resource[serverAddress] == a.host {
				count[r.ID]++
			}
		}
		for id := range a.want {
			assert.Equal(t, 1, count[id], "%s: record %d arrived %d times", a.receiver, id, count[id])
		}
		for id := range count {
			assert.True(t, a.want[id], "%s: record %d is not its account's", a.receiver, id)
		}
		st := a.sim.Stats()
		assert.Zero(t, st.ByStatus[401], "%s: requests with another account's credentials", a.receiver)
		t.Logf("%s (%s): %d records, %d requests, stopped at %d", a.receiver, a.host, len(count), st.Requests, atStop[a.host])
	}
	assert.Len(t, recs, 2*recordsPerAccount, "records in all")

	// Their checkpoints: one file_storage, a database for each receiver.
	files, err := os.ReadDir(filepath.Join(dir, "storage"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	for _, a := range accounts {
		account := strings.TrimPrefix(a.receiver, "zendesk_audit_logs/")
		assert.True(t, slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "_"+account) }),
			"no checkpoint database of %s in the storage directory: %v", a.receiver, names)
	}
}
