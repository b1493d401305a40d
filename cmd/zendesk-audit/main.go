// Command zendesk-audit is an operator tool for the Zendesk Audit Logs API
// and for the checkpoint of the zendesk_audit_logs receiver.
//
// API commands (list, show, export) talk to a Zendesk account with the same
// client the receiver uses. Checkpoint commands (checkpoint show, set,
// reset) open the receiver's checkpoint through the file_storage
// extension's own code, exactly as a collector does, and never read the
// database file by themselves.
//
// Run "zendesk-audit help" for the usage and the exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zendesk-audit-otel/zendeskauditlogsreceiver/internal/zendesk"
)

// Exit codes.
const (
	exitOK   = 0
	exitFail = 1 // API error, usage error, not found, storage error
	exitAuth = 2 // credentials refused (401) or no permission (403)
	// exitMissing: reconcile found records the store lacks.
	exitMissing = 3
)

const usageText = `zendesk-audit: read the Zendesk audit log, and inspect or move the
checkpoint of the zendesk_audit_logs receiver.

Usage:
  zendesk-audit list   [connection flags] [filter flags] [--flagged]
                       [--sort asc|desc] [--limit N] [--page-size N]
                       [--output json|table]
  zendesk-audit show   [connection flags] [--output json|table] ID
  zendesk-audit export [connection flags] [filter flags]
  zendesk-audit reconcile [connection flags] [filter flags] (--since T | --day D)
                       (--victorialogs URL [--where LOGSQL] | --ids-file FILE|-)
                       [--resend OTLP_HTTP_ENDPOINT [--header K=V]...]
  zendesk-audit checkpoint show  --storage-dir DIR [storage flags] [--json]
  zendesk-audit checkpoint set   --storage-dir DIR [storage flags] --time T
  zendesk-audit checkpoint reset --storage-dir DIR [storage flags]
  zendesk-audit doctor [connection flags] [--config FILE] [--storage-dir DIR]
  zendesk-audit help [COMMAND]

Commands:
  list        List audit logs, newest first by default, with cursor pagination.
              Output: one JSON object per line with the API's own field names
              (fields unknown to this tool included) plus "severity" (ERROR,
              WARN or INFO, as the receiver sets it) and, on a record a
              detection rule flags, "security_rule" {name, category,
              reference}; or an aligned table with a RULE column.
              --flagged lists only flagged records: the dangerous changes of
              the last 7 days are 'list --flagged --since 7d --output table'.
  show        Show one audit log by id.
  export      Ask Zendesk for a CSV export of the matching audit logs. Zendesk
              prepares it out of band and emails a download link to the user
              of the credentials; nothing is downloaded here. Zendesk allows
              one export per minute per account: when it refuses one (429),
              export waits as long as Zendesk asks and tries again, for at
              most 2 minutes in all.
  reconcile   Compare the ids Zendesk has in a window (since <= created_at <
              until, with the filters of list; or --day: one UTC day, or
              yesterday) with the ids a log store holds:
              VictoriaLogs (one LogsQL query, streamed; --where narrows it to
              this account) or a file of ids (one a line, or JSON lines with
              log.record.uid). Prints both counts, the records the store lacks
              (as time ranges, and id, created_at, action, source), the ids it
              holds twice and those Zendesk does not have, then one line of
              key=value pairs. --resend sends exactly the missing records to
              an OTLP/HTTP endpoint (protobuf), converted as the receiver
              converts them; run it again to check. Progress goes to stderr.
              Memory: the ids allocate 58.5 bytes per record in all on a
              window of 1M records, 92.1 on 600,000 (see the README).
  checkpoint  Show, set or delete the receiver's checkpoint in a file_storage
              directory. Stop the collector first: while it runs it holds the
              storage locked.

  doctor      Check what the receiver needs, one line per check (PASS, WARN,
              FAIL or SKIP) with a hint: an OAuth client's token, the API
              reachable (DNS, TLS, proxy), the credentials accepted (401),
              permission and plan (403), the newest record's age, the
              account's rate limit and a suggested max_requests_per_minute,
              the local clock against the API's.
              --config FILE: the collector configuration validates
              (--collector PATH, default otelcol-zendesk in PATH) and its
              pipeline is crash-safe. --storage-dir DIR: the checkpoint is
              readable, and how far behind it is. Exit 0 when nothing
              failed, 1 when a check failed, 2 when the credentials (or the
              OAuth client) were refused (401 or 403).

Connection flags (list, show, export, reconcile, doctor); flags win over the environment:
  --subdomain NAME       account subdomain, NAME.zendesk.com   [ZENDESK_SUBDOMAIN]
  --endpoint URL         base URL instead of a subdomain: https, or http to a
                         loopback host only                     [ZENDESK_ENDPOINT]
  --oauth-client-id ID   OAuth client (confidential, client credentials
                         grant): its identifier                 [ZENDESK_OAUTH_CLIENT_ID]
  --oauth-client-secret SECRET
                         its secret                             [ZENDESK_OAUTH_CLIENT_SECRET]
  --oauth-scope SCOPE    scope of its tokens (default auditlogs:read)
  --oauth-token TOKEN    OAuth access token (scope read or auditlogs:read),
                         until it expires                       [ZENDESK_OAUTH_TOKEN]
  --email ADDRESS        user of the API token                  [ZENDESK_EMAIL]
  --api-token TOKEN      API token (retired by Zendesk: none works after
                         2027-04-30)                            [ZENDESK_API_TOKEN]
  --max-requests-per-minute N
                         client-side request budget; the account's limit is
                         shared with every integration (default 100, 0 = none)
  Give secrets and tokens in the environment: one on the command line lands
  in the shell history and in the process list. They are never printed.

Filter flags (list, export, reconcile):
  --action ACTION        e.g. create, update, destroy, login, exported
  --source-type TYPE     e.g. user, ticket, rule, apitoken, account_setting
  --source-id ID         needs --source-type
  --actor-id ID
  --ip-address IP
  --since T, --until T   created_at range; T is RFC 3339 (2024-05-01T00:00:00Z)
                         or a duration back from now (90m, 24h, 7d). --since
                         alone means until now; --until needs --since. Zendesk
                         compares whole seconds.

Storage flags (checkpoint):
  --storage-dir DIR      the file_storage extension's directory (required)
  --storage NAME         the extension instance, file_storage/NAME (default
                         file_storage); the data lives in DIR whatever the name
  --storage-timeout D    how long to wait for the storage lock (default 1s)
  --receiver ID          the receiver whose checkpoint it is: zendesk_audit_logs
                         or zendesk_audit_logs/NAME (default zendesk_audit_logs)
  --create               act on a receiver with no storage file in DIR yet (one
                         that never ran); without it such a name is refused,
                         listing the receivers that have a checkpoint there

  checkpoint set --time T stores a fresh position at T (RFC 3339, not before
  2007-01-01): on its next start the receiver reads records created from T
  on, T included. checkpoint reset deletes the checkpoint: the receiver then
  starts from its configured start_time or initial_lookback. They refuse
  while a collector holds any file of DIR: stop it first. With --create, set
  creates the receiver's storage file (show and reset remove it again, and
  no other file); run them as the collector's user (as root, a file they
  create is given to the directory's owner).

Exit codes:
  0  success (checkpoint show with no checkpoint stored included)
  1  usage error, API error, audit log not found, storage locked or unusable
  2  the credentials were refused (401) or lack permission (403); a hint says
     what to check
  3  reconcile: the store lacks records (also when --resend sent them all)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation's environment.
type cli struct {
	env    func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	// sleep spends the API client's waits; nil means a timer (tests move
	// a fake clock on instead).
	sleep func(ctx context.Context, d time.Duration) error
}

// usageError is a mistake in the command line; the command it belongs to
// names the help to read.
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// errSilent is a failure already reported on stderr.
var errSilent = errors.New("failed")

// run is the whole program: it parses args, runs the command and returns
// the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if env == nil {
		env = func(string) string { return "" }
	}
	c := &cli{env: env, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	return c.run(ctx, args)
}

// run runs one command line and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	return c.exitCode(c.dispatch(ctx, args))
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usageText)
		return errSilent
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "list":
		return c.cmdList(ctx, rest)
	case "show":
		return c.cmdShow(ctx, rest)
	case "export":
		return c.cmdExport(ctx, rest)
	case "checkpoint":
		return c.cmdCheckpoint(ctx, rest)
	case "doctor":
		return c.cmdDoctor(ctx, rest)
	case "reconcile":
		return c.cmdReconcile(ctx, rest)
	case "help", "-h", "-help", "--help":
		return c.cmdHelp(rest)
	}
	return usagef("", "unknown command %q", cmd)
}

func (c *cli) cmdHelp(args []string) error {
	if len(args) > 0 {
		name := strings.Join(args, " ")
		if fs := newCommandFlagSet(name, c); fs != nil {
			printCommandUsage(c.stdout, name, fs)
			return nil
		}
		return usagef("", "no help for %q: unknown command", name)
	}
	fmt.Fprint(c.stdout, usageText)
	return nil
}

// exitCode reports err on stderr and maps it to an exit code.
func (c *cli) exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errSilent) {
		return exitFail
	}
	if errors.Is(err, errCredentialsRefused) {
		return exitAuth // doctor printed why
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "zendesk-audit: %s\n", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(c.stderr, "Run 'zendesk-audit help %s' for usage.\n", ue.cmd)
		} else {
			fmt.Fprintln(c.stderr, "Run 'zendesk-audit help' for usage.")
		}
		return exitFail
	}
	var apiErr *zendesk.Error
	if errors.As(err, &apiErr) && (apiErr.Kind == zendesk.KindAuth || apiErr.Kind == zendesk.KindForbidden) {
		// The error's text ends with the client's hint in parentheses.
		fmt.Fprintf(c.stderr, "zendesk-audit: %s\n", err)
		return exitAuth
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(c.stderr, "zendesk-audit: interrupted")
		return exitFail
	}
	fmt.Fprintf(c.stderr, "zendesk-audit: %s\n", err)
	return exitFail
}
