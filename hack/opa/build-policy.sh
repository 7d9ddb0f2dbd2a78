#!/usr/bin/env bash
# Compiles a vault-law Rego policy to WebAssembly: build-policy.sh <policy.rego|dir> <out.wasm>.
# Every vault-law policy has the entrypoint vaultlaw/deny (a set of reasons). opa itself is
# built from its Go module by hack/opa/build.sh (cached by version).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 2 ]; then
  echo "usage: $0 <policy.rego|dir> <out.wasm>" >&2
  exit 2
fi
src=$1 out=$2
opa=$(bash "$here/build.sh")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$opa" build -t wasm -e vaultlaw/deny -o "$tmp/bundle.tar.gz" "$src"
# The bundle holds the module as /policy.wasm; -O writes it to stdout, -P keeps tar quiet about the slash.
tar -xzOPf "$tmp/bundle.tar.gz" /policy.wasm >"$tmp/policy.wasm"
mv -f "$tmp/policy.wasm" "$out"
echo "$out"
