package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// synopses are the one-line usages of the commands.
var synopses = map[string]string{
	"list":             "list [connection flags] [filter flags] [--flagged] [--sort asc|desc] [--limit N] [--page-size N] [--output json|table]",
	"show":             "show [connection flags] [--output json|table] ID",
	"export":           "export [connection flags] [filter flags]",
	"reconcile":        "reconcile [connection flags] [filter flags] (--since T | --day D) (--victorialogs URL [--where LOGSQL] | --ids-file FILE|-) [--resend OTLP_HTTP_ENDPOINT [--header K=V]...]",
	"checkpoint show":  "checkpoint show --storage-dir DIR [storage flags] [--json]",
	"checkpoint set":   "checkpoint set --storage-dir DIR [storage flags] --time T",
	"checkpoint reset": "checkpoint reset --storage-dir DIR [storage flags]",
	"checkpoint":       "checkpoint show|set|reset --storage-dir DIR [storage flags] ...",
	"doctor":           "doctor [connection flags] [--config FILE [--collector PATH]] [--storage-dir DIR [--storage NAME] [--receiver ID]] [--timeout D]",
}

// newFlagSet returns a flag set that prints nothing by itself: errors and
// help are reported by the caller.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// newCommandFlagSet returns the flags of a command, for its help; nil for
// an unknown command.
func newCommandFlagSet(name string, c *cli) *flag.FlagSet {
	switch name {
	case "list":
		fs, _ := listFlags()
		return fs
	case "show":
		fs, _ := showFlags()
		return fs
	case "export":
		fs, _ := exportFlags()
		return fs
	case "reconcile":
		fs, _ := reconcileFlags()
		return fs
	case "checkpoint show", "checkpoint set", "checkpoint reset":
		fs, _ := checkpointFlags(strings.TrimPrefix(name, "checkpoint "))
		return fs
	case "checkpoint":
		return newFlagSet(name)
	case "doctor":
		fs, _ := doctorFlags()
		return fs
	}
	return nil
}

// printCommandUsage prints a command's synopsis and flags, GNU style.
func printCommandUsage(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: zendesk-audit %s\n", synopses[name])
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n == 0 {
			fmt.Fprintln(w, "\nFlags:")
		}
		n++
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintln(w, line)
		fmt.Fprintf(w, "        %s", usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintln(w, "\nRun 'zendesk-audit help' for the environment variables and the exit codes.")
}

// parseArgs parses flags and positional arguments in any order: the flag
// package stops at the first positional argument, so parsing resumes after
// each one. "--" ends the flags.
func (c *cli) parseArgs(name string, fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCommandUsage(c.stdout, name, fs)
				return nil, flag.ErrHelp
			}
			return nil, usagef(name, "%s", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse consumed a "--" if rest follows one: then everything
		// left is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// parseTimeArg reads an RFC 3339 time, or a duration back from now: a Go
// duration (90m, 24h) or a number of days (7d).
func parseTimeArg(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-05-01T00:00:00Z) nor a duration (90m, 24h, 7d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-05-01T00:00:00Z) nor a duration (90m, 24h, 7d)", s)
		}
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("duration %q must be positive: it counts back from now", s)
	}
	return now.Add(-d), nil
}
