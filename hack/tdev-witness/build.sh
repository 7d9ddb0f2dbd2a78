#!/usr/bin/env bash
# Builds the transparency-dev witness interop tool (hack/tdev-witness: our own Go program on
# github.com/transparency-dev/witness's HTTP client, witness, HTTP handler and in-memory
# persistence, at the versions in versions.env) into a cache keyed by its pins and sources:
# <cache>/tdev-witness/<hash>/tdev-witness (hack/lib/go-tool.sh). Modules come from the Go module
# proxy, pinned by go.sum. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-tool.sh
source "$here/../lib/go-tool.sh"
go_tool_build tdev-witness tdev-witness "the transparency-dev witness interop tool (witness $TD_WITNESS_VERSION, formats $TD_FORMATS_VERSION)" \
  "github.com/transparency-dev/witness $TD_WITNESS_VERSION" \
  "github.com/transparency-dev/formats $TD_FORMATS_VERSION" \
  "golang.org/x/mod $X_MOD_VERSION"
