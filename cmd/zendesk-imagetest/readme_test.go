package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadmeConfigTakesTheFirstYAMLBlockOfTheSection(t *testing.T) {
	md := "# x\n```yaml\nnot: this\n```\n## Configuration\n\ntext\n```yaml\nreceivers:\n  a: {}\n```\n```yaml\nnor: this\n```\n"
	got, err := readmeConfig([]byte(md))
	require.NoError(t, err)
	assert.Equal(t, "receivers:\n  a: {}\n", got)
}

func TestReadmeConfigErrors(t *testing.T) {
	_, err := readmeConfig([]byte("# x\n```yaml\na: b\n```\n## Other\n```yaml\nc: d\n```\n"))
	assert.ErrorContains(t, err, "no yaml block")
	_, err = readmeConfig([]byte("## Configuration\n```yaml\na: b\n"))
	assert.ErrorContains(t, err, "no closing fence")
}

// The project's README has the block the image test validates.
func TestReadmeConfigOfThisRepository(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	got, err := readmeConfig(readme)
	require.NoError(t, err)
	assert.Contains(t, got, "zendesk_audit_logs")
}
