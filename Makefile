# mfabulk: `make demo` runs the quick-start demo, `make test` the tests
# (`make test-full`: with every trial of the long matrices).
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

FUZZTIME ?= 5m

.PHONY: build demo man test test-full vet fuzz fuzz-short clean release release-check make-check bench bench-accounts

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/mfabulk ./cmd/iamlocal ./scripts/phone
	$(GO) build -o bin/ filippo.io/age/cmd/age filippo.io/age/cmd/age-keygen filippo.io/age/cmd/age-inspect

demo:
	@test -x bin/mfabulk || echo "building mfabulk (first run downloads Go modules, about a minute)…"
	@$(MAKE) --no-print-directory build
	./scripts/demo.sh

# Man pages, one per command, into man/ (SOURCE_DATE_EPOCH fixes their date).
man:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/mfabulk gen-man man

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

vet:
	@echo "== gofmt"
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@echo "== go vet ./..."
	$(GO) vet ./...
	@echo "== go vet for windows and darwin (cross-compiled: the unix-only code is build-tagged)"
	GOOS=windows GOARCH=amd64 $(GO) vet ./...
	GOOS=windows GOARCH=arm64 $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	@echo "== staticcheck ($(STATICCHECK)), for linux and windows"
	$(GO) run $(STATICCHECK) ./...
	GOBIN=$(CURDIR)/bin $(GO) install $(STATICCHECK)
	GOOS=windows bin/staticcheck ./...
	@echo "== actionlint examples/ci ($(ACTIONLINT))"
	$(GO) run $(ACTIONLINT) examples/ci/*.yml

# go test prints one line per package as it finishes; cmd/mfabulk, the
# end-to-end tests, is the long one.
#
# make test runs the long matrices (SIGKILL at random moments, concurrent
# applies under injected faults, hundreds or thousands of devices) on a
# reduced sample (go test -short: fewer trials, seeds or devices, every
# check kept), to stay under 10 minutes on a 2-core machine. FULL=1 runs
# every trial of every matrix (several times longer): `make test FULL=1`,
# or `make test-full`, which is what .ci/run runs.
FULL ?=
TESTFLAGS := -race$(if $(filter 1 true yes,$(FULL)),, -short)

test: vet
	@echo "== go test $(TESTFLAGS) ./... (four processes: the packages, and cmd/mfabulk in three shards; each one's lines when it finishes)"
	./scripts/gotest.sh $(GO) $(TESTFLAGS) -count=1 -timeout 40m
	@echo "== fuzz targets, 5s each"
	$(MAKE) --no-print-directory fuzz-short
	@echo "== make test: all passed$(if $(findstring -short,$(TESTFLAGS)), (the long matrices on a sample; make test-full runs them all))"

test-full:
	@$(MAKE) --no-print-directory test FULL=1

# A few seconds of each fuzz target; `make fuzz` runs them for FUZZTIME.
fuzz-short:
	$(MAKE) fuzz FUZZTIME=5s

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/manifest
	$(GO) test -run '^$$' -fuzz '^FuzzParseRecipient$$' -fuzztime $(FUZZTIME) ./internal/manifest

# Static release binaries of mfabulk, version-stamped, with SHA256SUMS
# (CGO off, -trimpath). Windows binaries end in .exe; they are built and
# vetted here, not tested (see the README).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

release:
	@echo "release $(VERSION): static mfabulk binaries into dist/"
	rm -rf dist
	mkdir -p dist
	@set -e; for p in $(RELEASE_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=dist/mfabulk_$(VERSION)_$${os}_$${arch}; \
	  if [ $$os = windows ]; then out=$$out.exe; fi; \
	  echo "  building $$out"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $$out ./cmd/mfabulk; \
	done
	cd dist && sha256sum mfabulk_* > SHA256SUMS
	@ls -l dist

# Builds a release and checks it: only when asked, it takes a few minutes.
release-check:
	./scripts/check-release.sh

# Checks that make demo and make test say what they are doing (a second).
make-check:
	./scripts/check-make-messages.sh

# mfabulk against boto3 (16 threads, both retry modes) and an AWS CLI loop on
# iamlocal, per scenario: a table, bench/out/results.csv and
# bench/out/chart.svg. Never part of make test; a few minutes.
# BENCH_DEVICES (300) and BENCH_CLI_DEVICES (30) scale it.
bench: build
	$(GO) build -o bin/ ./bench/s3count ./bench/storeceiling
	./bench/run.sh

# Many accounts: aggregate devices/s over BENCH_ACCOUNTS (50) accounts,
# each rate-limited on its own, against one account's; peak RSS.
bench-accounts: build
	./bench/accounts.sh

clean:
	rm -rf bin demo man dist bench/out
