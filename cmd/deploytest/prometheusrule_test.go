package deploytest

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the generated files (deploy/kubernetes/monitoring/prometheusrule.yaml)")

// prometheusRuleFile is the rule file as a PrometheusRule of the
// Prometheus operator, generated from rulesFile: one source, no drift.
// It lives in a directory of its own: `kubectl apply -f deploy/kubernetes/`
// must not need the operator's CRD.
var prometheusRuleFile = filepath.Join(kubernetesDir, "monitoring", "prometheusrule.yaml")

const prometheusRuleHeader = `# GENERATED from deploy/monitoring/zendesk-audit-logs.rules.yaml: do not edit.
# Rewrite it with: cd cmd && go test ./deploytest -run TestPrometheusRuleIsTheRuleFile -update
# The alert rules of the README's Runbook, for the Prometheus operator. Its
# job matchers expect the collector's metrics scraped as job otelcol-zendesk*.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: otelcol-zendesk
  labels:
    app.kubernetes.io/name: otelcol-zendesk
spec:
`

// prometheusRule is the PrometheusRule the rule file makes: its groups,
// text and comments alike, under spec.
func prometheusRule(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	text := string(data)
	i := strings.Index(text, "\ngroups:\n")
	require.GreaterOrEqual(t, i, 0, "%s has no groups", rulesFile)
	var b strings.Builder
	b.WriteString(prometheusRuleHeader)
	for line := range strings.SplitSeq(strings.TrimSuffix(text[i+1:], "\n"), "\n") {
		if line != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// The PrometheusRule of deploy/kubernetes holds the rules of
// deploy/monitoring, byte for byte.
func TestPrometheusRuleIsTheRuleFile(t *testing.T) {
	want := prometheusRule(t)
	if *update {
		require.NoError(t, os.WriteFile(prometheusRuleFile, want, 0o644))
	}
	got, err := os.ReadFile(prometheusRuleFile)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "%s is stale: rewrite it with go test ./deploytest -run TestPrometheusRuleIsTheRuleFile -update", prometheusRuleFile)
	decodePrometheusRule(t, got)
}

// promRule is the PrometheusRule (monitoring.coreos.com/v1), decoded
// strictly: the operator's types are not a dependency of this module.
type promRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            ruleFile          `json:"spec"`
}

// decodePrometheusRule decodes a PrometheusRule strictly and checks that
// its rules are those of the rule file, parsed.
func decodePrometheusRule(t *testing.T, doc []byte) {
	t.Helper()
	var pr promRule
	require.NoError(t, yaml.UnmarshalStrict(doc, &pr))
	assert.Equal(t, "monitoring.coreos.com/v1", pr.APIVersion)
	assert.NotEmpty(t, pr.Metadata.Name)
	data, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var rules ruleFile
	require.NoError(t, yaml.UnmarshalStrict(data, &rules))
	assert.Equal(t, rules, pr.Spec)
}

// promtool check rules passes on the rule file and on the PrometheusRule's
// spec.
func TestRuleFilesPassPromtoolCheck(t *testing.T) {
	bin := promtool(t)
	data, err := os.ReadFile(prometheusRuleFile)
	require.NoError(t, err)
	var pr map[string]any
	require.NoError(t, yaml.Unmarshal(data, &pr))
	spec, err := yaml.Marshal(pr["spec"])
	require.NoError(t, err)
	fromK8s := filepath.Join(t.TempDir(), "prometheusrule-spec.yaml")
	require.NoError(t, os.WriteFile(fromK8s, spec, 0o600))
	for _, f := range []string{rulesFile, fromK8s} {
		out, err := exec.CommandContext(t.Context(), bin, "check", "rules", f).CombinedOutput()
		require.NoError(t, err, "promtool check rules %s:\n%s", f, out)
		assert.Contains(t, string(out), "SUCCESS: 8 rules found", f)
	}
}
