#!/usr/bin/env bash
# Installs Schemathesis (PyPI, pinned) into a virtual environment under ~/.cache/vaultmesh,
# cached by version, and prints the path of its `st` executable. The tenant API's fuzz test
# (test/integration/bridge-schemathesis.test.ts) runs it against /openapi.json. Idempotent: an
# install that did not finish (no stamp) is redone.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
cache="${VAULTMESH_CACHE:-$HOME/.cache/vaultmesh}"
venv="$cache/schemathesis-$SCHEMATHESIS_VERSION"

if [ ! -f "$venv/.installed" ]; then
  echo "schemathesis: installing $SCHEMATHESIS_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/st"
