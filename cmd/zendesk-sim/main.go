// Command zendesk-sim serves a simulated Zendesk Audit Logs API with a
// generated backlog, optional live arrivals and fault injection.
//
// The base URL (e.g. http://127.0.0.1:41234) is printed alone on the first
// line of stdout once the server listens. Everything else goes to stderr.
// SIGINT or SIGTERM stops it gracefully.
//
// With --accounts N it simulates N accounts, each its own backlog (seed,
// seed+1, ...) and its own limits, on its own port of the --listen host:
// their base URLs are printed one a line, the first account's first, and
// GET /_sim/accounts on any of them lists every account's URL and
// counters.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesksim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "zendesk-sim:", err)
		}
		os.Exit(2)
	}
}

type config struct {
	listen       string
	events       int
	backlog      time.Duration
	seed         int64
	email        string
	apiToken     string
	oauthToken   string
	liveRate     float64
	lateFraction float64
	maxLate      time.Duration
	verbose      bool
	clockOffset  time.Duration
	faults       zendesksim.Faults
	pMistyped    float64
	accounts     int

	oauthClientID, oauthClientSecret string
	oauthRefreshToken                string
	tokenLifetime                    time.Duration
	crossingWindow                   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("zendesk-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to listen on")
	fs.IntVar(&c.events, "events", 5000, "number of backlog records")
	fs.DurationVar(&c.backlog, "backlog", 6*time.Hour, "time spread of the backlog, ending ~2 minutes before now")
	fs.Int64Var(&c.seed, "seed", 1, "seed of data and fault draws")
	fs.StringVar(&c.email, "email", "demo@example.com", "API-token auth email")
	fs.StringVar(&c.apiToken, "api-token", "demo-token", "API token")
	fs.StringVar(&c.oauthToken, "oauth-token", "", "OAuth bearer token (empty: OAuth disabled)")
	fs.StringVar(&c.oauthClientID, "oauth-client-id", "demo-collector", "identifiers (comma-separated) of the OAuth clients allowed the client credentials grant at POST /oauth/tokens, all with --oauth-client-secret (empty: none)")
	fs.StringVar(&c.oauthClientSecret, "oauth-client-secret", "demo-client-secret", "that OAuth client's secret")
	fs.StringVar(&c.oauthRefreshToken, "oauth-refresh-token", "", "a refresh token of the first OAuth client, as the authorization code flow would have given it, for trying oauth.refresh_token (empty: none; a refresh_token grant invalidates it and returns a new one)")
	fs.DurationVar(&c.tokenLifetime, "token-lifetime", 0, "lifetime of the access tokens issued (0: the request's expires_in, or 30m)")
	fs.Float64Var(&c.liveRate, "live-rate", 0, "live arrivals per second")
	fs.Float64Var(&c.lateFraction, "late-fraction", 0.1, "fraction of live records indexed late")
	fs.DurationVar(&c.maxLate, "max-late", 5*time.Second, "maximum lateness of late live records")
	fs.BoolVar(&c.verbose, "verbose", false, "log one line per request to stderr")
	fs.DurationVar(&c.clockOffset, "clock-offset", 0, "the API's clock runs this much ahead of the machine's (behind when negative): Date headers, live arrivals and the backlog's end follow it")
	fs.Float64Var(&c.pMistyped, "p-mistyped", 0, "fraction of records with one field of an unexpected JSON type (schema drift: actor_id \"system\", source_id \"n/a\", action an array, ip_address an object, in turn)")
	fs.Float64Var(&c.faults.P429, "p429", 0, "probability of 429 with Retry-After")
	fs.Float64Var(&c.faults.P429NoRetryAfter, "p429-no-retry-after", 0, "probability of 429 without Retry-After")
	fs.DurationVar(&c.faults.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429/503 faults")
	fs.Float64Var(&c.faults.P503HTML, "p503", 0, "probability of 503 with an HTML body")
	fs.Float64Var(&c.faults.P500, "p500", 0, "probability of 500")
	fs.Float64Var(&c.faults.PTruncated, "p-truncated", 0, "probability of a truncated 200 body")
	fs.Float64Var(&c.faults.PSlow, "p-slow", 0, "probability of a slow response")
	fs.DurationVar(&c.faults.SlowDelay, "slow", 2*time.Second, "delay of slow responses")
	fs.DurationVar(&c.crossingWindow, "retry-after-crossing-window", zendesksim.RetryAfterCrossingWindow, "a request with the same credentials arriving this soon after a Retry-After was sent crossed it on the wire (sent before the client read it) and counts in retry_after_crossings, not as a violation")
	fs.DurationVar(&c.faults.Latency, "latency", 0, "every API answer takes this long (before any --slow delay)")
	fs.IntVar(&c.faults.BudgetPerMinute, "budget", 0, "account requests per minute (0 = unlimited)")
	fs.IntVar(&c.accounts, "accounts", 1, "number of accounts, each with its own backlog of --events records on its own port")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.accounts < 1 {
		return c, fmt.Errorf("--accounts %d is not positive", c.accounts)
	}
	if c.accounts > 1 {
		if _, port, err := net.SplitHostPort(c.listen); err != nil || port != "0" {
			return c, fmt.Errorf("--accounts %d needs --listen with port 0 (each account gets its own port), got %q", c.accounts, c.listen)
		}
	}
	if c.oauthRefreshToken != "" && c.oauthClientID == "" {
		return c, fmt.Errorf("--oauth-refresh-token needs an OAuth client (--oauth-client-id)")
	}
	if c.crossingWindow <= 0 {
		return c, fmt.Errorf("--retry-after-crossing-window %s is not positive", c.crossingWindow)
	}
	if c.tokenLifetime < 0 {
		return c, fmt.Errorf("--token-lifetime %s is negative", c.tokenLifetime)
	}
	if c.pMistyped < 0 || c.pMistyped > 1 {
		return c, fmt.Errorf("--p-mistyped %v is not within 0..1", c.pMistyped)
	}
	return c, nil
}

// run serves until ctx is done. It prints the base URL alone on the first
// line of stdout once listening.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	sims := make([]*zendesksim.Server, c.accounts)
	lns := make([]net.Listener, c.accounts)
	urls := make([]string, c.accounts)
	defer func() {
		for _, ln := range lns {
			if ln != nil {
				ln.Close()
			}
		}
	}()
	for i := range sims {
		sims[i] = zendesksim.New(zendesksim.Options{
			Email:       c.email,
			APIToken:    c.apiToken,
			OAuthToken:  c.oauthToken,
			Seed:        c.seed + int64(i),
			ClockOffset: c.clockOffset,
			Faults:      c.faults,

			MistypedFraction:         c.pMistyped,
			TokenLifetime:            c.tokenLifetime,
			RetryAfterCrossingWindow: c.crossingWindow,
		})
		if c.oauthClientID != "" {
			var clients []zendesksim.OAuthClient
			for id := range strings.SplitSeq(c.oauthClientID, ",") {
				clients = append(clients, zendesksim.OAuthClient{ID: strings.TrimSpace(id), Secret: c.oauthClientSecret})
			}
			sims[i].SetOAuthClients(clients...)
			if c.oauthRefreshToken != "" {
				sims[i].AcceptRefreshToken(clients[0].ID, c.oauthRefreshToken)
			}
		}
		to := sims[i].Now().Add(-2 * time.Minute)
		sims[i].Generate(c.events, to.Add(-c.backlog), to)
		if lns[i], err = net.Listen("tcp", c.listen); err != nil {
			return err
		}
		urls[i] = "http://" + lns[i].Addr().String()
	}
	if _, err := fmt.Fprintln(stdout, strings.Join(urls, "\n")); err != nil {
		return err
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	fmt.Fprintf(stderr, "zendesk-sim: %d account(s) of %d records, email %q, api token %q, OAuth client %q; admin at %s/_sim/stats\n",
		c.accounts, c.events, c.email, c.apiToken, c.oauthClientID, urls[0])

	accounts := accountsHandler(urls, sims)
	errc := make(chan error, len(sims))
	var srvs []*http.Server
	for i, sim := range sims {
		var handler http.Handler = sim
		if c.verbose {
			handler = logRequests(sim, stderr)
		}
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.Handle("GET /_sim/accounts", accounts)
		handler = mux
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		srvs = append(srvs, srv)
		if c.liveRate > 0 {
			sim.StartLive(ctx, c.liveRate, c.lateFraction, c.maxLate)
		}
		defer sim.StopLive()
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range srvs {
		errs = append(errs, srv.Shutdown(shutdownCtx))
	}
	for range srvs {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Account is one simulated account in GET /_sim/accounts.
type Account struct {
	URL   string           `json:"url"`
	Stats zendesksim.Stats `json:"stats"`
}

// accountsHandler serves GET /_sim/accounts: every account's base URL and
// counters, in the order the URLs were printed.
func accountsHandler(urls []string, sims []*zendesksim.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		out := make([]Account, len(sims))
		for i, sim := range sims {
			out[i] = Account{URL: urls[i], Stats: sim.Stats()}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// statusRecorder captures the status of a response for logging.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests logs one line per request to out: its arrival, method,
// target, status and time taken, and the Retry-After of an answer that
// carries one (the stats count a violation of it from the answer's end:
// its arrival plus the time taken).
func logRequests(next http.Handler, out io.Writer) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		mu.Lock()
		defer mu.Unlock()
		retryAfter := ""
		if v := rec.Header().Get("Retry-After"); v != "" {
			retryAfter = " retry-after=" + v
		}
		fmt.Fprintf(out, "%s %s %s %d %s%s\n", start.UTC().Format(time.RFC3339Nano), r.Method,
			r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond), retryAfter)
	})
}
