package main

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
)

// readmeConfig returns the first ```yaml block after the heading
// "## Configuration" of the README: the configuration users copy.
func readmeConfig(readme []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(readme))
	var (
		inSection, inBlock bool
		block              strings.Builder
	)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inBlock && strings.HasPrefix(line, "```"):
			return block.String(), nil
		case inBlock:
			block.WriteString(line)
			block.WriteByte('\n')
		case strings.HasPrefix(line, "## "):
			inSection = strings.TrimSpace(line) == "## Configuration"
		case inSection && strings.TrimSpace(line) == "```yaml":
			inBlock = true
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if inBlock {
		return "", errors.New(`the README's "## Configuration" yaml block has no closing fence`)
	}
	return "", errors.New(`the README has no yaml block under "## Configuration"`)
}
