#!/usr/bin/env bash
# Builds `opa` from its Go module (github.com/open-policy-agent/opa, pinned in module/go.mod)
# into a cache keyed by version (VAULTMESH_CACHE, default ~/.cache/vaultmesh), like
# hack/controlplane/build.sh. A warm run only checks that the binary exists. Prints the path
# of the opa binary on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
bin="$cache/opa/bin"
# The version comes from the wrapper module, so go.mod is the single place to change it.
version=$(sed -n 's#^\s*github.com/open-policy-agent/opa \(v[^ ]*\).*#\1#p' "$here/module/go.mod" | head -1)
if [ -z "$version" ]; then
  echo "hack/opa/build.sh: no github.com/open-policy-agent/opa version in module/go.mod" >&2
  exit 1
fi
out="$bin/opa-$version"
if [ ! -x "$out" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "hack/opa/build.sh: 'go' not found — install Go >= 1.26" >&2
    exit 1
  fi
  mkdir -p "$bin"
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
  tmp=$(mktemp -d "$bin/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  start=$SECONDS
  echo "hack/opa/build.sh: building opa $version (a cold build takes a few minutes on 2 cores)" >&2
  (cd "$here/module" && go build -trimpath -ldflags="-s -w" -o "$tmp/opa" \
    github.com/open-policy-agent/opa >&2)
  mv -f "$tmp/opa" "$out"
  echo "hack/opa/build.sh: built opa $version in $((SECONDS - start))s" >&2
fi
ln -sfn "opa-$version" "$bin/opa"
echo "$out"
