# otelcol-zendesk: the zendesk_audit_logs receiver, built into a collector
# distribution with ocb, plus a Zendesk API simulator for the demo.
#
#   make run      the demo: simulator + collector printing audit logs (Ctrl-C stops)
#   make test     all Go tests of both modules, with the race detector (builds the collector first)
#   make lint     gofmt check + go vet
#   make build    _build/otelcol-zendesk (ocb), bin/zendesk-sim, bin/zendesk-audit,
#                 bin/victoria-logs (the reference log store, VictoriaLogs)
#   make generate mdatagen: internal/metadata*, generated_*_test.go, documentation.md,
#                 README's status table
#   make minimal-distribution  a minimal ocb manifest not ours builds with the receiver
#   make smoke    25s demo run that must deliver >= 100 audit logs (CI)
#   make fuzz     each fuzz target for FUZZTIME (30s)
#   make e2e      the built collector under faults and SIGKILLs: nothing lost
#                 (synchronous and persistent-queue setups)
#   make bench    benchmarks (.tmp/bench.txt) + performance summary (docs/performance.md),
#                 capacity runs included (about 20 min on 2 cores)
#   make sim      the simulator alone on 127.0.0.1:8089
#   make image    the container image otelcol-zendesk:dev (FROM scratch; needs dockerd)
#   make image-test  the image killed mid-backfill and restarted on its volume (needs dockerd)
#   make clean    remove bin/ _build/ .tmp/
#
# Tools are installed at pinned versions into bin/: ocb with `go install`;
# mdatagen and goimports built from internal/tools, a module of its own that
# pins them (its go.mod holds their versions).
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
# mdatagen is pinned in internal/tools/go.mod (v0.159.0: the Go module proxy
# refuses v0.160.0 here, and v0.161.0 and later need a module it does not
# serve). `go install pkg@version` cannot be used: it looks the module up
# directly.

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
MDATAGEN := $(BIN_DIR)/mdatagen
GOIMPORTS := $(BIN_DIR)/goimports
COLLECTOR := _build/otelcol-zendesk
SIM := $(BIN_DIR)/zendesk-sim

# Non-test Go sources of this module (tracked or not), for rebuilds.
GO_SOURCES := $(shell find . \( -path ./_build -o -path ./bin -o -path ./.tmp -o -path ./.git -o -path ./internal/tools \) -prune -o -type f -name '*.go' ! -name '*_test.go' -print)
# Every Go file of this module, for gofmt.
GO_FILES := $(shell find . \( -path ./_build -o -path ./bin -o -path ./.tmp -o -path ./.git \) -prune -o -type f -name '*.go' -print)

AUDIT_BIN := $(BIN_DIR)/zendesk-audit

# VictoriaLogs, the reference log store of the demo, the e2e variant
# `store` and the README's LogsQL queries (Apache-2.0). Installed with `go
# install` into bin/, never a dependency of either module. Another version:
# rm bin/victoria-logs and make build VICTORIALOGS_VERSION=...
VICTORIALOGS_VERSION ?= v1.52.2
VICTORIALOGS := $(BIN_DIR)/victoria-logs

.PHONY: all build test lint fuzz e2e bench sim run smoke clean tools generate image image-test
all: lint test build

tools: $(BUILDER) $(MDATAGEN) $(GOIMPORTS)

$(BUILDER):
	GOBIN=$(CURDIR)/$(BIN_DIR) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(MDATAGEN): internal/tools/go.mod internal/tools/go.sum
	cd internal/tools && $(GO) build -o $(CURDIR)/$@ go.opentelemetry.io/collector/cmd/mdatagen

$(GOIMPORTS): internal/tools/go.mod internal/tools/go.sum
	cd internal/tools && $(GO) build -o $(CURDIR)/$@ golang.org/x/tools/cmd/goimports

# --- Generate ----------------------------------------------------------------
# mdatagen writes internal/metadata, internal/metadatatest, the
# generated_*_test.go files, documentation.md and the status table at the
# top of README.md (between its autogenerated-section markers) from
# metadata.yaml. It names
# the root package after the directory holding metadata.yaml, so it reads it
# through a symlink called zendeskauditlogsreceiver: the output is the same
# whatever this checkout's directory is called. goimports then groups the
# imports (standard library first), as in contrib. Nothing changes when
# metadata.yaml did not (.ci/run checks that).
GEN_LINK := .tmp/generate/zendeskauditlogsreceiver
generate: $(MDATAGEN) $(GOIMPORTS)
	rm -rf $(dir $(GEN_LINK)) && mkdir -p $(dir $(GEN_LINK))
	ln -s $(CURDIR) $(GEN_LINK)
	$(MDATAGEN) $(CURDIR)/$(GEN_LINK)/metadata.yaml
	rm -rf $(dir $(GEN_LINK))
	$(GOIMPORTS) -w generated_*.go internal/metadata internal/metadatatest

