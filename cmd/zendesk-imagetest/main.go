// Command zendesk-imagetest checks the otelcol-zendesk container image
// (`make image-test`): against the simulator on loopback, with the
// checkpoint on a named volume and a file exporter on a mounted directory,
// it `docker kill`s the collector mid-backfill, starts it again on the same
// volume and checks that every record arrived and nothing was read from
// the start again. It also checks that the image runs as non-root and that
// the README's configuration and the image's default configuration pass
// `validate` inside the image.
//
// Every container runs with --network host: all traffic stays on
// 127.0.0.1. It needs a reachable Docker daemon and says so when there is
// none. It prints one summary line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zendesk-imagetest: FAIL:", err)
		os.Exit(1)
	}
}

// options are the command line flags.
type options struct {
	image    string
	readme   string
	docker   string
	events   int
	pageSize int
	timeout  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("zendesk-imagetest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.image, "image", "otelcol-zendesk:dev", "image under test")
	fs.StringVar(&o.readme, "readme", "README.md", "README whose configuration must pass validate in the image")
	fs.StringVar(&o.docker, "docker", "docker", "docker client")
	fs.IntVar(&o.events, "events", 3000, "records of the simulator's backlog")
	fs.IntVar(&o.pageSize, "page-size", 100, "the receiver's page_size")
	fs.DurationVar(&o.timeout, "timeout", 4*time.Minute, "limit for the whole test")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.events < 10*o.pageSize {
		return o, fmt.Errorf("--events %d: at least 10 pages (%d) are needed to kill mid-backfill", o.events, 10*o.pageSize)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	t := &imageTest{opts: o, docker: dockerCLI{bin: o.docker}, log: stdout, name: fmt.Sprintf("otelcol-zendesk-imagetest-%d", os.Getpid())}
	defer t.cleanup()
	res, err := t.run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.summary())
	return nil
}
