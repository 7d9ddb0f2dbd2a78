#!/usr/bin/env bash
# make dev: local control plane + Postgres + Redis, CRDs and samples installed, then the
# listing `kubectl get vaultmesh -A`. `hack/dev.sh --down NAME` stops
# the operator, the webhook server, Postgres and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if [ "${1:-}" = "--down" ]; then
  # The webhook server removes its configurations when it stops.
  [ -f .cache/dev/webhook.pid ] && kill "$(cat .cache/dev/webhook.pid)" 2>/dev/null || true
  [ -f .cache/dev/operator.pid ] && kill "$(cat .cache/dev/operator.pid)" 2>/dev/null || true
  bash hack/dev-services.sh down "${2:-dev}"
  exit 0
fi
name=${1:-dev}
bin=$(bash hack/controlplane/build.sh)
kubectl="$bin/kubectl"
eval "$(node hack/cluster-cli.ts up --name "$name")"
set -a; eval "$(bash hack/dev-services.sh up "$name")"; set +a
"$kubectl" apply --server-side -f crds/generated/ >/dev/null
"$kubectl" wait --for=condition=Established -f crds/generated/ --timeout=60s >/dev/null
"$kubectl" apply -k config/samples/
mkdir -p .cache/dev
# The admission webhooks, in the background (log: .cache/dev/webhook.log): a certificate for
# 127.0.0.1 and URL-based configurations registered with its CA, removed again when the server
# stops. The samples above went in before them; everything after passes through them. The dev
# operator and controller-manager act as vaultmesh-admin, so that is the operator identity here.
# A previous server must be gone first: on exit it deletes the configurations by name.
if [ -f .cache/dev/webhook.pid ] && kill "$(cat .cache/dev/webhook.pid)" 2>/dev/null; then
  for _ in $(seq 1 50); do kill -0 "$(cat .cache/dev/webhook.pid)" 2>/dev/null || break; sleep 0.1; done
fi
nohup node webhooks/main.ts local --name "$name" --port 0 \
  --operator-service-account vaultmesh-admin >.cache/dev/webhook.log 2>&1 &
echo $! >.cache/dev/webhook.pid
for _ in $(seq 1 150); do
  "$kubectl" get mutatingwebhookconfiguration vaultmesh-mutating >/dev/null 2>&1 && break
  kill -0 "$(cat .cache/dev/webhook.pid)" 2>/dev/null ||
    { echo "webhook server exited; log:" >&2; tail -20 .cache/dev/webhook.log >&2; exit 1; }
  sleep 0.2
done
# The operator, in the background (log: .cache/dev/operator.log; stop it with the pid file).
keys=".cache/dev/$name/keys"
[ -f "$keys/ed25519.key" ] || node bin/remembrancer.js keygen --dir "$keys" >/dev/null
[ -f .cache/dev/operator.pid ] && kill "$(cat .cache/dev/operator.pid)" 2>/dev/null || true
VAULTMESH_LEDGER_URL="$DATABASE_URL" VAULTMESH_SIGNING_KEY_FILE="$keys/ed25519.key" \
  VAULTMESH_LEASE_NAMESPACE=default VAULTMESH_HTTP_ADDR=127.0.0.1:0 \
  nohup node --max-semi-space-size=2 --optimize-for-size operator/main.ts >.cache/dev/operator.log 2>&1 &
echo $! >.cache/dev/operator.pid
# The sample workload routes, runs on a GPU node and gets its receipt.
"$kubectl" wait gpuworkload/train-llama-lora -n tenant-acme --for=condition=Complete --timeout=90s ||
  { echo "operator log (.cache/dev/operator.log):" >&2; tail -20 .cache/dev/operator.log >&2; }
echo
echo "export KUBECONFIG=$KUBECONFIG"
echo "\$ kubectl get vaultmesh -A"
"$kubectl" get vaultmesh -A
