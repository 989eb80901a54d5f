# rtpmix — see README.md. Everything builds with the nolibopusfile tag so that
# libopusfile is never needed (only libopus, for codec/opus).
TAGS := nolibopusfile
export GOFLAGS := -buildvcs=false -tags=$(TAGS)
# Interop tests fail rather than skip when ffmpeg is missing under make.
export RTPMIX_REQUIRE_INTEROP := 1

GO ?= go
FUZZTIME ?= 5s
# Packages that must build without cgo: all but codec/opus and the binaries.
NOCGO_PKGS = $(shell $(GO) list ./... | grep -v -e /codec/opus -e /examples -e /bench)

.PHONY: all demo test bench deps fmt-check vet race allocs noasm nocgo consumer fuzz staticcheck browser cluster-test cluster-demo cluster-capacity

all: test

deps:
	@scripts/deps.sh

demo: deps
	$(GO) run ./examples/demo

test: deps fmt-check vet staticcheck race allocs noasm nocgo consumer browser fuzz
	@echo "make test: all checks passed"

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "gofmt: clean"

vet:
	$(GO) vet ./...

race:
	$(GO) test -race -timeout 15m ./...

# Allocation tests again without the race detector, which makes sync.Pool
# drop items at random (pion/srtp pools its buffers) and so skips them.
allocs:
	$(GO) test -count=1 -run 'Alloc' ./...

# The packages with assembly (see "Architecture files" in each one's doc.go)
# again with -tags noasm: the generic code every other architecture runs.
# -tags on the command line replaces GOFLAGS' tags, hence $(TAGS),noasm;
# RTPMIX_WANT_KERNELS makes TestActiveKernels fail unless the generic code
# really runs and no assembly is linked.
ASM_PKGS = ./codec/g711 ./codec/resample ./internal/pcm
noasm:
	RTPMIX_WANT_KERNELS=generic $(GO) test -count=1 -tags=$(TAGS),noasm $(ASM_PKGS)

nocgo:
	CGO_ENABLED=0 $(GO) build $(NOCGO_PKGS)
	CGO_ENABLED=0 $(GO) vet ./codec/opus
	@echo "nocgo: pure-Go packages build with CGO_ENABLED=0"

# internal/consumer is a module of its own that imports the public packages
# as a user's module does (replace => this checkout): vetted, then built and
# tested with cgo (and the nolibopusfile tag, from GOFLAGS) and with
# CGO_ENABLED=0, where its test wants Opus to fail with ErrUnsupported.
# Its go.sum must list what the library needs, as a user's would after
# go get: a dependency added or upgraded here means running go mod tidy there.
consumer:
	@cd internal/consumer && $(GO) mod tidy -diff >/dev/null || { \
		echo "internal/consumer: go.mod/go.sum are out of date with the library's dependencies;"; \
		echo "run: (cd internal/consumer && go mod tidy)"; exit 1; }
	cd internal/consumer && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd internal/consumer && CGO_ENABLED=0 $(GO) vet ./... && CGO_ENABLED=0 $(GO) test -count=1 ./...
	@echo "consumer: an outside module builds and runs with and without cgo"

# The browser tests: examples/browsertest is a module of its own (chromedp
# needs Go 1.25; the library's go line stays 1.24), so GOTOOLCHAIN=auto
# lets an older local go fetch 1.25 through the module proxy. Headless
# Chromium from make deps; when none could be installed the tests are
# skipped, saying so.
BROWSER = $(shell command -v chromium || command -v chromium-browser || echo "$$RTPMIX_CHROMIUM")
browser:
	cd examples/browsertest && GOTOOLCHAIN=auto $(GO) vet ./...
	@if [ -n "$(BROWSER)" ]; then \
		cd examples/browsertest && GOTOOLCHAIN=auto RTPMIX_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 10m ./... ; \
	else \
		echo "browser: SKIPPED: no Chromium here (make deps could not install Debian's chromium; or set RTPMIX_CHROMIUM)"; \
	fi

# examples/cluster is a module of its own (nats-server and nats.go need a
# newer Go than the library's go line): three clustered bridges in one
# process with NATS embedded in the first, on loopback. Not in make test yet.
cluster-test:
	cd examples/cluster && GOTOOLCHAIN=auto $(GO) vet ./... && GOTOOLCHAIN=auto $(GO) test -race -count=1 -timeout 3m ./...

# Issue 17's three-process demo: nodes a (embedded NATS), b, c as separate
# processes on 127.0.0.1, 12 participants (two of them ffmpeg), kill -9
# of the room's home, re-claim, re-join, restart; prints a table of the
# measured times (about 30 s). cluster-capacity: one room of 5,000
# listeners + 3 talkers over three processes, then one alone (about 3
# minutes). Neither is in make test.
CLUSTER_BIN = $(or $(TMPDIR),/tmp)/rtpmix-cluster-node
cluster-demo:
	cd examples/cluster && GOTOOLCHAIN=auto $(GO) build -o $(CLUSTER_BIN) . && GOTOOLCHAIN=auto $(GO) build -o $(CLUSTER_BIN)-demo ./cmd/clusterdemo
	$(CLUSTER_BIN)-demo -bin $(CLUSTER_BIN)

cluster-capacity:
	cd examples/cluster && GOTOOLCHAIN=auto $(GO) build -o $(CLUSTER_BIN) . && GOTOOLCHAIN=auto $(GO) build -o $(CLUSTER_BIN)-demo ./cmd/clusterdemo
	$(CLUSTER_BIN)-demo -bin $(CLUSTER_BIN) -capacity -timeout 9m $(CAPACITY_FLAGS)

fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Every benchmark, the capacity tool, the network scenarios and the peer
# comparison; writes bench/results/latest.md (see bench/README.md).
bench:
	@RTPMIX_BENCH=1 scripts/deps.sh
	@GO=$(GO) scripts/bench.sh
