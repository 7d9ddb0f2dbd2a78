#!/usr/bin/env bash
# Builds Helm v4 (helm.sh/helm/v4/cmd/helm) from the Go module proxy into a cache keyed by
# version (VAULTMESH_CACHE, default ~/.cache/vaultmesh): <cache>/helm/<version>/helm. The module's
# own go.sum pins every dependency and the checksum database pins the module, as for the control
# plane (ADR 0003). A cached build is not rebuilt, so a warm run costs well under a second.
# Prints the binary's path on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
dir="$cache/helm/$HELM_VERSION"
out="$dir/helm"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "helm/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
# The caller's GOFLAGS must not change what is built for a pinned version.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
if [ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ]; then
  # shellcheck source=../lib/go-tool.sh
  source "$here/../lib/go-tool.sh"
  go_fetch_only helm go install -n -trimpath "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "helm/build.sh: building helm.sh/helm/v4/cmd/helm@$HELM_VERSION — a cold build takes minutes on 2 cores" >&2
# The version Helm reports (`helm version`, .Capabilities.HelmVersion), as its Makefile sets it.
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
if ! GOBIN="$tmp" go install -trimpath -ldflags="$ldflags" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2; then
  echo "helm/build.sh: go install of helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed" >&2
  exit 1
fi
mv -f "$tmp/helm" "$out"
echo "helm/build.sh: built in $((SECONDS - start))s" >&2
echo "$out"
