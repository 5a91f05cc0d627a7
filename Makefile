# picket: see README.md. `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GO      ?= go
BIN     := bin/picket
# Package version: the last v* tag, plus the commits since it; before the
# first tag, 0.0.0 plus the commit count. MSI takes only the numeric x.y.z.
PKG_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed -e 's/^v//' -e 's/-\([0-9]*\)-g/+\1.g/'); \
  [ -n "$$v" ] || v=0.0.0+$$(git rev-list --count HEAD 2>/dev/null || echo 0).g$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); echo $$v)
# Packages carry this date on every file, so two builds of one commit are
# byte-identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
# nfpm is pinned at v2.45.2: newer versions depend on modules the Go module
# proxy we build with refuses.
NFPM    ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
export NFPM
# Every package but the integration tests, which drive Debian's peers and
# are Linux-only.
WINPKGS  = $(shell $(GO) list ./... | grep -v /internal/e2e)

.PHONY: help build test unit peers demo bench lint cross package clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build bin/picket (static, CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/picket

peers: ## install the real test peers from Debian's packages if any is missing (or say the one command that does)
	@scripts/test-peers.sh

test: peers ## unit and integration tests with -race, against the real peers
	PATH="$$PATH:/usr/sbin" $(GO) test -race -count=1 -timeout 10m ./...

unit: ## unit tests only (no peers needed)
	$(GO) test -race -count=1 -short ./...

demo: build ## run picket server and picket send on loopback and show what Nagios receives
	@./scripts/demo.sh

bench: build ## benchmarks against send_nsca, the nsca daemon and fork/exec; prints ratios
	set -o pipefail; PATH="$$PATH:/usr/sbin" $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 45m ./internal/e2e/ | tee .bench.out
	set -o pipefail; $(GO) test -run '^$$' -bench Append16 -benchtime 100000x -count 3 ./internal/spool/ | tee -a .bench.out
	set -o pipefail; $(GO) test -run '^$$' -bench SendOnChange -benchtime 1x ./spooler/ | tee -a .bench.out

lint: ## gofmt, go vet, staticcheck (linux and windows), the import rules
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) vet $(WINPKGS)
	scripts/check-imports.sh
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	bin/staticcheck ./...
	GOOS=windows bin/staticcheck $(WINPKGS)

cross: ## build for linux/amd64, linux/arm64, windows/amd64, darwin/arm64 into dist/
	@for t in linux/amd64 linux/arm64 windows/amd64 darwin/arm64; do \
	  os=$${t%/*}; arch=$${t#*/}; ext=""; [ $$os = windows ] && ext=.exe; \
	  echo "  $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/picket-$$os-$$arch$$ext ./cmd/picket || exit 1; \
	done

package: cross ## deb and rpm (amd64, arm64) and the Windows MSI into dist/
	@for arch in amd64 arm64; do \
	  VERSION=$(PKG_VERSION) ARCH=$$arch BIN=dist/picket-linux-$$arch OUT=dist packaging/linux/build.sh || exit 1; \
	done
	VERSION=$(PKG_VERSION) BIN=dist/picket-windows-amd64.exe OUT=dist packaging/windows/build.sh
	@ls -l dist/*.deb dist/*.rpm dist/*.msi

clean: ## remove build outputs
	rm -rf bin dist .bench.out
