#!/usr/bin/env bash
# Builds every Go tool `make test` needs, each by its own hack/<tool>/build.sh (cached by version
# in ~/.cache/vaultmesh, so a warm run costs well under a second), faster than one after another
# on a cold machine (ADR 0078):
#   1. the modules of every tool not yet built are fetched at once (network-bound: the go command
#      fetches GOMAXPROCS modules at a time, 2 on a two-core machine, so this step raises it);
#   2. the builds run in two lanes: the control plane (the longest) in one, the others one after
#      another in the second. A build alone leaves about a quarter of two cores idle (links and
#      the end of the package graph run on one), which the other lane fills.
# Each build's time is recorded as a part of the step that runs this script (hack/timed.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
timed=(bash hack/timed.sh --part)
# The control plane first: the lanes below start it first too.
tools=(controlplane helm prometheus stripe-mock argocd-lua tlog-verifiers tdev-witness)
GO_FETCH_PROCS=${GO_FETCH_PROCS:-8}

# --fetch: step 1 only (run through hack/timed.sh by step 2's caller below).
if [ "${1:-}" = --fetch ]; then
  pids=()
  for t in "${tools[@]}"; do
    VAULTMESH_GO_DOWNLOAD_ONLY=1 GOMAXPROCS=$GO_FETCH_PROCS bash "hack/$t/build.sh" >/dev/null &
    pids+=($!)
  done
  # A failed fetch is reported by its script; the build that follows fails with the real error.
  for p in "${pids[@]}"; do wait "$p" || true; done
  exit 0
fi

# build LABEL TOOL
build() {
  "${timed[@]}" "$1 build" bash "hack/$2/build.sh" >/dev/null
}

second_lane() {
  local t
  for t in "${tools[@]:1}"; do build "$t" "$t"; done
}

"${timed[@]}" "go modules (all tools at once)" bash hack/go-tools.sh --fetch
build "control plane" controlplane &
first=$!
second_lane &
second=$!
status=0
wait "$first" || status=$?
wait "$second" || status=$?
exit "$status"
