# The two commands a newcomer needs:
#   make demo   processes exchanging messages on the default home
#   make test   every test: gofmt, vet, the race detector, fuzz corpora, the fault
#               suite, the NATS bridge, interop with Python
GO     ?= go
PYTHON ?= python3
VENV   := .venv
FORMIX := formix-pubsub==1.0.0

.PHONY: demo test vet lint unit interop venv fuzz faults-long clean

demo:
	$(GO) run ./cmd/pubsub demo

test: vet lint unit interop

vet:
	@unformatted=$$(gofmt -l . | grep -v '^$(VENV)/'); \
		if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

# The interop suite needs the real formix-pubsub from PyPI in a virtual
# environment inside the checkout. Without Python or PyPI it is skipped
# with the reason, except under CI=true, where it must run.
interop: venv
	@if [ -x $(VENV)/bin/python ]; then \
		PUBSUB_PYTHON=$(CURDIR)/$(VENV)/bin/python $(GO) test -race -count=1 -tags interop ./interop/...; \
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
	./internal/engine:FuzzParseChannelName ./internal/engine:FuzzParseLock .:FuzzChannelQueue ./cmd/pubsub:FuzzParseHeader \
	./bridge:FuzzImport
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
