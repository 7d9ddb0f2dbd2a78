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
echo
echo "export KUBECONFIG=$KUBECONFIG"
echo "\$ kubectl get vaultmesh -A"
"$kubectl" get vaultmesh -A
