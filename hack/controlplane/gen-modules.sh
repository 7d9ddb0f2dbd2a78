#!/usr/bin/env bash
# Regenerates the Go wrapper modules in hack/controlplane/modules/ from versions.env.
# Run by hand after changing a version; the results (go.mod + go.sum) are committed so that
# builds are reproducible. The k8s.io/kubernetes staging modules are published as
# k8s.io/<name> v0.<minor>.<patch>; the list of replaces is read from its own go.mod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
staging_version="v0.${K8S_VERSION#v1.}"

gen_kube() {
  local dir="$here/modules/kube"
  rm -rf "$dir" && mkdir -p "$dir"
  local modfile
  modfile=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module vaultmesh.local/controlplane/kube"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//').0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "tool ("
    for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      echo "	k8s.io/kubernetes/cmd/$c"
    done
    echo ")"
    echo
    echo "replace ("
    grep -oE '^\s*k8s.io/[a-z-]+ => ./staging' "$modfile" | awk '{print $1}' | while read -r m; do
      # sample-* modules are examples that nothing we build imports; some are not published.
      case "$m" in k8s.io/sample-*) continue ;; esac
      echo "	$m => $m $staging_version"
    done
    echo ")"
  } > "$dir/go.mod"
  (cd "$dir" && go mod tidy)
}

gen_simple() { # name module tool-package version
  local dir="$here/modules/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "module vaultmesh.local/controlplane/$1"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//').0"
    echo
    echo "require $2 $4"
    echo
    echo "tool $3"
  } > "$dir/go.mod"
  (cd "$dir" && go mod tidy)
}

gen_etcd() {
  # etcd's own main package lives in a module that is not meant to be imported; etcdmain is
  # the library behind it, so the wrapper is a three-line main.
  local dir="$here/modules/etcd"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module vaultmesh.local/controlplane/etcd\n\ngo %s.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$ETCD_VERSION" > "$dir/go.mod"
  cat > "$dir/main.go" <<'GO'
// Command etcd runs go.etcd.io/etcd/server/v3/etcdmain, as upstream's etcd binary does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go mod tidy)
}

gen_kube
gen_etcd
gen_simple kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
echo "modules regenerated under $here/modules"
