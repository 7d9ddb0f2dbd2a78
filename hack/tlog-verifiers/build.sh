#!/usr/bin/env bash
# Builds the transparency-log interop verifier (hack/tlog-verifiers: our own Go program on
# golang.org/x/mod/sumdb/note, github.com/transparency-dev/formats and
# github.com/transparency-dev/merkle at the versions in versions.env) into a cache keyed by its
# pins and sources: <cache>/tlog-verifiers/<hash>/tlog-verifiers (hack/lib/go-tool.sh). Modules
# come from the Go module proxy, pinned by go.sum. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-tool.sh
source "$here/../lib/go-tool.sh"
go_tool_build tlog-verifiers tlog-verifiers "the interop verifier (x/mod $X_MOD_VERSION, formats $TD_FORMATS_VERSION, merkle $TD_MERKLE_VERSION)" \
  "golang.org/x/mod $X_MOD_VERSION" \
  "github.com/transparency-dev/formats $TD_FORMATS_VERSION" \
  "github.com/transparency-dev/merkle $TD_MERKLE_VERSION"
