# custos — one Go binary that keeps local inference up.
#   make run    build everything it needs and serve the default model on 127.0.0.1:8080
#   make test   the whole suite (race detector on)

GO        ?= go
BIN       := bin
CACHE     := .cache
LISTEN    ?= 127.0.0.1:8080
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
TEST_TIMEOUT ?= 20m

.PHONY: all build run run-standin test deps tools go-deps llama-server native-libs fuzz chaos bench screenshots clean

all: build

# tools: install what a fresh machine lacks (Go comes with the machine).
tools:
	@command -v npm >/dev/null 2>&1 || { echo "installing Node.js and npm (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@command -v gcc >/dev/null 2>&1 || { echo "installing gcc for the race detector (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null; }
	@{ command -v cmake && command -v g++ && command -v git; } >/dev/null 2>&1 || { \
		echo "installing cmake, g++ and git to build llama-server (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make git >/dev/null; }
	@{ command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || { \
		echo "installing PostgreSQL for the shared-store tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v ip >/dev/null 2>&1 || { echo "installing iproute2 for the fleet tests' network namespaces (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium for the dashboard's browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v firefox-esr >/dev/null 2>&1 || { echo "installing firefox-esr for the dashboard's Firefox test (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null; }

go-deps:
	$(GO) mod download

# deps: the llama.cpp libraries for the embedded engine, pinned and verified.
deps: tools go-deps
	@if [ -x scripts/deps.sh ]; then scripts/deps.sh; fi

# llama-server: llama.cpp's own server, of the same release as the
# libraries, built once per machine into the user's cache (minutes the
# first time; pinned in deps/llama-server.lock). The e2e and conformance
# suites run against it.
llama-server: tools
	@scripts/llama-server.sh

# native-libs: the same release's libraries built for this machine's CPU
# (minutes the first time, cached beside llama-server), for the runner:
#   custos runner --lib-dir "$$(scripts/llama-server.sh libs)" ...
# The prebuilt ones of `make deps` suit any x86-64 CPU; these are faster on
# this one (docs/BENCHMARKS.md).
native-libs: tools
	@scripts/llama-server.sh libs

build: deps
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/custos ./cmd/custos
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/standin ./cmd/standin

# The default model: generated once (no registry here ships weights), then
# served on the embedded engine.
MODEL ?= $(CACHE)/models/tiny-256x4.gguf

$(MODEL): | build
	$(BIN)/custos model gen --out $@ --dim 256 --layers 4 --seed 1

run: build $(MODEL)
	$(BIN)/custos serve --model $(MODEL) --listen $(LISTEN)

# run-standin serves the stand-in backend instead (no llama.cpp needed).
run-standin: build
	$(BIN)/custos serve --config examples/standin.yaml --listen $(LISTEN)

# test: the whole suite on the prebuilt libraries, then the binding's tests and
# the conformance suite again on the ones built for this CPU (native-libs),
# which make bench measures: they must load, keep ggml's thread pools, and
# answer token for token as llama-server does.
test: deps llama-server native-libs
	CGO_ENABLED=1 $(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	CUSTOS_LLAMA_LIB_DIR="$$(scripts/llama-server.sh libs)" CGO_ENABLED=1 \
		$(GO) test -race -timeout $(TEST_TIMEOUT) ./internal/llama ./test/conformance

# chaos: the chaos suite for longer, with its report (docs/RELIABILITY.md).
CHAOS_DURATION ?= 60s
chaos: deps
	@mkdir -p $(CACHE) && rm -f $(CURDIR)/$(CACHE)/chaos-report.md
	CUSTOS_CHAOS_DURATION=$(CHAOS_DURATION) CUSTOS_CHAOS_REPORT=$(CURDIR)/$(CACHE)/chaos-report.md \
		$(GO) test -count=1 -timeout 30m -v -run . ./test/chaos | grep -E '^(---|ok|FAIL|PASS)|sent [0-9]'
	@echo "report: $(CACHE)/chaos-report.md"

# fuzz: each fuzz target for FUZZTIME, seeded from its testdata folder.
FUZZTIME ?= 30s
fuzz: deps
	$(GO) test -run XXX -fuzz '^FuzzParseInference$$' -fuzztime $(FUZZTIME) ./internal/gateway
	$(GO) test -run XXX -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	$(GO) test -run XXX -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/gguf

# bench: every benchmark of docs/BENCHMARKS.md in one run — the gateway,
# pause and engine micro-benchmarks, then ./bench, which runs custos,
# the stand-in and the runner as processes and compares direct with
# through-custos side by side, and the runner with the real llama-server
# (engine/* scenarios: $CUSTOS_LLAMA_SERVER, else scripts/llama-server.sh),
# the runner on the libraries built for this CPU as llama-server is.
# BENCH_FLAGS=-quick for a smoke run.
BENCH_FLAGS ?=
bench: build $(MODEL) native-libs
	$(GO) test -run XXX -bench Proxy -benchmem -count 3 ./internal/gateway
	$(GO) test -run XXX -bench Resume -benchtime 20x -count 3 ./internal/intervention
	$(GO) test -run XXX -bench 'Decode$$|DecodeFourSequences|PromptProcessing' -benchtime 1s -count 3 ./internal/llama
	$(GO) test -run XXX -bench DecodeBeyondCache -benchtime 2s -count 2 ./internal/llama
	$(GO) test -run XXX -bench 'DecodeHTTP$$' -benchtime 3x -count 3 ./internal/runner
	$(GO) test -run XXX -bench DecodeHTTPBeyondCache -benchtime 3x -count 2 ./internal/runner
	$(GO) run ./bench -out $(CURDIR)/$(CACHE)/bench-report.md -runner-lib-dir "$$(scripts/llama-server.sh libs)" $(BENCH_FLAGS)
	@echo "report: $(CACHE)/bench-report.md"

# screenshots: the dashboard's main views, taken by the browser tests
# against a live custos, into docs/screenshots/ (shown in README.md).
screenshots: deps
	CUSTOS_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' -v ./test/browser

clean:
	rm -rf $(BIN) $(CACHE)
