package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

// runMainEnv makes the test binary run the program's main instead of the
// tests: net/http reads the proxy variables from the process environment
// once per process, so a test of them needs a process of its own.
const runMainEnv = "ZENDESK_AUDIT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runMain runs the program in a process of its own with exactly env
// (and PATH) as its environment.
func runMain(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = []string{runMainEnv + "=1", "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	for _, secret := range []string{testToken, proxySecret} {
		require.NotContains(t, r.stdout+r.stderr, secret, "a secret leaked")
	}
	return r
}

const (
	proxyUser   = "egress"
	proxySecret = "proxy-secret-d41d8"
	// proxiedHost is a name only the proxy reaches: the client never
	// resolves it (httptest's certificate covers *.example.com).
	proxiedHost = "acme.example.com"
)

// connectProxy is an HTTPS proxy: it answers CONNECT by tunnelling to
// target, whatever host was asked for, and records what it was asked.
type connectProxy struct {
	target string
	auth   string // the Proxy-Authorization it wants; "" takes any

	mu       sync.Mutex
	connects []string // host:port of each CONNECT
	authSeen []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.connects = append(p.connects, r.Host)
	p.authSeen = append(p.authSeen, r.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	if p.auth != "" && r.Header.Get("Proxy-Authorization") != p.auth {
		w.Header().Set("Proxy-Authenticate", `Basic realm="egress"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(upstream, buf.Reader)
		_ = upstream.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(conn, upstream)
	_ = conn.Close()
	_ = upstream.Close()
}

func (p *connectProxy) seen() (connects, auth []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...), append([]string(nil), p.authSeen...)
}

// proxiedAPI is the simulator over TLS, reachable as proxiedHost only
// through a proxy, and the environment of a doctor run that trusts its
// certificate and uses the proxy at proxyURL.
func proxiedAPI(t *testing.T) (sim *zendesksim.Server, tlsAddr string, env func(proxyURL string) map[string]string) {
	t.Helper()
	a := doctorAPI(t, zendesksim.Options{})
	ts := httptest.NewTLSServer(a.sim)
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))
	return a.sim, ts.Listener.Addr().String(), func(proxyURL string) map[string]string {
		return map[string]string{
			envEndpoint:     "https://" + proxiedHost,
			envEmail:        testEmail,
			envAPIToken:     testToken,
			"HTTPS_PROXY":   proxyURL,
			"SSL_CERT_FILE": caFile,
		}
	}
}

// With HTTPS_PROXY set, doctor reaches the API through the proxy (with the
// proxy's credentials), resolves nothing itself, says which proxy it went
// through without its password, and every check passes: the README's
// "the API reachable (DNS, TLS, proxy)".
func TestDoctorReachesTheAPIThroughTheEnvironmentsProxy(t *testing.T) {
	sim, tlsAddr, env := proxiedAPI(t)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(proxyUser+":"+proxySecret))
	proxy := &connectProxy{target: tlsAddr, auth: wantAuth}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	proxyURL := "http://" + proxyUser + ":" + proxySecret + "@" + ps.Listener.Addr().String()

	r := runMain(t, env(proxyURL), "doctor", "--max-requests-per-minute", "0", "--timeout", "20s")
	require.Equal(t, exitOK, r.code, "%s%s", r.stdout, r.stderr)
	assertCheck(t, r.stdout, "API reachable", checkPass,
		proxiedHost+" via proxy http://"+proxyUser+":xxxxx@"+ps.Listener.Addr().String(), "answered HTTP 200")
	assertCheck(t, r.stdout, "credentials", checkPass)
	assertCheck(t, r.stdout, "records readable", checkPass)
	assert.NotContains(t, r.stdout, "FAIL")

	connects, auth := proxy.seen()
	require.NotEmpty(t, connects, "the request went through the proxy")
	for i := range connects {
		assert.Equal(t, proxiedHost+":443", connects[i], "CONNECT %d", i)
		assert.Equal(t, wantAuth, auth[i], "CONNECT %d carries the proxy's credentials", i)
	}
	assert.Positive(t, sim.Stats().Requests, "the API answered through the tunnel")
}

// A proxy that cannot be reached, and one that refuses the client's
// credentials (407), fail "API reachable" naming the proxy (without its
// password) with a hint that says which of the two it is, and skip the
// checks after it; doctor does not try to resolve the API's host itself.
func TestDoctorNamesTheProxyWhenItFails(t *testing.T) {
	_, tlsAddr, env := proxiedAPI(t)
	refusing := httptest.NewServer(&connectProxy{target: tlsAddr, auth: "Basic bm90LXRoaXM="})
	t.Cleanup(refusing.Close)
	closed := httptest.NewServer(nil)
	closed.Close()

	for _, tc := range []struct {
		name, addr, want, hint string
	}{
		{"unreachable", closed.Listener.Addr().String(), "proxyconnect", "the proxy did not take the connection: check its address in proxy_url or HTTPS_PROXY, or exempt the API's host with NO_PROXY"},
		{"refuses the credentials", refusing.Listener.Addr().String(), "Proxy Authentication Required", "the proxy refused its credentials with a 407: check the user and password in proxy_url or HTTPS_PROXY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxyURL := "http://" + proxyUser + ":" + proxySecret + "@" + tc.addr
			r := runMain(t, env(proxyURL), "doctor", "--max-requests-per-minute", "0", "--timeout", "5s")
			require.Equal(t, exitFail, r.code, "%s%s", r.stdout, r.stderr)
			assertCheck(t, r.stdout, "API reachable", checkFail,
				proxiedHost+" via proxy http://"+proxyUser+":xxxxx@"+tc.addr, tc.want)
			assert.NotContains(t, r.stdout, "does not resolve", "behind a proxy doctor resolves nothing itself")
			assert.Contains(t, r.stdout, "hint:                "+tc.hint)
			assert.Equal(t, 1, strings.Count(r.stdout, tc.hint), "the hint once, on its own line:\n%s", r.stdout)
			assert.Contains(t, r.stdout, "retried until --timeout 5s ran out")
			assertCheck(t, r.stdout, "credentials", checkSkip)
			assertCheck(t, r.stdout, "API clock", checkSkip)
		})
	}
}
