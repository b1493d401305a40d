package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// dockerCLI runs the docker command line client.
type dockerCLI struct {
	bin string
}

// run runs docker with args and returns its trimmed stdout; an error holds
// its stderr.
func (d dockerCLI) run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// imageInfo is what the test reads of the image's configuration.
type imageInfo struct {
	Size   int64
	User   string
	Labels map[string]string
}

func (d dockerCLI) inspectImage(ctx context.Context, ref string) (imageInfo, error) {
	out, err := d.run(ctx, "image", "inspect", "--format", "{{json .}}", ref)
	if err != nil {
		return imageInfo{}, err
	}
	var raw struct {
		Size   int64
		Config struct {
			User   string
			Labels map[string]string
		}
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return imageInfo{}, fmt.Errorf("decoding docker image inspect: %w", err)
	}
	return imageInfo{Size: raw.Size, User: raw.Config.User, Labels: raw.Config.Labels}, nil
}

// containerState is what the test reads of a container's state.
type containerState struct {
	Running  bool
	Pid      int
	ExitCode int
}

func (d dockerCLI) state(ctx context.Context, name string) (containerState, error) {
	out, err := d.run(ctx, "container", "inspect", "--format", "{{json .State}}", name)
	if err != nil {
		return containerState{}, err
	}
	var st containerState
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return containerState{}, fmt.Errorf("decoding the state of %s: %w", name, err)
	}
	return st, nil
}

// logTail is the last lines of a container's output, for error messages.
func (d dockerCLI) logTail(ctx context.Context, name string) string {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, d.bin, "logs", "--tail", "20", name)
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	return strings.TrimSpace(out.String())
}
