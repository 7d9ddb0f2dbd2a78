#!/usr/bin/env bash
# make dev: local control plane + Postgres + Redis, CRDs and samples installed, then the
# listing `kubectl get vaultmesh -A`. `hack/dev.sh --down NAME` stops Postgres and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if [ "${1:-}" = "--down" ]; then
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
# The operator, in the background (log: .cache/dev/operator.log; stop it with the pid file).
mkdir -p .cache/dev
keys=".cache/dev/$name/keys"
[ -f "$keys/ed25519.key" ] || node bin/remembrancer.js keygen --dir "$keys" >/dev/null
[ -f .cache/dev/operator.pid ] && kill "$(cat .cache/dev/operator.pid)" 2>/dev/null || true
VAULTMESH_LEDGER_URL="$DATABASE_URL" VAULTMESH_SIGNING_KEY_FILE="$keys/ed25519.key" \
  VAULTMESH_LEASE_NAMESPACE=default VAULTMESH_HTTP_ADDR=127.0.0.1:0 \
  nohup node operator/main.ts >.cache/dev/operator.log 2>&1 &
echo $! >.cache/dev/operator.pid
# The sample workload routes, runs on a GPU node and gets its receipt.
"$kubectl" wait gpuworkload/train-llama-lora -n tenant-acme --for=condition=Complete --timeout=90s ||
  { echo "operator log (.cache/dev/operator.log):" >&2; tail -20 .cache/dev/operator.log >&2; }
echo
echo "export KUBECONFIG=$KUBECONFIG"
echo "\$ kubectl get vaultmesh -A"
"$kubectl" get vaultmesh -A
echo "\$ kubectl get gpuworkloads,receipts -A"
"$kubectl" get gpuworkloads,receipts -A
