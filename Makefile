# lianban — the two commands of the README are `make run` and `make test`.
# Both work on a fresh machine: Go modules come from the module proxy, and
# the system tools the tests need (pdftotext and zbarimg, for certificates)
# are installed here when they are missing, as are Chromium, a Chinese font and
# axe-core for the browser tests of the pages (web/browsertest).

GO ?= go

.PHONY: run test deps vet staticcheck bench perf walkthrough clients ci-services faults soak

run:
	$(GO) run ./cmd/lianban

deps:
	@{ command -v pdftotext && command -v zbarimg; } >/dev/null 2>&1 || { \
	  echo "installing poppler-utils (pdftotext) and zbar-tools (zbarimg, a QR reader) for the certificate tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils zbar-tools >/dev/null) || \
	  { echo "could not install them; run: apt-get install poppler-utils zbar-tools"; exit 1; }; }
	@{ test -x /usr/bin/chromium && fc-list :lang=zh | grep -q .; } || { \
	  echo "installing chromium and a Chinese font for the browser tests (web/browsertest)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || \
	  { echo "could not install chromium; run: apt-get install chromium fonts-wqy-microhei"; exit 1; }; }
	@test -f web/browsertest/node_modules/axe-core/axe.min.js || { \
	  echo "installing axe-core for the browser tests' accessibility scans"; \
	  npm ci --prefix web/browsertest --no-audit --no-fund --loglevel=error || \
	  { echo "could not install axe-core; run: npm ci --prefix web/browsertest"; exit 1; }; }

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# staticcheck, pinned and run through the module proxy like everything
# else: nothing to install first.
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Tests run on embedded SQLite and Redis everywhere; set LIANBAN_TEST_POSTGRES,
# LIANBAN_TEST_MYSQL and LIANBAN_TEST_REDIS to run the same suites on real
# servers too (CI does).
# -timeout: the slowest packages (refund payouts, the browser tests) take
# minutes under -race on a loaded 2-core machine; go test's default of 10
# minutes per package would fail them for being slow, not wrong.
test: deps vet staticcheck
	$(GO) test -race -count=1 -timeout 25m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/ ./certificate/

# Load test (issue 13): builds and starts the server on a fresh data
# directory (PostgreSQL and Redis when LIANBAN_TEST_POSTGRES and
# LIANBAN_TEST_REDIS are set), seeds people through the API and drives each
# endpoint; e.g. make perf PERF_FLAGS="-duration 5s -only listRecords,getMe".
perf:
	$(GO) run ./cmd/lianban-perf $(PERF_FLAGS)

# Fault suite (issue 15): builds the server, runs instances on a database
# of its own (LIANBAN_TEST_POSTGRES) and a redis-server of its own, injects
# faults through TCP proxies and prints, per fault, requests served and
# failed, notifications retried, money lost or doubled and the bank
# invariant. Fails when PostgreSQL or redis-server is missing. CI runs it.
faults:
	$(GO) test -tags faults -run TestFaults -count=1 -v -timeout 15m ./faults/

# Soak (issue 15; not in CI): the money journey at SOAK_RATE payers a second
# (default 2) for SOAK_DURATION (default 10m), printing the instance's RSS,
# goroutines, open fds, sockets and database pool every SOAK_EVERY (1m).
soak:
	$(GO) test -tags soak -run TestSoak -count=1 -v -timeout 0 ./faults/

walkthrough:
	bash scripts/walkthrough-check.sh

# The clients front-end teams and banks generate from miniprogram-api.yaml
# (oapi-codegen for Go, openapi-typescript for TypeScript) must compile.
clients:
	bash scripts/clients/check.sh
