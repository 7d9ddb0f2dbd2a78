#!/usr/bin/env bash
# Creates the kind cluster of hack/kind/cluster.yaml, taints its GPU worker
# nvidia.com/gpu=true:NoSchedule, advertises 4 nvidia.com/gpu on it (no real GPU: the
# extended resource is patched into the node status, as device plugins would) and installs
# the CRDs. Needs docker, kind and kubectl on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
for t in docker kind kubectl; do
  command -v "$t" >/dev/null || { echo "kind/up.sh: '$t' not found — install it first" >&2; exit 1; }
done
kind get clusters | grep -qx vaultmesh || kind create cluster --config hack/kind/cluster.yaml
gpu=$(kubectl get nodes -l role=gpu -o jsonpath='{.items[0].metadata.name}')
kubectl taint nodes "$gpu" nvidia.com/gpu=true:NoSchedule --overwrite
kubectl patch node "$gpu" --subresource=status --type=json \
  -p '[{"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"4"}]'
kubectl apply --server-side -f crds/generated/
kubectl wait --for=condition=Established -f crds/generated/ --timeout=60s
echo "kind cluster vaultmesh ready: kubectl get nodes -L role,gpu-type"
