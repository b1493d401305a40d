package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// builtCollector is the collector `make build` produced, or the one
// OTELCOL_ZENDESK names. Tests that need it skip, saying so, when it is
// missing; CI builds it before it runs the tests.
func builtCollector(t *testing.T) string {
	t.Helper()
	path := os.Getenv("OTELCOL_ZENDESK")
	if path == "" {
		path = filepath.Join(repoRoot, "_build", "otelcol-zendesk")
	}
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("SKIPPED: the built collector %s is missing (%v): run `make build` first; CI builds it before `make test`", abs, err)
	}
	return abs
}

// envRef is a ${env:NAME} (or ${env:NAME:-default}) in a configuration.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}`)

// envRefs lists the environment variables a configuration refers to.
func envRefs(config string) []string {
	var names []string
	for _, m := range envRef.FindAllStringSubmatch(config, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// validate runs `otelcol-zendesk validate` on config, with env set.
func validate(t *testing.T, collector, config string, env map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	cmd := exec.CommandContext(t.Context(), collector, "validate", "--config="+path)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "otelcol-zendesk validate refused the configuration:\n%s\n%s", out.String(), config)
}
