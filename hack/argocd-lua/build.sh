#!/usr/bin/env bash
# Builds the Argo CD health-check harness (hack/argocd-lua: our own Go program on gopher-lua at
# the version Argo CD pins, versions.env) into a cache keyed by that version and a hash of the
# harness sources: <cache>/argocd-lua/<version>-<hash>/argocd-lua-health (VAULTMESH_CACHE,
# default ~/.cache/vaultmesh). Modules come from the Go module proxy, pinned by go.sum. A cached
# build is not rebuilt, so a warm run costs well under a second. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}

# One pin: go.mod must require what versions.env says (Argo CD's go.mod at ARGOCD_REF).
for pin in "github.com/yuin/gopher-lua $GOPHER_LUA_VERSION" "sigs.k8s.io/yaml $SIGS_YAML_VERSION"; do
  if ! grep -qE "^\s*(require )?${pin//./\\.}\$" "$here/go.mod"; then
    echo "argocd-lua/build.sh: hack/argocd-lua/go.mod does not require ${pin} (versions.env);" \
      "run: cd hack/argocd-lua && go get ${pin/ /@} && go mod tidy" >&2
    exit 1
  fi
done

hash=$(cd "$here" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)
dir="$cache/argocd-lua/$GOPHER_LUA_VERSION-$hash"
out="$dir/argocd-lua-health"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "argocd-lua/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "argocd-lua/build.sh: building the health-check harness on gopher-lua $GOPHER_LUA_VERSION" >&2
if ! (cd "$here" && go build -trimpath -ldflags="-s -w" -o "$tmp/argocd-lua-health" . >&2); then
  echo "argocd-lua/build.sh: go build of hack/argocd-lua failed" >&2
  exit 1
fi
mv -f "$tmp/argocd-lua-health" "$out"
echo "argocd-lua/build.sh: built in $((SECONDS - start))s" >&2
echo "$out"
