# otelcol-zendesk: the zendesk_audit_logs receiver, built into a collector
# distribution with ocb, plus a Zendesk API simulator for the demo.
#
#   make run      the demo: simulator + collector printing audit logs (Ctrl-C stops)
#   make test     all Go tests, with the race detector
#   make lint     gofmt check + go vet
#   make build    _build/otelcol-zendesk (ocb), bin/zendesk-sim, bin/zendesk-audit
#   make smoke    25s demo run that must deliver >= 100 audit logs (CI)
#   make fuzz     each fuzz target for FUZZTIME (30s)
#   make e2e      the built collector under faults and SIGKILLs: nothing lost
#   make bench    benchmarks (.tmp/bench.txt) + performance summary (docs/performance.md)
#   make sim      the simulator alone on 127.0.0.1:8089
#   make clean    remove bin/ _build/ .tmp/
#
# Tools are installed with `go install` at pinned versions into bin/.
#
# Two Go modules: the root module is the receiver (what a distribution
# imports); cmd/ is the workshop (CLI, simulator main, e2e runner,
# benchmarks), a module of its own so its dependencies never reach a user's
# build. It uses the receiver's packages through a `replace => ../`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-builtin-rules

GO ?= go

# --- Versions ----------------------------------------------------------------
# One release train everywhere: core collector v0.165.0 / v1.71.0 and contrib
# v0.165.1 (go.mod, builder-config.yaml, and ocb itself).
OCB_VERSION := v0.165.0

# fileexporter: we use contrib v0.165.1, the same train as filestorage and the
# receiver's own contrib dependency (extension/storage v0.165.1), rather than
# v0.161.0, which would drag older contrib/core modules into the build graph
# and leave the distribution on two trains. The cost: fileexporter's *tests*
# import otlpencodingextension, which the Go module proxy does not serve at
# v0.164.0-v0.165.1, so ocb's `go mod tidy` fails on it. `-e` makes tidy
# carry on past that test-only import; nothing in the collector binary needs
# it. -buildvcs=false: _build/ is a module inside this git checkout, and VCS
# stamping is not wanted there (nor possible without git).
OCB_GOFLAGS := -buildvcs=false -e

# --- Files -------------------------------------------------------------------
BIN_DIR := bin
BUILDER := $(BIN_DIR)/builder
COLLECTOR := _build/otelcol-zendesk
SIM := $(BIN_DIR)/zendesk-sim

# Non-test Go sources of this module (tracked or not), for rebuilds.
GO_SOURCES := $(shell find . \( -path ./_build -o -path ./bin -o -path ./.tmp -o -path ./.git \) -prune -o -type f -name '*.go' ! -name '*_test.go' -print)
# Every Go file of this module, for gofmt.
GO_FILES := $(shell find . \( -path ./_build -o -path ./bin -o -path ./.tmp -o -path ./.git \) -prune -o -type f -name '*.go' -print)

AUDIT_BIN := $(BIN_DIR)/zendesk-audit

.PHONY: all build test lint fuzz e2e bench sim run smoke clean tools
all: lint test build

tools: $(BUILDER)

$(BUILDER):
	GOBIN=$(CURDIR)/$(BIN_DIR) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

# --- Build -------------------------------------------------------------------
build: $(COLLECTOR) $(SIM) $(AUDIT_BIN)

# ocb makes an empty default output directory in TMPDIR before it reads
# output_path; it goes to .tmp/ocb instead of piling up in /tmp.
$(COLLECTOR): $(BUILDER) builder-config.yaml go.mod go.sum $(GO_SOURCES)
	mkdir -p .tmp/ocb
	TMPDIR=$(CURDIR)/.tmp/ocb GOWORK=off GOFLAGS='$(OCB_GOFLAGS)' $(BUILDER) --config builder-config.yaml
	@touch $@

$(SIM): go.mod go.sum cmd/go.mod cmd/go.sum $(GO_SOURCES)
	cd cmd && $(GO) build -o ../$@ ./zendesk-sim

$(AUDIT_BIN): go.mod go.sum cmd/go.mod cmd/go.sum $(GO_SOURCES)
	cd cmd && $(GO) build -o ../$@ ./zendesk-audit

# --- Checks ------------------------------------------------------------------
# MODULES: the receiver's module and the tools' module, each tested and
# vetted on its own.
MODULES := . cmd
test:
	@for m in $(MODULES); do echo "== go test -race ./... ($$m)"; (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

lint:
	@echo "gofmt -l"
	@out="$$(gofmt -l $(GO_FILES))"; \
	if [[ -n "$$out" ]]; then \
		echo "These files are not gofmt-formatted (run: gofmt -w <file>):"; \
		echo "$$out"; \
		exit 1; \
	fi
	@for m in $(MODULES); do echo "go vet ./... ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

# Each fuzz target for FUZZTIME; the seed corpora live in testdata/fuzz.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./internal/zendesk:FuzzDecodePage ./internal/zendesk:FuzzParseRetryAfter \
	./internal/zendesk:FuzzParseRateLimit ./internal/checkpoint:FuzzDecode
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# End-to-end delivery check under faults: the built collector killed with
# SIGKILL and restarted (one kill right after the sink accepted a page the
# collector never heard of), a sink outage, 429/503/500/truncated/slow API
# responses; fails unless nothing is missing or unknown, no Retry-After was
# violated, duplicates <= page_size x kills and the page cut off at its
# acknowledgement was delivered again. The seed is printed.
#   make e2e E2E_ARGS='--seed 42 --duration 60s'
E2E_ARGS ?= --duration 30s
e2e: $(COLLECTOR) $(SIM)
	cd cmd && $(GO) run ./zendesk-e2e --collector ../$(COLLECTOR) --sim ../$(SIM) --config-dir ../e2e $(E2E_ARGS)

# Go benchmarks of cmd/bench and internal/convert, BENCH_COUNT runs each, saved
# in .tmp/bench.txt for benchstat; then one summary, `name: value` a line
# (recorded in docs/performance.md). Fast check:
#   make bench BENCH_COUNT=1 BENCH_ARGS=--quick
BENCH_COUNT ?= 6
BENCH_ARGS ?=
bench: build
	@mkdir -p .tmp
	{ ZENDESK_SIM=$(CURDIR)/$(SIM) $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./internal/convert/ && \
	  cd cmd && ZENDESK_SIM=$(CURDIR)/$(SIM) $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./bench/; } | tee .tmp/bench.txt
	cd cmd && $(GO) run ./benchsummary --collector ../$(COLLECTOR) --sim ../$(SIM) $(BENCH_ARGS)

# --- Demo --------------------------------------------------------------------
# SIM_ARGS overrides the simulator's flags, e.g.
#   make sim SIM_ARGS='--listen 127.0.0.1:8089 --p429 0.1 --verbose'
SIM_ARGS ?= --listen 127.0.0.1:8089 --events 5000 --live-rate 2
sim: $(SIM)
	$(SIM) $(SIM_ARGS)

# The demo. DEMO_DURATION=N stops it after N seconds (exit 0); see demo/run.sh.
run: build
	demo/run.sh

# CI smoke test: SMOKE_DURATION (25) seconds, >= SMOKE_MIN_RECORDS (100) records.
smoke: build
	demo/smoke.sh

clean:
	rm -rf $(BIN_DIR) _build .tmp
