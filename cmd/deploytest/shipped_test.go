package deploytest

import (
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/childproc"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/cmd/internal/otlpfile"
	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// serverAddress is the resource attribute that names the API host.
const serverAddress = "server.address"

// account is one receiver instance of the shipped configuration and the
// simulator that plays its Zendesk account.
type account struct {
	receiver string // e.g. zendesk_audit_logs/acme
	sim      *zendesksim.Server
	host     string // the simulator's loopback address: the resource's server.address
	want     map[int64]bool
}

// shipped is the many-accounts configuration deploy/kubernetes ships (one
// collector, one receiver per account, each with its own credentials and
// its own checkpoint in the same file_storage), adapted to run the built
// collector here against one simulator per account: each account's
// subdomain becomes its simulator's endpoint (on its own loopback address,
// 127.0.0.1 and 127.0.0.2, so that server.address differs as the
// subdomains would), its OAuth client secret one the simulator knows, given
// through the environment as the Secret gives it, the storage directory a
// temporary one, the health_check port 0, and the polling faster (a poll a
// second, a settle delay of 5 s). Everything else, the exporter included,
// is as shipped until a test changes it in cfg.
type shipped struct {
	cfg       map[string]any
	accounts  []*account
	dir       string
	collector string
	sup       *childproc.Supervisor
}

// newShipped gives each account a backlog of records audit logs of the last
// two hours, read at requestsPerMinute.
func newShipped(t *testing.T, records, requestsPerMinute int) *shipped {
	t.Helper()
	s := &shipped{collector: builtCollector(t), dir: t.TempDir()}
	m := decodePlainManifests(t)
	require.Len(t, m.configMaps, 1)
	s.cfg = parseConfig(t, m.configMaps[0].Data["config.yaml"])

	var ids []string
	for id := range s.cfg["receivers"].(map[string]any) {
		if strings.HasPrefix(id, "zendesk_audit_logs/") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	require.Equal(t, []string{"zendesk_audit_logs/acme", "zendesk_audit_logs/globex"}, ids)

	now := time.Now()
	for i, id := range ids {
		name := strings.TrimPrefix(id, "zendesk_audit_logs/")
		rcv := s.cfg["receivers"].(map[string]any)[id].(map[string]any)
		oauth, _ := rcv["oauth"].(map[string]any)
		require.NotNil(t, oauth, "%s: no oauth client", id)
		clientID, _ := oauth["client_id"].(string)
		require.NotEmpty(t, clientID, "%s: oauth.client_id", id)
		secret := name + "-client-secret"
		a := &account{receiver: id, host: fmt.Sprintf("127.0.0.%d", i+1), want: map[int64]bool{}}
		a.sim = zendesksim.New(zendesksim.Options{Seed: int64(i + 1),
			OAuthClients: []zendesksim.OAuthClient{{ID: clientID, Secret: secret}}})
		for _, r := range a.sim.Generate(records, now.Add(-2*time.Hour), now.Add(-2*time.Minute)) {
			a.want[r.ID] = true
		}
		ln, err := net.Listen("tcp", a.host+":0")
		require.NoError(t, err)
		srv := httptest.NewUnstartedServer(a.sim)
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		s.accounts = append(s.accounts, a)

		delete(rcv, "subdomain")
		rcv["endpoint"] = srv.URL
		ref := envRef.FindStringSubmatch(oauth["client_secret"].(string))
		require.NotNil(t, ref, "%s: oauth.client_secret is not an ${env:...} reference", id)
		t.Setenv(ref[1], secret)
		rcv["poll_interval"] = "1s"
		rcv["settle_delay"] = "5s"
		rcv["max_requests_per_minute"] = requestsPerMinute
	}

	dig(s.cfg, "extensions", "file_storage").(map[string]any)["directory"] = filepath.Join(s.dir, "storage")
	dig(s.cfg, "extensions", "health_check").(map[string]any)["endpoint"] = "127.0.0.1:0"
	s.sup = childproc.NewSupervisor("deploytest")
	t.Cleanup(s.sup.KillAll)
	return s
}

// start writes cfg as it is now and starts the built collector on it.
func (s *shipped) start(t *testing.T, name string) *childproc.Process {
	t.Helper()
	return runCollector(t, s.sup, s.collector, s.dir, name, s.cfg)
}

// byHost counts the distinct ids among recs for each server.address.
func byHost(recs []otlpfile.Record) map[string]int {
	seen := map[string]map[int64]bool{}
	for _, r := range recs {
		h := r.Resource[serverAddress]
		if seen[h] == nil {
			seen[h] = map[int64]bool{}
		}
		seen[h][r.ID] = true
	}
	n := map[string]int{}
	for h, ids := range seen {
		n[h] = len(ids)
	}
	return n
}

// everyAccountHas is whether every account has at least n distinct records
// in recs.
func (s *shipped) everyAccountHas(recs []otlpfile.Record, n int) bool {
	got := byHost(recs)
	for _, a := range s.accounts {
		if got[a.host] < n {
			return false
		}
	}
	return true
}

// assertEachOnce checks recs (every record that arrived, repeats
// included): each account's records, each once, on a resource of its own
// account, and nothing else.
func (s *shipped) assertEachOnce(t *testing.T, recs []otlpfile.Record) {
	t.Helper()
	all := 0
	for _, a := range s.accounts {
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
		all += len(a.want)
	}
	assert.Len(t, recs, all, "records in all")
}
