//go:build tools

// Package tools pins the code generators this repository runs (see the
// Makefile's generate target). It is a module of its own, so the
// generators' dependencies never reach the receiver's go.mod.
package tools

import (
	_ "go.opentelemetry.io/collector/cmd/mdatagen"
	_ "golang.org/x/tools/cmd/goimports"
)
