#!/usr/bin/env bash
# Builds the Argo CD health-check harness (hack/argocd-lua: our own Go program on gopher-lua at
# the version Argo CD pins, versions.env) into a cache keyed by its pins and sources:
# <cache>/argocd-lua/<hash>/argocd-lua-health (hack/lib/go-tool.sh). Modules come from the Go
# module proxy, pinned by go.sum. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-tool.sh
source "$here/../lib/go-tool.sh"
# go.mod must require what Argo CD's go.mod at ARGOCD_REF does (versions.env).
go_tool_build argocd-lua argocd-lua-health "the health-check harness on gopher-lua $GOPHER_LUA_VERSION" \
  "github.com/yuin/gopher-lua $GOPHER_LUA_VERSION" "sigs.k8s.io/yaml $SIGS_YAML_VERSION"
