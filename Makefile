# Xenolith build, test and benchmark entry points.
#   make          build the guest kit and bin/xenolith
#   make test     lint, then unit and KVM integration tests
#   make bench    the default benchmark (the README's first command)
export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
BIN     := bin/xenolith
# On a machine with /dev/kvm the KVM tests must run: a skip becomes a failure.
REQUIRE ?= $(shell test -w /dev/kvm && echo kvm)
GOFILES := $(shell find . -name '*.go' -not -path './.git/*' 2>/dev/null)

.PHONY: all deps guestkit build test lint unit fuzz bench clean generate-check

all: build

deps: .deps.stamp
.deps.stamp: scripts/deps.sh go.mod go.sum
	./scripts/deps.sh
	@touch $@

guestkit: deps
	$(MAKE) -s -C guestkit

# Without cgo, Go allocates thread stacks itself: a pthread stack per vCPU
# thread would add two memory mappings and an 8 MiB reservation per VM.
build: guestkit
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/xenolith

lint: deps
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./tools/archcheck

test: guestkit lint
	XENOLITH_REQUIRE=$(REQUIRE) $(GO) test -race -count=1 ./...

unit: deps
	$(GO) test -count=1 -short ./...

# Short fuzzing pass over every fuzz target (FUZZTIME each). A target fails
# only on a failing input; Go's engine reporting "context deadline exceeded"
# when the time ends mid-minimisation is not a failure.
FUZZTIME ?= 10s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1x $$pkg 2>&1); rc=$$?; \
	    if [ $$rc -eq 0 ]; then echo "$$out" | tail -1; fi; \
	    if [ $$rc -ne 0 ]; then \
	      if echo "$$out" | grep -q "Failing input written"; then echo "$$out"; exit 1; fi; \
	      if echo "$$out" | grep -q "context deadline exceeded"; then echo "fuzz: $$f: the time ran out while the engine minimised a new input (not a failure)"; else echo "$$out"; exit 1; fi; \
	    fi; \
	  done; done

# The eBPF object and its Go bindings are generated (bpf2go, pinned in go.mod's
# tool block) and committed: regenerate them and fail if anything changed.
# Needs clang, llvm and libbpf-dev (scripts/deps.sh --bpf installs them).
generate-check: deps
	./scripts/deps.sh --bpf
	$(GO) generate ./bench/probe
	git diff --exit-code -- bench/probe

bench: build
	./$(BIN) bench

clean:
	$(MAKE) -s -C guestkit clean
	rm -rf bin .deps.stamp
