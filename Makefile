# cutover — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/cutover/cutover/internal/cli.Version=$(VERSION)
STATICCHECK_VERSION ?= v0.8.2
# BENCH_FLAGS are passed to cutover-bench, e.g. make bench-rolling BENCH_FLAGS=-runs=5
BENCH_FLAGS ?=

.PHONY: build demo demo-bluegreen demo-down test test-short lint fmt clean bench-rolling bench-zero-downtime

build: ## build bin/cutover
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/cutover ./cmd/cutover

demo: ## deploy examples/hello on the local engine (release 1, v1), then switch it to v2
	./scripts/demo.sh

demo-bluegreen: ## start cutover serve, deploy examples/bluegreen twice, roll back, confirm, clean up (checks every step)
	./scripts/demo-bluegreen.sh

demo-down: build ## remove the demo stack
	$(BIN)/cutover down hello

test: ## vet, then every test; integration tests use the real Docker engine, nginx and BIND (installed by scripts/deps.sh when missing)
	./scripts/deps.sh
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-short: ## unit tests only (no Docker)
	CUTOVER_SKIP_DOCKER=1 $(GO) test -count=1 ./...

lint: ## gofmt, go vet and staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) examples/hello/app/testapp

bench-rolling: ## time a 10-replica, batch-2, start-first rolling release and its overhead (real Docker engine)
	$(GO) build -o $(BIN)/cutover-bench ./cmd/cutover-bench
	$(BIN)/cutover-bench rolling $(BENCH_FLAGS)

bench-zero-downtime: ## count failed requests through the proxy during 20 switches, 20 rollbacks, 5 rolling deploys (real Docker engine, several minutes)
	$(GO) build -o $(BIN)/cutover-bench ./cmd/cutover-bench
	$(BIN)/cutover-bench zero-downtime $(BENCH_FLAGS)

.PHONY: bench-proxy
bench-proxy: ## proxy overhead: wrk against the test app directly, through the built-in proxy and through nginx
	./scripts/deps.sh
	$(GO) run ./cmd/cutover-bench proxy $(BENCH_FLAGS)

.PHONY: bench-dns
bench-dns: ## DNS router: switch-to-answer delay of the built-in server and of RFC 2136 updates to a private BIND, weighted answer shares
	./scripts/deps.sh
	$(GO) run ./cmd/cutover-bench dns $(BENCH_FLAGS)

.PHONY: bench-trigger
bench-trigger: ## push → deploy start through a real registry's notifications and the daemon's hooks (20 pushes), and the hooks' answer time
	./scripts/deps.sh
	$(GO) run ./cmd/cutover-bench trigger $(BENCH_FLAGS)
