#!/usr/bin/env bash
# make verify: regenerates every generated file and fails if the result differs from what is
# committed (kubebuilder's `make verify` habit). Needs a git work tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
generated=(crds charts/vaultmesh/crds config/webhook/webhook-configurations.yaml)
node hack/generate-crds.ts
node hack/generate-webhook-manifests.ts
changes=$(git status --porcelain -- "${generated[@]}")
if [ -n "$changes" ]; then
  echo "verify: generated files are stale — run 'make generate' and commit the result:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- "${generated[@]}" >&2
  exit 1
fi
echo "verify: generated files are current"
