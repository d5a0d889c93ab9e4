# Dunwell. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_CLI_VERSION := v1.5.1
STATICCHECK_VERSION  := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
GO_TEST_FLAGS ?= -count=1 -race -timeout 15m

BIN := $(CURDIR)/bin
export TEMPORAL_CLI := $(BIN)/temporal

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/.-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/temporal: ## build the pinned Temporal CLI (dev server and UI) into ./bin
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

.PHONY: build
build: ## build worker, starter, fakeproviders and devrun into ./bin
	go build -o $(BIN)/ ./worker ./starter ./cmd/...

.PHONY: run
run: $(BIN)/temporal build ## run the whole stack locally (Temporal + UI, PostgreSQL, fakes, worker, API); Ctrl-C stops it
	$(BIN)/devrun

.PHONY: chromium
chromium: ## install headless Chromium for the /reports browser test where it is missing
	@scripts/ensure-chromium.sh

.PHONY: test
test: $(BIN)/temporal chromium ## run every test: unit, workflow (time skipping), replay, and integration against real Temporal and PostgreSQL
	go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: $(BIN)/temporal ## benchmark throughput, cost, payment latency, spike and memory; SHORT=1 ~2 min, default ~6 (BENCH_FLAGS for more)
	go run ./bench/cmd/dunwell-bench $(if $(SHORT),-short) $(BENCH_FLAGS)

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and workflowcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	go run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/...

.PHONY: clean
clean: ## remove build output and local run data
	rm -rf $(BIN)/worker $(BIN)/starter $(BIN)/fakeproviders $(BIN)/devrun .run
