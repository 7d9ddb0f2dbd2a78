#!/usr/bin/env bash
# dev-services.sh up|down|env [NAME]: what `make dev` runs beside the local control plane, on
# free loopback ports, state and logs under .cache/dev/NAME:
#   Postgres (ledger + Arrakis schema; role arrakis_app for tenant data; database ledger_eu of
#   the sample federation peer's ledger) and Redis, from
#   Debian's binaries; stripe-mock (hack/stripe-mock); the development TSA (`remembrancer tsa
#   serve`); the Discord stand-in and the provider simulator (hack/dev-stand-ins.ts).
# They outlive this script; `down` stops them. `up` and `env` print shell assignments
# (DATABASE_URL, PEER_DATABASE_URL, REDIS_URL, TENANT_DB_URL, STRIPE_API_BASE, STRIPE_KEY_FILE, DISCORD_API,
# DISCORD_TOKEN_FILE, PROVIDER_SIM_URL, PROVIDER_TOKEN_FILE, TSA_URL, TSA_CA) for hack/dev.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
verb=${1:-}; name=${2:-dev}
dir="$PWD/.cache/dev/$name"
logs="$dir/logs"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
node=node_modules/.bin/node

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
alive() { [ -f "$dir/pids/$1" ] && kill -0 "$(cat "$dir/pids/$1")" 2>/dev/null; }
# Background processes of this script, by name: stopped by `down` through their pid files.
BACKGROUND=(stand-ins stripe-mock tsa)

# wait_for WHAT COMMAND...: polls COMMAND every 0.1 s for up to 30 s; on failure prints the
# component's log and exits.
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 300); do
    "$@" >/dev/null 2>&1 && return 0
    if [ -f "$dir/pids/$what" ] && ! alive "$what"; then break; fi
    sleep 0.1
  done
  echo "dev-services: $what did not start; $logs/$what.log:" >&2
  tail -20 "$logs/$what.log" >&2 || true
  exit 1
}

stop_all() {
  local p
  for p in "${BACKGROUND[@]}"; do
    alive "$p" && kill "$(cat "$dir/pids/$p")" 2>/dev/null || true
  done
  [ -n "$pgbin" ] && [ -d "$dir/pg" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
  return 0
}

running() {
  [ -f "$dir/env" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1 || return 1
  local p
  for p in "${BACKGROUND[@]}"; do alive "$p" || return 1; done
}

up() {
  [ -n "$pgbin" ] && command -v redis-server >/dev/null ||
    { echo "dev-services: Postgres or Redis missing — run hack/deps.sh (make deps)" >&2; exit 1; }
  local stripe_mock
  stripe_mock=$(bash hack/stripe-mock/build.sh)
  if running; then
    echo "dev-services: already running ($dir)" >&2
    cat "$dir/env"
    return
  fi
  stop_all
  rm -rf "$dir/pg" "$dir/redis" "$dir/pids" "$dir/secrets" "$dir/env" "$dir/stand-ins.env"
  mkdir -p "$dir/pg" "$dir/redis" "$dir/pids" "$dir/secrets" "$dir/tsa" "$logs"
  chmod 700 "$dir/secrets"
  # Dev-only credentials: stripe-mock accepts any sk_test_ key, the stand-ins any token they
  # are given. Files, as the operator reads secrets from files.
  echo "sk_test_vaultmeshdev" >"$dir/secrets/stripe-key"
  echo "dev-bot-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/secrets/discord-token"
  echo "dev-provider-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/secrets/provider-token"
  local ports pgport redisport stripe_url
  # Postgres and Redis need a port up front; the other servers pick their own and say which.
  # shellcheck disable=SC2207
  ports=($("$node" -e '
    const net = require("net");
    const a = net.createServer().listen(0, "127.0.0.1", () => {
      const b = net.createServer().listen(0, "127.0.0.1", () => {
        console.log(a.address().port, b.address().port);
        a.close();
        b.close();
      });
    });'))
  pgport=${ports[0]}; redisport=${ports[1]}

  # The servers that need no database start first and come up while Postgres initialises.
  # stripe-mock serves HTTPS as well, on a fixed port unless told otherwise.
  nohup "$stripe_mock" -http-addr 127.0.0.1: -https-addr 127.0.0.1: >"$logs/stripe-mock.log" 2>&1 &
  echo $! >"$dir/pids/stripe-mock"
  nohup "$node" hack/dev-stand-ins.ts --out "$dir/stand-ins.env" \
    --token-file "$dir/secrets/provider-token" >"$logs/stand-ins.log" 2>&1 &
  echo $! >"$dir/pids/stand-ins"
  nohup "$node" bin/remembrancer.js tsa serve --port 0 --dir "$dir/tsa" >"$logs/tsa.log" 2>&1 &
  echo $! >"$dir/pids/tsa"

  # fsync off: `down` throws this database away; a crash loses nothing anyone keeps.
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pg" && chmod 700 "$dir/pg"
  as_pg "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --no-locale -N >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/postgres.log" -w \
    -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
    { tail -20 "$dir/pg/postgres.log" >&2; exit 1; }
  # The tenant data's application role: it logs in (trust auth on loopback) and is neither
  # superuser nor BYPASSRLS, so row-level security applies to it. The operator migrates the
  # schema as postgres and grants this role (VAULTMESH_TENANT_DB_MIGRATE_URL).
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qAt -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE arrakis_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE" \
    -c "CREATE DATABASE ledger_eu" >/dev/null
  redis-server --port "$redisport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log"

  wait_for stand-ins test -s "$dir/stand-ins.env"
  wait_for tsa grep -q "TSA listening on" "$logs/tsa.log"
  wait_for stripe-mock grep -q "Listening for HTTP at" "$logs/stripe-mock.log"
  stripe_url=http://$(sed -n 's/^Listening for HTTP at address: //p' "$logs/stripe-mock.log" | head -1)
  local tsa_url
  tsa_url=$(sed -n 's/^TSA listening on \(http[^ ]*\).*/\1/p' "$logs/tsa.log" | head -1)
  {
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$pgport/postgres"
    echo "TENANT_DB_URL=postgres://arrakis_app@127.0.0.1:$pgport/postgres"
    # The database of the second ledger make dev runs as the sample FederationPeer vaultmesh-eu.
    echo "PEER_DATABASE_URL=postgres://postgres@127.0.0.1:$pgport/ledger_eu"
    echo "REDIS_URL=redis://127.0.0.1:$redisport"
    echo "STRIPE_API_BASE=$stripe_url"
    echo "STRIPE_KEY_FILE=$dir/secrets/stripe-key"
    echo "DISCORD_TOKEN_FILE=$dir/secrets/discord-token"
    echo "PROVIDER_TOKEN_FILE=$dir/secrets/provider-token"
    echo "TSA_URL=${tsa_url%/}"
    echo "TSA_CA=$dir/tsa/tsa-ca.crt"
    cat "$dir/stand-ins.env"
  } >"$dir/env"
  cat "$dir/env"
}

case "$verb" in
  up) up ;;
  down)
    stop_all
    rm -rf "$dir"
    ;;
  env)
    cat "$dir/env"
    ;;
  *)
    echo "usage: hack/dev-services.sh up|down|env [NAME]" >&2; exit 2 ;;
esac
