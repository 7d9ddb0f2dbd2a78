#!/usr/bin/env bash
# Builds stripe-mock (Stripe's official API mock, which embeds the OpenAPI spec it serves) from
# its Go module on the module proxy into a cache keyed by version (VAULTMESH_CACHE, default
# ~/.cache/vaultmesh): <cache>/stripe-mock/<version>/stripe-mock. A cached build is not rebuilt,
# so a warm run costs well under a second. Prints the binary's path on stdout.
set -euo pipefail
STRIPE_MOCK_VERSION=${STRIPE_MOCK_VERSION:-v0.203.0}
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
dir="$cache/stripe-mock/$STRIPE_MOCK_VERSION"
out="$dir/stripe-mock"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "stripe-mock/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
export GOTOOLCHAIN=local CGO_ENABLED=0
if [ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ]; then
  # shellcheck source=../lib/go-tool.sh
  source "$(dirname "$0")/../lib/go-tool.sh"
  go_fetch_only stripe-mock go install -n -trimpath "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "stripe-mock/build.sh: building github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2
if ! GOBIN="$tmp" go install -trimpath -ldflags="-s -w" \
  "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2; then
  echo "stripe-mock/build.sh: go install failed" >&2
  exit 1
fi
mv -f "$tmp/stripe-mock" "$out"
echo "stripe-mock/build.sh: built in $((SECONDS - start))s" >&2
echo "$out"
