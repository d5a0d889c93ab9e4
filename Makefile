# Dunwell. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server `make cluster` builds; internal/testenv.TemporalServerVersion names the same.
TEMPORAL_SERVER_VERSION := v1.29.1
STATICCHECK_VERSION  := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
GO_TEST_FLAGS ?= -count=1 -race -timeout 15m

BIN := $(CURDIR)/bin
export TEMPORAL_CLI := $(BIN)/temporal
export TEMPORAL_SERVER_DIR := $(BIN)/temporal-server-$(TEMPORAL_SERVER_VERSION)

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/.-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/temporal: ## build the pinned Temporal CLI (dev server and UI) into ./bin
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# The server and its schema tool from the server's Go module (about 3 minutes cold), and
# the module's PostgreSQL schema files beside them; built once, like bin/temporal.
$(TEMPORAL_SERVER_DIR)/server:
	@mod=$$(cd / && go mod download -json go.temporal.io/server@$(TEMPORAL_SERVER_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	if [ -z "$$mod" ]; then echo "cannot download go.temporal.io/server@$(TEMPORAL_SERVER_VERSION)"; exit 1; fi; \
	rm -rf $(TEMPORAL_SERVER_DIR)/schema && mkdir -p $(TEMPORAL_SERVER_DIR)/schema && \
	cp -R "$$mod/schema/postgresql/v12/." $(TEMPORAL_SERVER_DIR)/schema/ && chmod -R u+w $(TEMPORAL_SERVER_DIR)/schema
	GOBIN=$(TEMPORAL_SERVER_DIR) go install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) \
		go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)

.PHONY: cluster-server
cluster-server: $(TEMPORAL_SERVER_DIR)/server ## build the pinned Temporal server, schema tool and schema into ./bin

.PHONY: build
build: ## build worker, starter, fakeproviders and devrun into ./bin
	go build -o $(BIN)/ ./worker ./starter ./cmd/...

.PHONY: run
run: $(BIN)/temporal build ## run the whole stack locally (Temporal + UI, PostgreSQL, fakes, worker, API); Ctrl-C stops it
	$(BIN)/devrun

.PHONY: cluster
cluster: $(TEMPORAL_SERVER_DIR)/server build ## run a Temporal cluster (frontend, history, matching, worker on PostgreSQL) on free ports; Ctrl-C stops it
	$(BIN)/devcluster

.PHONY: chromium
chromium: ## install headless Chromium (browser tests) and IPAGothic (Japanese PDF test) where they are missing
	@scripts/ensure-chromium.sh

.PHONY: test
test: $(BIN)/temporal chromium ## run every test: unit, workflow (time skipping), replay, and integration against real Temporal and PostgreSQL
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-cluster
test-cluster: $(TEMPORAL_SERVER_DIR)/server ## fault suite on a Temporal cluster: worker SIGKILL in a spike, history restart, each PostgreSQL down 30 s (~6 min)
	go test -tags cluster -count=1 -timeout 30m -v ./e2e/cluster/

.PHONY: bench
bench: $(BIN)/temporal $(if $(CLUSTER),$(TEMPORAL_SERVER_DIR)/server) ## benchmark throughput, cost, payment latency, spike and memory; SHORT=1 ~2 min, default ~6; CLUSTER=1 on a Temporal cluster (BENCH_FLAGS for more)
	@rc=0; \
	go run ./bench/cmd/dunwell-bench $(if $(SHORT),-short) $(if $(CLUSTER),-cluster) $(BENCH_FLAGS) || rc=$$?; \
	go run ./bench/cmd/bank-bench $(if $(SHORT),-short) || rc=$$?; \
	exit $$rc

.PHONY: lint
lint: ## gofmt, go vet, staticcheck (also the cluster-tagged e2e/cluster) and workflowcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags cluster ./e2e/cluster/
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags cluster ./e2e/cluster/
	go run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/...

.PHONY: clean
clean: ## remove build output and local run data
	rm -rf $(BIN)/worker $(BIN)/starter $(BIN)/fakeproviders $(BIN)/devrun .run
