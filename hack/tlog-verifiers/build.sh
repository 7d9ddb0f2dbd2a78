#!/usr/bin/env bash
# Builds the transparency-log interop verifier (hack/tlog-verifiers: our own Go program on
# golang.org/x/mod/sumdb/note, github.com/transparency-dev/formats and
# github.com/transparency-dev/merkle at the versions in versions.env) into a cache keyed by
# those versions and a hash of the sources: <cache>/tlog-verifiers/<hash>/tlog-verifiers
# (VAULTMESH_CACHE, default ~/.cache/vaultmesh). Modules come from the Go module proxy, pinned
# by go.sum. A cached build is not rebuilt, so a warm run costs well under a second. Prints the
# binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}

# One pin: go.mod must require what versions.env says.
for pin in "golang.org/x/mod $X_MOD_VERSION" \
  "github.com/transparency-dev/formats $TD_FORMATS_VERSION" \
  "github.com/transparency-dev/merkle $TD_MERKLE_VERSION"; do
  if ! grep -qE "^\s*(require )?${pin//./\\.}\$" "$here/go.mod"; then
    echo "tlog-verifiers/build.sh: hack/tlog-verifiers/go.mod does not require ${pin} (versions.env);" \
      "run: cd hack/tlog-verifiers && go get ${pin/ /@} && go mod tidy" >&2
    exit 1
  fi
done

hash=$(cd "$here" && cat versions.env go.mod go.sum ./*.go | sha256sum | cut -c1-12)
dir="$cache/tlog-verifiers/$hash"
out="$dir/tlog-verifiers"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "tlog-verifiers/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "tlog-verifiers/build.sh: building the interop verifier (x/mod $X_MOD_VERSION," \
  "formats $TD_FORMATS_VERSION, merkle $TD_MERKLE_VERSION)" >&2
if ! (cd "$here" && go build -trimpath -ldflags="-s -w" -o "$tmp/tlog-verifiers" . >&2); then
  echo "tlog-verifiers/build.sh: go build of hack/tlog-verifiers failed" >&2
  exit 1
fi
mv -f "$tmp/tlog-verifiers" "$out"
echo "tlog-verifiers/build.sh: built in $((SECONDS - start))s" >&2
echo "$out"
