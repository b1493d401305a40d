// Command zendesk-sim serves a simulated Zendesk Audit Logs API with a
// generated backlog, optional live arrivals and fault injection.
//
// The base URL (e.g. http://127.0.0.1:41234) is printed alone on the first
// line of stdout once the server listens. Everything else goes to stderr.
// SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
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

	oauthClientID, oauthClientSecret string
	tokenLifetime                    time.Duration
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
	fs.DurationVar(&c.faults.Latency, "latency", 0, "every API answer takes this long (before any --slow delay)")
	fs.IntVar(&c.faults.BudgetPerMinute, "budget", 0, "account requests per minute (0 = unlimited)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
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
	sim := zendesksim.New(zendesksim.Options{
		Email:       c.email,
		APIToken:    c.apiToken,
		OAuthToken:  c.oauthToken,
		Seed:        c.seed,
		ClockOffset: c.clockOffset,
		Faults:      c.faults,

		MistypedFraction: c.pMistyped,
		TokenLifetime:    c.tokenLifetime,
	})
	if c.oauthClientID != "" {
		var clients []zendesksim.OAuthClient
		for id := range strings.SplitSeq(c.oauthClientID, ",") {
			clients = append(clients, zendesksim.OAuthClient{ID: strings.TrimSpace(id), Secret: c.oauthClientSecret})
		}
		sim.SetOAuthClients(clients...)
	}
	to := sim.Now().Add(-2 * time.Minute)
	sim.Generate(c.events, to.Add(-c.backlog), to)

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if _, err := fmt.Fprintln(stdout, base); err != nil {
		ln.Close()
		return err
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	fmt.Fprintf(stderr, "zendesk-sim: %d records, email %q, api token %q, OAuth client %q; admin at %s/_sim/stats\n",
		c.events, c.email, c.apiToken, c.oauthClientID, base)

	var handler http.Handler = sim
	if c.verbose {
		handler = logRequests(sim, stderr)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	if c.liveRate > 0 {
		sim.StartLive(ctx, c.liveRate, c.lateFraction, c.maxLate)
	}
	defer sim.StopLive()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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

// logRequests logs one line per request to out.
func logRequests(next http.Handler, out io.Writer) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s %s %s %d %s\n", start.UTC().Format(time.RFC3339Nano), r.Method,
			r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
	})
}
