# Sourced by the build.sh of a Go program of ours in hack/ (argocd-lua, tlog-verifiers): checks
# that go.mod requires the versions pinned in the tool's versions.env, builds the program into a
# cache keyed by a hash of its pins and sources (VAULTMESH_CACHE, default ~/.cache/vaultmesh) and
# prints the binary's path. A cached build is not rebuilt, so a warm run costs well under a second.

# go_fetch_only NAME CMD...: what a build script runs instead of building when
# VAULTMESH_GO_DOWNLOAD_ONLY=1 (hack/go-tools.sh fetches every missing tool's modules at once
# before any compiles). CMD loads every package the build needs (`go list -deps`, or the build's
# own `go install` with -n), which downloads their modules and compiles nothing. Its output is
# shown only when it fails; the build that follows reports the real error.
go_fetch_only() {
  local name=$1 log
  shift
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "$name: fetching modules failed (the build will try again):" >&2
    tail -20 "$log" >&2
  fi
  rm -f "$log"
}

# go_tool_build NAME BINARY DESCRIPTION "module version"...
#   NAME: the folder under hack/ and under the cache; BINARY: the file name of the program;
#   DESCRIPTION: what the build log says is being built.
go_tool_build() {
  local name=$1 binary=$2 description=$3
  shift 3
  local here pin hash dir out tmp start
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../$name" && pwd)
  local cache=${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}
  # One pin: go.mod must require what versions.env says.
  for pin in "$@"; do
    if ! grep -qE "^\s*(require )?${pin//./\\.}\$" "$here/go.mod"; then
      echo "$name/build.sh: hack/$name/go.mod does not require ${pin} (versions.env);" \
        "run: cd hack/$name && go get ${pin/ /@} && go mod tidy" >&2
      return 1
    fi
  done
  hash=$(cd "$here" && cat versions.env go.mod go.sum ./*.go | sha256sum | cut -c1-12)
  dir="$cache/$name/$hash"
  out="$dir/$binary"
  if [ -x "$out" ]; then
    echo "$out"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "$name/build.sh: 'go' not found — install Go >= 1.26 (Debian: apt-get install golang, or https://go.dev/dl)" >&2
    return 1
  fi
  if [ "${VAULTMESH_GO_DOWNLOAD_ONLY:-}" = 1 ]; then
    (cd "$here" && export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly &&
      go_fetch_only "$name" go list -deps .)
    return 0
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  start=$SECONDS
  echo "$name/build.sh: building $description" >&2
  if ! (cd "$here" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -trimpath -ldflags="-s -w" -o "$tmp/$binary" . >&2); then
    rm -rf "$tmp"
    echo "$name/build.sh: go build of hack/$name failed" >&2
    return 1
  fi
  mv -f "$tmp/$binary" "$out"
  rm -rf "$tmp"
  echo "$name/build.sh: built in $((SECONDS - start))s" >&2
  echo "$out"
}
