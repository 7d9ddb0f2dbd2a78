#!/usr/bin/env bash
# Installs the system packages the test suite starts privately: PostgreSQL and Redis server
# binaries (Debian packages), GnuPG and OpenSSL for the ledger's third-party cross-checks.
# Idempotent: does nothing when every tool is already present.
set -euo pipefail

missing=()
have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || command -v postgres >/dev/null
}
have_postgres || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v gpg >/dev/null || missing+=(gnupg)
command -v openssl >/dev/null || missing+=(openssl)
# skopeo reads the image layout and docker-archive `make image` writes (an independent check).
command -v skopeo >/dev/null || missing+=(skopeo)
# hack/schemathesis.sh installs the pinned schemathesis into a venv (Debian splits venv out).
command -v python3 >/dev/null || missing+=(python3)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)

# `make image` fetches its pinned packages with `apt-get download`, which needs package lists: on
# a machine that never fetched them (as root), fetch them once.
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null && [ "$(id -u)" -eq 0 ] &&
  command -v apt-get >/dev/null; then
  echo "deps: no apt package lists yet (make image downloads pinned .debs): apt-get update"
  apt-get update -qq
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: postgres, redis-server, gpg, openssl and skopeo are present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "deps: missing ${missing[*]} and not root: run 'sudo apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
else
  SUDO=()
fi
if ! command -v apt-get >/dev/null; then
  echo "deps: missing ${missing[*]} and apt-get is not available: install them with your package manager" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services; the tests run their own private instances instead.
for svc in postgresql redis-server; do
  if command -v service >/dev/null && service "$svc" status >/dev/null 2>&1; then
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
done
echo "deps: installed ${missing[*]}"
