# mfabulk: `make demo` runs the quick-start demo, `make test` the tests.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

FUZZTIME ?= 5m

.PHONY: build demo man test vet fuzz fuzz-short clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/mfabulk ./cmd/iamlocal ./scripts/phone
	$(GO) build -o bin/ filippo.io/age/cmd/age filippo.io/age/cmd/age-keygen

demo: build
	./scripts/demo.sh

# Man pages, one per command, into man/ (SOURCE_DATE_EPOCH fixes their date).
man:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/mfabulk gen-man man

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@echo "staticcheck ($(STATICCHECK))"
	$(GO) run $(STATICCHECK) ./...

test: vet
	$(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) fuzz-short

# A few seconds of each fuzz target; `make fuzz` runs them for FUZZTIME.
fuzz-short:
	$(MAKE) fuzz FUZZTIME=5s

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/manifest
	$(GO) test -run '^$$' -fuzz '^FuzzParseRecipient$$' -fuzztime $(FUZZTIME) ./internal/manifest

clean:
	rm -rf bin demo man