# --- Build -------------------------------------------------------------------
build: $(COLLECTOR) $(SIM) $(AUDIT_BIN) $(VICTORIALOGS)

$(VICTORIALOGS):
	GOBIN=$(CURDIR)/$(BIN_DIR) $(GO) install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$(VICTORIALOGS_VERSION)

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

# A distribution that is not ours: docs/minimal-distribution.yaml (this
# receiver by local path, the debug exporter, file_storage; no GOFLAGS=-e
# needed) built with the same ocb in .tmp/minimal-distribution, the way a
# user's own manifest would take the receiver; fails unless its `components`
# lists zendesk_audit_logs.
MINIMAL_DIR := .tmp/minimal-distribution
.PHONY: minimal-distribution
minimal-distribution: $(BUILDER)
	rm -rf $(MINIMAL_DIR) && mkdir -p $(MINIMAL_DIR)/ocb-tmp
	cp docs/minimal-distribution.yaml $(MINIMAL_DIR)/manifest.yaml
	cd $(MINIMAL_DIR) && TMPDIR=$(CURDIR)/$(MINIMAL_DIR)/ocb-tmp GOWORK=off GOFLAGS=-buildvcs=false $(CURDIR)/$(BUILDER) --config manifest.yaml
	$(MINIMAL_DIR)/build/otelcol-minimal components | tee $(MINIMAL_DIR)/components.txt | grep -A3 '^receivers:'
	grep -q 'name: zendesk_audit_logs' $(MINIMAL_DIR)/components.txt

# --- Checks ------------------------------------------------------------------
# MODULES: the receiver's module and the tools' module, each tested and
# vetted on its own.
MODULES := . cmd
test: $(COLLECTOR) $(VICTORIALOGS)
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
# SIGKILL and restarted (one kill right after the sink accepted an export
# the collector never heard of, one while the sink is down), a sink
# outage, 429/503/500/truncated/slow
# API responses; fails unless nothing is missing or unknown, no Retry-After
# was violated, duplicates stay within the variant's bound per kill and the
# export cut off at its acknowledgement was delivered again. Two variants
# of the collector under test, one after the other, one summary line each:
# `sync` (no queue: one page per kill), `queue` (the README's production
# setup, sending_queue persisted in file_storage with batching: one page
# and one batch per kill), `oauth` (as sync, with OAuth client
# credentials whose tokens expire every 4 s: no 401 storm, no token asked
# for more than once per renewal), and `store`: the queue setup into
# VictoriaLogs, which is SIGKILLed once mid-backfill and loses what it had
# not flushed; `zendesk-audit reconcile --resend` must find exactly that
# and close the gap. The seed is printed.
#   make e2e E2E_ARGS='--seed 42 --duration 60s'
#   make e2e E2E_VARIANTS=queue
#   make e2e E2E_VARIANTS=memory   (batch processor, in-memory queue: expected to FAIL)
E2E_ARGS ?= --duration 30s
E2E_VARIANTS ?= sync,queue,oauth,store
e2e: $(COLLECTOR) $(SIM) $(AUDIT_BIN) $(VICTORIALOGS)
	cd cmd && $(GO) run ./zendesk-e2e --collector ../$(COLLECTOR) --sim ../$(SIM) --config-dir ../e2e --variant $(E2E_VARIANTS) \
		--victoria-logs ../$(VICTORIALOGS) --zendesk-audit ../$(AUDIT_BIN) $(E2E_ARGS)

# Go benchmarks of cmd/bench, internal/convert and internal/detect (the
# detection rules per record, next to decode+convert), BENCH_COUNT runs each, saved
# in .tmp/bench.txt for benchstat; then one summary, `name: value` a line
# (recorded in docs/performance.md), the capacity runs (1, 10, 100, 300
# accounts in one collector, about 12 minutes) last. Fast check:
#   make bench BENCH_COUNT=1 BENCH_ARGS=--quick
# Without the capacity runs:
#   make bench BENCH_ARGS=--only=decode,drain,cpu,budget,idle,rss
BENCH_COUNT ?= 6
BENCH_ARGS ?=
bench: build
	@mkdir -p .tmp
	{ ZENDESK_SIM=$(CURDIR)/$(SIM) $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./internal/convert/ ./internal/detect/ && \
	  cd cmd && ZENDESK_SIM=$(CURDIR)/$(SIM) $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./bench/; } | tee .tmp/bench.txt
	cd cmd && $(GO) run ./benchsummary --collector ../$(COLLECTOR) --sim ../$(SIM) $(BENCH_ARGS)

