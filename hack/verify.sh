#!/usr/bin/env bash
# make verify: regenerates every generated file and fails if the result differs from what is
# committed (kubebuilder's `make verify` habit). Needs a git work tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
generated=(crds charts/vaultmesh/templates/crds config/webhook/webhook-configurations.yaml)
node hack/generate-crds.ts
node hack/generate-webhook-manifests.ts
# The chart's values.schema.json and values.yaml (from zod) and webhook configurations template.
node hack/generate-chart.ts --check
# The concept pages are prose around a generated API reference: checked in place, not by git.
node hack/generate-api-docs.ts --check
# Argo CD health testdata (from the status functions) and argocd-cm snippets (from health.lua).
node hack/generate-argocd-testdata.ts --check
# Prometheus rules (plain file and PrometheusRule) and the Grafana dashboard (file and ConfigMap).
node hack/generate-observability.ts --check
# docs/metrics.md (from the metric catalog and the KPI definitions).
node hack/generate-metrics-docs.ts --check
changes=$(git status --porcelain -- "${generated[@]}")
if [ -n "$changes" ]; then
  echo "verify: generated files are stale — run 'make generate' and commit the result:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- "${generated[@]}" >&2
  exit 1
fi
echo "verify: generated files are current"
