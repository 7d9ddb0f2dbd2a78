#!/usr/bin/env bash
# Installs Schemathesis (PyPI, pinned) into a virtual environment under ~/.cache/vaultmesh,
# cached by version, and prints the path of its `st` executable. The tenant API's fuzz test
# (test/integration/bridge-schemathesis.test.ts) runs it against /openapi.json. Idempotent.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
cache="${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"
st="$venv/bin/st"

if [ ! -x "$st" ]; then
  echo "schemathesis: installing $SCHEMATHESIS_VERSION into $venv" >&2
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2
  # A venv records its own path: build under .tmp, then recreate in place (cheap: wheels cached).
  rm -rf "$venv.tmp"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
echo "$st"
