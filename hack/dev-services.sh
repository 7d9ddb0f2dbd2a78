#!/usr/bin/env bash
# dev-services.sh up|down|env [NAME]: the Postgres and Redis that `make dev` runs beside the
# local control plane, from Debian's binaries, on free loopback ports, data under
# .cache/dev/NAME. They outlive this script; `down` stops them. `env` prints DATABASE_URL and
# REDIS_URL for the operator.
set -euo pipefail
cd "$(dirname "$0")/.."
verb=${1:-}; name=${2:-dev}
dir="$PWD/.cache/dev/$name"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

free_port() {
  node_modules/.bin/node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$verb" in
  up)
    [ -n "$pgbin" ] && command -v redis-server >/dev/null || { echo "dev-services: Postgres or Redis missing — run hack/deps.sh" >&2; exit 1; }
    mkdir -p "$dir"
    if [ -f "$dir/env" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
      echo "dev-services: already running" >&2
    else
      rm -rf "$dir/pg" "$dir/redis"; mkdir -p "$dir/pg" "$dir/redis"
      [ "$(id -u)" = 0 ] && chown postgres "$dir/pg" && chmod 700 "$dir/pg"
      as_pg "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --no-locale -N >/dev/null
      pgport=$(free_port); redisport=$(free_port)
      as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/postgres.log" -w \
        -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1" start >/dev/null ||
        { tail -20 "$dir/pg/postgres.log" >&2; exit 1; }
      redis-server --port "$redisport" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log"
      printf 'DATABASE_URL=postgres://postgres@127.0.0.1:%s/postgres\nREDIS_URL=redis://127.0.0.1:%s\n' \
        "$pgport" "$redisport" > "$dir/env"
    fi
    cat "$dir/env"
    ;;
  down)
    [ -d "$dir/pg" ] && as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
    [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    rm -rf "$dir"
    ;;
  env)
    cat "$dir/env"
    ;;
  *)
    echo "usage: hack/dev-services.sh up|down|env [NAME]" >&2; exit 2 ;;
esac
