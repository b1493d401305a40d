package main

import (
	"fmt"
	"strings"
)

// pageSize is the receiver's page_size in every template: the most
// records one ConsumeLogs call carries.
const pageSize = 100

// A variant is one setup of the collector under test, with its own config
// template in --config-dir, checked under the same kills, sink outage and
// API faults.
type variant struct {
	Name     string
	Template string
	// Setup says in a few words what the collector under test runs.
	Setup string
	// MaxConcurrentRequests is the receiver's max_concurrent_requests;
	// 0 leaves the default.
	MaxConcurrentRequests int
	// duplicatesPerKill is how many records one SIGKILL may make the sink
	// receive twice in this setup, with the config rendered from p.
	duplicatesPerKill func(p collectorParams) int
	// OAuth: the receiver uses OAuth client credentials, and the
	// simulator's tokens expire every --token-lifetime.
	OAuth bool
	// Store: the sink is VictoriaLogs (store.go), not a collector.
	Store bool
}

// The variants.
var variants = []variant{
	{
		Name:     "sync",
		Template: "collector.yaml.tmpl",
		Setup:    "synchronous otlp_http exporter, no queue, no batching",
		// ConsumeLogs returns once the sink answered. A kill between the
		// sink's answer and the checkpoint's write makes the receiver read
		// that page again: at most one page.
		duplicatesPerKill: func(collectorParams) int { return pageSize },
	},
	{
		Name:     "queue",
		Template: "collector-queue.yaml.tmpl",
		Setup: "the README's configuration: otlp_http with its sending_queue persisted in file_storage, batching in the queue, " +
			"memory_limiter, OAuth client credentials whose access tokens expire every few seconds",
		// ConsumeLogs returns once the page is in the persistent queue.
		// A kill can repeat (1) the page the queue had persisted and the
		// receiver had not checkpointed yet, which the receiver reads
		// again (one page), and (2) the batches the sink had accepted
		// and the queue had not yet marked done, which the queue sends
		// again after the restart: one batch per consumer, and a batch
		// holds at most min_size-1 records plus one page (batches are
		// flushed once they reach min_size; without max_size a page is
		// never split).
		duplicatesPerKill: func(p collectorParams) int {
			return pageSize + p.QueueConsumers*(p.BatchMinSize+pageSize-1)
		},
		OAuth: true,
	},
	{
		Name:     "oauth",
		Template: "collector-oauth.yaml.tmpl",
		Setup:    "as sync, authenticated with OAuth client credentials whose access tokens expire every few seconds",
		// As sync: the token changes nothing of what a kill repeats.
		duplicatesPerKill: func(collectorParams) int { return pageSize },
		OAuth:             true,
	},
	{
		Name:     "store",
		Template: "collector-queue.yaml.tmpl",
		Setup: "the queue setup into VictoriaLogs, SIGKILLed once right after it accepted an export and restarted on its data; " +
			"then zendesk-audit reconcile --resend",
		duplicatesPerKill: func(p collectorParams) int {
			return pageSize + p.QueueConsumers*(p.BatchMinSize+pageSize-1)
		},
		Store: true,
	},
	{
		Name:     "serial",
		Template: "collector.yaml.tmpl",
		Setup:    "as sync, with max_concurrent_requests: 1 (one time slice read at a time)",
		// Issue #20: one slice at a time is where a poll could end before
		// its window was read. The same bound as sync.
		MaxConcurrentRequests: 1,
		duplicatesPerKill:     func(collectorParams) int { return pageSize },
	},
	{
		Name:     "memory",
		Template: "collector-memory.yaml.tmpl",
		Setup:    "batch processor and otlp_http's default in-memory sending_queue: NOT crash-safe, expected to fail",
		// ConsumeLogs returns once the batch processor holds the page. A
		// kill loses what the processor and the queue hold (the check
		// fails on that); the receiver reads again only the page it had
		// not checkpointed.
		duplicatesPerKill: func(collectorParams) int { return pageSize },
	},
}

// defaultVariants is what runs when --variant is not given: the setups
// that must pass (`memory` is expected to lose records).
const defaultVariants = "sync,queue,oauth,serial"

// parseVariants reads a comma-separated list of variant names. Each may
// be given once.
func parseVariants(s string) ([]variant, error) {
	var out []variant
	seen := map[string]bool{}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		i := -1
		for j, v := range variants {
			if v.Name == name {
				i = j
			}
		}
		switch {
		case i < 0:
			return nil, fmt.Errorf("--variant: unknown variant %q (known: %s)", name, variantNames())
		case seen[name]:
			return nil, fmt.Errorf("--variant: %q is given twice", name)
		}
		seen[name] = true
		out = append(out, variants[i])
	}
	return out, nil
}

func variantNames() string {
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}
