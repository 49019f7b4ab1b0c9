# The two commands a newcomer needs:
#   make demo   processes exchanging messages on the default home
#   make test   every test: gofmt, vet (also for macOS, the BSDs, 32-bit and
#               Windows), the race detector, fuzz corpora, the fault suite, the
#               portable Unix backend, the NATS bridge, interop with Python
GO     ?= go
PYTHON ?= python3
VENV   := .venv
FORMIX := formix-pubsub==1.0.0

.PHONY: demo test vet cross lint unit portable test386 interop interop-portable interop-run venv fuzz faults-long clean

demo:
	$(GO) run ./cmd/pubsub demo

test: vet cross lint unit portable test386 interop interop-portable

vet:
	@unformatted=$$(gofmt -l . | grep -v '^$(VENV)/'); \
		if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

# The module must build and vet on every Unix the bus runs on, and build
# on 32-bit and on Windows, where Open says the bus cannot run.
cross:
	GOOS=darwin GOARCH=amd64 $(GO) vet ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	GOOS=freebsd GOARCH=amd64 $(GO) vet ./...
	GOOS=linux GOARCH=386 $(GO) vet ./...
	GOOS=linux GOARCH=arm $(GO) build ./...
	GOOS=openbsd GOARCH=amd64 $(GO) build ./...
	GOOS=netbsd GOARCH=amd64 $(GO) build ./...
	GOOS=dragonfly GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

# 32-bit Linux runs the bus: the core suite as a 386 program.
test386:
	GOARCH=386 $(GO) test -count=1 . ./internal/...

# The portable Unix backend (macOS, the BSDs) on Linux: the core suite, the
# fault suite, the command and the interop suite again with the build tag
# that selects it.
PORTABLE := -tags pubsub_portable
portable:
	$(GO) test -race -count=1 $(PORTABLE) . ./internal/... ./faults/... ./cmd/...

# The interop suite needs the real formix-pubsub from PyPI in a virtual
# environment inside the checkout. Without Python or PyPI it is skipped
# with the reason, except under CI=true, where it must run.
interop: venv
	@$(MAKE) --no-print-directory interop-run TAGS=interop

interop-portable: venv
	@$(MAKE) --no-print-directory interop-run TAGS=interop,pubsub_portable

interop-run:
	@if [ -x $(VENV)/bin/python ]; then \
		echo "go test -race -count=1 -tags $(TAGS) ./interop/..."; \
		PUBSUB_PYTHON=$(CURDIR)/$(VENV)/bin/python $(GO) test -race -count=1 -tags $(TAGS) ./interop/...; \
	elif [ "$$CI" = "true" ]; then \
		echo "interop: no Python environment with $(FORMIX); CI requires it" >&2; exit 1; \
	else \
		echo "interop: SKIPPED: could not create $(VENV) with $(FORMIX) (see above); the Go tests ran"; \
	fi

venv:
	@if [ ! -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -c 'import importlib.metadata as m; assert m.version("formix-pubsub") == "1.0.0"' 2>/dev/null; then \
		rm -rf $(VENV); \
		( $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet --disable-pip-version-check $(FORMIX) ) \
		|| { rm -rf $(VENV); echo "interop: cannot install $(FORMIX) (no $(PYTHON) or no access to PyPI)" >&2; }; \
	fi

# Run every fuzz target for FUZZTIME each, one after another (the corpora
# also run in `make test`).
FUZZTIME ?= 10m
FUZZ_TARGETS := \
	./internal/wire:FuzzDecode ./internal/wire:FuzzDecodeHeaders ./internal/wire:FuzzEncodeHeaders \
	./internal/wire:FuzzNextRecord ./internal/topic:FuzzMatch ./internal/topic:FuzzValidate \
	./internal/engine:FuzzParseChannelName ./internal/engine:FuzzParseLock ./internal/engine:FuzzParseQueueLine \
	./internal/engine:FuzzQueueNames ./internal/engine:FuzzQueueRecords .:FuzzChannelQueue ./cmd/pubsub:FuzzParseHeader \
	./bridge:FuzzImport ./bridge:FuzzImportPacked ./bridge:FuzzUnpack
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s "$${t%%:*}"; \
	done

# The fault-injection suite at full size (make test runs it scaled down).
faults-long:
	$(GO) test -count=1 -v -timeout 30m ./faults -long

clean:
	rm -rf $(VENV)
