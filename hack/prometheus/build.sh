#!/usr/bin/env bash
# Builds Prometheus and promtool (github.com/prometheus/prometheus/cmd/{prometheus,promtool})
# from the Go module proxy into a cache keyed by version (VAULTMESH_CACHE, default
# ~/.cache/vaultmesh): <cache>/prometheus/<version>/{prometheus,promtool}. The version is pinned
# beside the control plane's (hack/controlplane/versions.env); the module's own go.sum pins every
# dependency and the checksum database pins the module (ADR 0003). A cached build is not rebuilt,
# so a warm run costs well under a second. Prints the directory holding both binaries on stdout.
#
# Built without the `builtinassets` tag: the web UI's compiled assets are not in the Go module
# (Prometheus's `make assets` makes them with npm), and without the tag the server reads them from
# disk only when a UI page is requested. The tests use the HTTP API alone (ADR 0111). The
# `remove_all_sd` tag leaves out every service discovery but static, file and HTTP (the cloud
# SDKs are most of a full build); static_configs are all we generate.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../controlplane/versions.env
source "$here/../controlplane/versions.env"
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
dir="$cache/prometheus/$PROMETHEUS_VERSION"
if [ -x "$dir/prometheus" ] && [ -x "$dir/promtool" ]; then
  echo "$dir"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "prometheus/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
# The caller's GOFLAGS must not change what is built for a pinned version.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
mod=github.com/prometheus/prometheus
if [ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ]; then
  # shellcheck source=../lib/go-tool.sh
  source "$here/../lib/go-tool.sh"
  # The same tags as the build: they decide which packages, so which modules, it needs.
  go_fetch_only prometheus go install -n -trimpath -tags remove_all_sd \
    "$mod/cmd/prometheus@$PROMETHEUS_VERSION" "$mod/cmd/promtool@$PROMETHEUS_VERSION"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "prometheus/build.sh: building $mod/cmd/{prometheus,promtool}@$PROMETHEUS_VERSION — a cold build takes many minutes on 2 cores" >&2
# The version both binaries report (`prometheus --version`, build_info), as Prometheus's promu sets it.
rest=${PROMETHEUS_VERSION#v0.} # 316.0
majmin=${rest%%.*}
ldflags="-s -w -X github.com/prometheus/common/version.Version=${majmin:0:1}.${majmin:1}.${rest#*.}"
if ! GOBIN="$tmp" go install -trimpath -tags remove_all_sd -ldflags="$ldflags" \
  "$mod/cmd/prometheus@$PROMETHEUS_VERSION" "$mod/cmd/promtool@$PROMETHEUS_VERSION" >&2; then
  echo "prometheus/build.sh: go install of $mod/cmd/{prometheus,promtool}@$PROMETHEUS_VERSION failed" >&2
  exit 1
fi
mv -f "$tmp/prometheus" "$tmp/promtool" "$dir/"
echo "prometheus/build.sh: built in $((SECONDS - start))s" >&2
echo "$dir"
