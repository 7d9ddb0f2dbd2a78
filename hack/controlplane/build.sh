#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok from
# the Go module proxy into a cache keyed by version (VAULTMESH_CACHE, default
# ~/.cache/vaultmesh). A component already built for its pinned version is not rebuilt, so a
# warm run costs well under a second. Prints the bin directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-tool.sh
source "$here/../lib/go-tool.sh"
cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
bin="$cache/controlplane/bin"
mkdir -p "$bin"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
  exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
ldflags="-s -w"

# build <module-dir> <version-tag> <output-name=package>...
build() {
  local mod="$1" tag="$2"; shift 2
  local missing=() pkgs=() names=() pair name pkg
  for pair in "$@"; do
    name=${pair%%=*} pkg=${pair#*=}
    if [ ! -x "$bin/$name-$tag" ]; then missing+=("$name"); pkgs+=("$pkg"); names+=("$name"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ]; then
    (cd "$here/modules/$mod" && go_fetch_only "controlplane/$mod" go list -deps "${pkgs[@]}")
    return 0
  fi
  local start=$SECONDS tmp
  tmp=$(mktemp -d "$bin/.build.XXXXXX")
  echo "build.sh: building ${missing[*]} ($tag) — a cold build takes many minutes on 2 cores" >&2
  if ! (cd "$here/modules/$mod" && go build -trimpath -ldflags="$ldflags" -o "$tmp/" "${pkgs[@]}" >&2); then
    rm -rf "$tmp"; echo "build.sh: go build of ${missing[*]} failed" >&2; exit 1
  fi
  local i built
  for i in "${!names[@]}"; do
    pkg=${pkgs[$i]}; built="$tmp/${pkg##*/}"
    [ "$mod" = etcd ] && built="$tmp/etcd"
    mv -f "$built" "$bin/${names[$i]}-$tag"
  done
  rm -rf "$tmp"
  echo "build.sh: built ${missing[*]} in $((SECONDS - start))s" >&2
}

build etcd "$ETCD_VERSION" "etcd=."
build kwok "$KWOK_VERSION" "kwok=sigs.k8s.io/kwok/cmd/kwok"
build kube "$K8S_VERSION" \
  "kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver" \
  "kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager" \
  "kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler" \
  "kubectl=k8s.io/kubernetes/cmd/kubectl"

# Only fetching modules (hack/go-tools.sh): nothing was built to name.
[ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ] && exit 0

# Stable names for the pinned versions, so callers need not know them.
for pair in etcd:$ETCD_VERSION kwok:$KWOK_VERSION kube-apiserver:$K8S_VERSION \
  kube-controller-manager:$K8S_VERSION kube-scheduler:$K8S_VERSION kubectl:$K8S_VERSION; do
  ln -sfn "${pair%%:*}-${pair#*:}" "$bin/${pair%%:*}"
done
echo "$bin"
