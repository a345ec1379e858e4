# tokenflow build. `make demo` and `make test` are the two entry points
# README promises; both work on a fresh clone with only Go installed.

GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tokenflow/tokenflow/internal/cli.Version=$(VERSION)
# Every folder under plugins/ with a main.go is a plugin binary.
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))

.PHONY: build demo demo-dist test test-deps race vet fmt-check bench fuzz proto proto-python clean

# Static binaries (no cgo): nothing needs libc, and a process that skips
# the dynamic loader starts about 1 ms sooner, once per run and per plugin.
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/tokenflow ./cmd/tokenflow
	@for p in $(PLUGINS); do \
		echo "CGO_ENABLED=0 $(GO) build -o $(BIN)/tokenflow-plugin-$$p ./plugins/$$p"; \
		CGO_ENABLED=0 $(GO) build -o $(BIN)/tokenflow-plugin-$$p ./plugins/$$p || exit 1; \
	done
	@# The reference Python plugin runs from its folder (Debian's python3-grpcio).
	ln -sf ../plugins/keybox/python/tokenflow-plugin-keybox $(BIN)/tokenflow-plugin-keybox

# Builds everything and runs the shipped flows against in-process simulators.
demo: build
	$(BIN)/tokenflow demo

# Distributed mode on one machine: an embedded Temporal server and a
# throwaway PostgreSQL (Debian's postgresql package, installed if missing),
# two workers, a simulated fleet, one worker killed mid-write.
demo-dist: build
	@scripts/ensure-postgres.sh
	$(GO) build -o $(BIN)/tokenflow-devcluster ./cmd/tokenflow-devcluster
	scripts/demo-dist.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The test suite: formatting, vet, and every package's tests (fuzz seeds
# included). Plugin binaries are built by the tests themselves.
test: fmt-check vet test-deps
	$(GO) test -count=1 -timeout 15m ./...

# What the tests need besides Go: PostgreSQL 15 for the shared state's tests
# (installed from Debian's packages when missing and running as root).
test-deps:
	@scripts/ensure-postgres.sh
	@scripts/ensure-python-grpc.sh

# The test suite under the race detector. Slower, so not part of `make test`.
race:
	$(GO) test -race -count=1 -timeout 30m ./...

# Benchmarks report ratios against a baseline measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./bench/...

# Long fuzzing, not part of `make test` (which runs the seed corpora).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./... ); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Regenerates the plugin contract's Go code (needs protoc; the generators
# are pinned here and installed with go install).
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
proto:
	@command -v protoc >/dev/null || { echo "protoc not found (apt-get install protobuf-compiler)"; exit 1; }
	GOBIN=$(CURDIR)/$(BIN)/tools $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/$(BIN)/tools $(GO) install $(PROTOC_GEN_GO_GRPC)
	protoc -I sdk/proto \
		--plugin=$(BIN)/tools/protoc-gen-go --plugin=$(BIN)/tools/protoc-gen-go-grpc \
		--go_out=. --go_opt=module=github.com/tokenflow/tokenflow \
		--go-grpc_out=. --go-grpc_opt=module=github.com/tokenflow/tokenflow \
		sdk/proto/tokenflow/plugin/v1/plugin.proto

# Regenerates the reference Python plugin's gRPC code (plugins/keybox/python/gen)
# from the contract and go-plugin's own services, with Debian's grpc_tools.
PYGEN := plugins/keybox/python/gen
proto-python:
	@scripts/ensure-python-grpc.sh
	/usr/bin/python3 -m grpc_tools.protoc -I sdk/proto/tokenflow/plugin/v1 -I plugins/keybox/python/proto \
		--python_out=$(PYGEN) --grpc_python_out=$(PYGEN) \
		plugin.proto grpc_broker.proto grpc_controller.proto grpc_stdio.proto health.proto

clean:
	rm -rf $(BIN)
