# VaultMesh — kubebuilder-style targets. Node always runs as node_modules/.bin/node (Node 24,
# pinned by the `node` devDependency); the system node only runs npm itself.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE := node_modules/.bin/node
# npm itself runs on the system node (its PATH, kept through recursive makes).
ifndef VAULTMESH_SYSTEM_PATH
export VAULTMESH_SYSTEM_PATH := $(PATH)
endif
NPM := env PATH=$(VAULTMESH_SYSTEM_PATH) npm
# node_modules/.bin first, so every tool's `#!/usr/bin/env node` finds Node 24.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
KUBECTL = $(shell bash hack/controlplane/build.sh 2>/dev/null)/kubectl
CLUSTER ?= dev
TIMED := bash hack/timed.sh

.PHONY: all deps node-deps controlplane test test-unit test-integration lint generate verify \
	dev dev-down cluster-up cluster-down bench clean image release slo-report

all: test

# `npm ci` installs exactly the lock (complete for every platform, ADR 0061) and never rewrites it.
# It starts by deleting node_modules, so it runs only when what it installs can change: the lock
# or package.json's dependency fields (the stamp holds their hash), not for a script edit. Never
# through a linked node_modules (test/harness/doc-session.ts's clones link the repository's):
# npm ci would empty the checkout every running test uses.
NPM_DEPS_HASH := env PATH=$(VAULTMESH_SYSTEM_PATH) node -e 'const f = require("fs"), c = require("crypto"), p = JSON.parse(f.readFileSync("package.json", "utf8")); const k = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies", "overrides", "bundleDependencies"]; process.stdout.write(c.createHash("sha256").update(JSON.stringify(k.map((x) => p[x] ?? null))).update(f.readFileSync("package-lock.json")).digest("hex"));'

node_modules/.install-stamp: package.json package-lock.json
	@want=$$($(NPM_DEPS_HASH)); \
	if [ "$$(cat $@ 2>/dev/null)" != "$$want" ]; then \
	  if [ -L node_modules ]; then \
	    echo "node_modules is a link to another checkout's (a docs-test clone): run make node-deps there; npm ci would empty it" >&2; \
	    exit 2; \
	  fi; \
	  echo "$(NPM) ci --no-audit --no-fund --loglevel=error"; \
	  $(NPM) ci --no-audit --no-fund --loglevel=error; \
	fi; \
	echo "$$want" >$@

## node-deps: install npm dependencies (npm ci) when the lock or package.json's dependencies changed
node-deps: node_modules/.install-stamp

## deps: npm packages, Debian packages (Postgres, Redis, openssl, gnupg), the control plane, stripe-mock, Helm, Prometheus, Schemathesis
deps:
	@$(TIMED) "npm ci" $(MAKE) --no-print-directory node-deps
	@$(TIMED) "debian packages" bash hack/deps.sh
	@# The control plane, stripe-mock, Helm, argocd-lua, tlog-verifiers, tdev-witness and
	@# Prometheus: modules fetched at once, then two builds at a time (ADR 0078).
	@$(TIMED) "go tools" bash hack/go-tools.sh
	@$(TIMED) "schemathesis (PyPI, pinned)" bash hack/schemathesis.sh >/dev/null

## image: the OCI image without a daemon (ADR 0060): .cache/image/{oci/,vaultmesh.tar,rootfs/,digest};
## skipped when no input changed
image: node-deps
	bash hack/image/build.sh

## release: sign and timestamp the image digest and record a `deployment` receipt in the ledger;
## needs DATABASE_URL (the ledger's Postgres), REMEMBRANCER_KEY_DIR (`remembrancer keygen --dir`),
## REMEMBRANCER_TSA_URL and REMEMBRANCER_TSA_CA (see hack/image/release.sh)
release: image
	bash hack/image/release.sh

## slo-report: measure the four KPIs in Prometheus (PROMETHEUS_URL, SLO_WINDOW, default 72h) into
## canary_slo_report.json and .html, signed and recorded in the ledger as an `slo.report` receipt;
## needs DATABASE_URL, REMEMBRANCER_KEY_DIR, REMEMBRANCER_TSA_URL and REMEMBRANCER_TSA_CA as
## `make release` does (docs/slo.md)
PROMETHEUS_URL ?=
SLO_WINDOW ?= 72h
slo-report: node-deps
	@[ -n "$(PROMETHEUS_URL)" ] || { echo "slo-report: set PROMETHEUS_URL (e.g. http://127.0.0.1:9090)" >&2; exit 2; }
	$(NODE) bin/vaultmesh.js slo-report --prometheus "$(PROMETHEUS_URL)" --window "$(SLO_WINDOW)" --html --record

## controlplane: build etcd, kube-apiserver, controller-manager, scheduler, kubectl, kwok (cached)
controlplane:
	bash hack/controlplane/build.sh

# Jest workers for `make test`, one per lane (jest.runner.js, ADR 0078): the shared control plane's
# suites one at a time, the suites with a control plane of their own one at a time, the unit suites.
# Most integration time is waiting, so three fit two cores; jest's default (cores - 1) would run
# every suite one after another.
JEST_WORKERS ?= 3

## test: lint, verify generated files, unit and integration tests (bootstraps everything)
test: deps
	@$(TIMED) "lint" $(MAKE) --no-print-directory lint
	@$(TIMED) "verify" $(MAKE) --no-print-directory verify
	@$(TIMED) "image" $(MAKE) --no-print-directory image
	@$(TIMED) "jest (unit + integration)" $(NPM) test --silent -- --maxWorkers=$(JEST_WORKERS)
	@bash hack/timed.sh --summary

# hack/observability's unit test runs promtool (built from its Go module, cached by version).
test-unit: node-deps
	@$(TIMED) "prometheus build" bash hack/prometheus/build.sh >/dev/null
	$(NPM) run test:unit --silent

test-integration: deps
	$(NPM) run test:integration --silent

## lint: ESLint, Prettier and the TypeScript type check
lint: node-deps
	eslint .
	prettier --check . --log-level warn
	tsc -p tsconfig.json

## generate: CRD YAML (crds/generated, the chart) and the chart values schema from the zod schemas
generate: node-deps
	$(NPM) run generate --silent

## verify: regenerate and fail if any generated file differs from what is committed
verify: node-deps
	bash hack/verify.sh

## cluster-up / cluster-down: the local control plane (CLUSTER=name, default dev)
cluster-up: node-deps
	$(NPM) run --silent cluster -- up --name $(CLUSTER)

cluster-down: node-deps
	$(NPM) run --silent cluster -- down --name $(CLUSTER)

## dev: the whole product (services, webhooks, ledger publisher, operator), samples Ready, receipt verified
dev: deps
	bash hack/dev.sh $(CLUSTER)

dev-down: node-deps
	bash hack/dev.sh --down $(CLUSTER)
	$(NPM) run --silent cluster -- down --name $(CLUSTER)

## bench: every benchmark in bench/ (JSON on stdout); never part of `make test`
bench: deps
	@for b in routing ledger admission scheduling tenants federation; do echo "# bench:$$b" >&2; $(NPM) run --silent bench:$$b; done

clean: cluster-down
	rm -rf .cache