# --- Container image ---------------------------------------------------------
# `make image` builds $(IMAGE):dev and $(IMAGE):<version of the collector>
# from deploy/container/Dockerfile: FROM scratch, nothing pulled. The
# context is staged in .tmp/image: the collector (statically linked: ocb
# builds with CGO_ENABLED=0), the host's CA bundle, passwd/group with the
# non-root user 10001, the default configuration and the empty storage
# directory (the image's volume, /var/lib/otelcol). Needs a running Docker
# daemon; `.ci/with-dockerd make image` starts one for the command (root).
IMAGE ?= otelcol-zendesk
DOCKER ?= docker
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_STAGE := .tmp/image
image: $(COLLECTOR)
	@$(DOCKER) version --format '{{.Server.Version}}' >/dev/null 2>&1 || { \
		echo "make image: no Docker daemon reachable ($(DOCKER) version failed): start dockerd, e.g. .ci/with-dockerd make image (see README, Running in a container)" >&2; exit 1; }
	@if command -v file >/dev/null && ! file -L $(COLLECTOR) | grep -q 'statically linked'; then \
		echo "make image: $(COLLECTOR) is not statically linked ($$(file -L $(COLLECTOR))); a FROM scratch image needs it built with CGO_ENABLED=0" >&2; exit 1; fi
	@test -r $(CA_BUNDLE) || { echo "make image: no CA bundle at $(CA_BUNDLE) (install ca-certificates or set CA_BUNDLE=...)" >&2; exit 1; }
	rm -rf $(IMAGE_STAGE)
	mkdir -p $(IMAGE_STAGE)/rootfs/etc/otelcol-zendesk $(IMAGE_STAGE)/rootfs/etc/ssl/certs $(IMAGE_STAGE)/state
	install -m 0755 $(COLLECTOR) $(IMAGE_STAGE)/rootfs/otelcol-zendesk
# zendesk-audit beside it, statically linked, for the reconcile CronJob
# (deploy/kubernetes/reconcile-cronjob.yaml).
	cd cmd && CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(CURDIR)/$(IMAGE_STAGE)/rootfs/zendesk-audit ./zendesk-audit
	install -m 0644 $(CA_BUNDLE) $(IMAGE_STAGE)/rootfs/etc/ssl/certs/ca-certificates.crt
	install -m 0644 deploy/container/config.yaml $(IMAGE_STAGE)/rootfs/etc/otelcol-zendesk/config.yaml
	printf 'root:x:0:0:root:/:/sbin/nologin\notelcol-zendesk:x:10001:10001::/var/lib/otelcol:/sbin/nologin\n' > $(IMAGE_STAGE)/rootfs/etc/passwd
	printf 'root:x:0:\notelcol-zendesk:x:10001:\n' > $(IMAGE_STAGE)/rootfs/etc/group
	chmod 0755 $(IMAGE_STAGE)/state
	version="$$($(COLLECTOR) --version | awk '{print $$NF}')"; \
	revision="$$(git rev-parse HEAD 2>/dev/null || echo unknown)"; \
	$(DOCKER) build --file deploy/container/Dockerfile \
		--build-arg VERSION="$$version" --build-arg REVISION="$$revision" \
		--build-arg CREATED="$$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--tag $(IMAGE):dev --tag $(IMAGE):"$$version" $(IMAGE_STAGE); \
	size="$$($(DOCKER) image inspect --format '{{.Size}}' $(IMAGE):dev)"; \
	echo "image: $(IMAGE):dev and $(IMAGE):$$version, $$((size / 1000000)) MB ($$size bytes)"

# The image under test (cmd/zendesk-imagetest): the simulator on loopback,
# the checkpoint on a named volume, a sink container with a file exporter
# on a mounted directory; `docker kill` mid-backfill, a restart on the same
# volume; fails unless every record arrived, duplicates stay within one
# page and the restart did not read from the start. Also: non-root, and the
# README's configuration passes `validate` inside the image. Every
# container runs with --network host. Prints one summary line.
image-test: image
	cd cmd && $(GO) run ./zendesk-imagetest --image $(IMAGE):dev --readme ../README.md --docker $(DOCKER)

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
