#!/usr/bin/env bash
# make dev: the whole product on the local control plane, on embedded defaults
# (docs/adr/0069-make-dev-runs-the-whole-product.md):
#   control plane (hack/cluster-cli.ts) ‖ services (hack/dev-services.sh: Postgres, Redis,
#   stripe-mock, the development TSA, the Discord stand-in, the provider simulator), then the
#   ledger publisher (`remembrancer serve`)
#   → admission webhooks and operator ‖ CRDs and the samples (config/samples, the Akash
#     treaty pointed at the simulator), the GPUWorkload last, through admission
#   → a second ledger (its own database, keys and origin) serving as the sample FederationPeer
#     vaultmesh-eu, which our operator syncs with (docs/federation.md)
#   → waits until every sample is Ready, the sample workload's Receipt is Verified and
#     Timestamped and the FederationPeer Synced, then prints `kubectl get vaultmesh -A`, where the time went and where to
#     look next.
# `hack/dev.sh --down NAME` stops the processes it started and the services.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
down=false
if [ "${1:-}" = "--down" ]; then down=true; shift; fi
name=${1:-dev}
dev="$PWD/.cache/dev/$name"
logs="$dev/logs"
# Processes this script starts itself (hack/dev-services.sh owns the services).
PRODUCT=(operator webhook ledger ledger-eu bridge)

# Stops them all at once and waits (5 s at most) until they exited: the webhook server
# deletes its configurations on exit, the operator releases its lease.
stop_product() {
  local p pid alive pids=()
  for p in "${PRODUCT[@]}"; do
    [ -f "$dev/pids/$p" ] && kill "$(cat "$dev/pids/$p")" 2>/dev/null && pids+=("$(cat "$dev/pids/$p")")
  done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -f "${PRODUCT[@]/#/$dev/pids/}"
  return 0
}

if $down; then
  stop_product
  bash hack/dev-services.sh down "$name"
  exit 0
fi

t_start=$(date +%s.%N)
t_last=$t_start
timings=()
# lap LABEL: records the time since the previous lap under LABEL.
lap() {
  local now
  now=$(date +%s.%N)
  timings+=("$(awk -v a="$t_last" -v b="$now" -v l="$1" 'BEGIN { printf "%-46s %6.1fs", l, b - a }')")
  t_last=$now
}
fail() {
  echo "make dev: $1" >&2
  [ -n "${2:-}" ] && [ -f "$2" ] && { echo "--- $2 (last lines)" >&2; tail -20 "$2" >&2; }
  # Again after the log, so a reader (or a test) that keeps only the tail still sees why.
  [ -n "${2:-}" ] && echo "make dev: $1 (log above: $2)" >&2
  exit 1
}

bin=$(bash hack/controlplane/build.sh)
kubectl="$bin/kubectl"
mkdir -p "$logs" "$dev/pids"
lap "control plane binaries (cached)"

# The control plane and the services start in parallel: neither needs the other.
node hack/cluster-cli.ts up --name "$name" >"$dev/cluster.out" 2>"$logs/cluster.log" &
cluster_pid=$!
services=$(bash hack/dev-services.sh up "$name") || { kill "$cluster_pid" 2>/dev/null; exit 1; }
set -a; eval "$services"; set +a
lap "services (Postgres, Redis, stripe-mock, TSA, stand-ins)"

# While the control plane comes up: the ledger's keys (they sign receipts and tree heads) and
# its publisher, which has the development TSA time-stamp the newest tree head every second.
keys="$dev/keys"
# Keys made before each ledger had its own origin (ADR 0081) name the old shared one, which a
# fresh ledger no longer signs under: make new ones.
if grep -q '"origin": "vaultmesh.cloud/remembrancer"' "$keys/trust.json" 2>/dev/null; then
  rm -f "$keys"/*
fi
[ -f "$keys/ed25519.key" ] || node bin/remembrancer.js keygen --dir "$keys" >/dev/null
# Federation (docs/federation.md#installing-federation): each ledger's witness key, made by
# `federation init` beside its log key; the sample peer vaultmesh-eu is a second ledger with its
# own database, keys and origin.
# Its origin sorts after our derived vaultmesh.cloud/remembrancer/… one, so our operator is the
# side that proposes the federation receipt (ADR 0086) and both ledgers end with it.
peer_keys="$dev/keys-eu"
export REMEMBRANCER_ORIGIN=vaultmesh.eu.dev/ledger
grep -q "\"origin\": \"$REMEMBRANCER_ORIGIN\"" "$peer_keys/trust.json" 2>/dev/null || rm -rf "$peer_keys"
[ -f "$peer_keys/ed25519.key" ] || node bin/remembrancer.js keygen --dir "$peer_keys" >/dev/null
node bin/remembrancer.js federation init --key-dir "$peer_keys" --db "$PEER_DATABASE_URL" --json \
  >"$dev/federation-eu.json"
# first_entry DB KEYS SUBJECT: a first receipt in an empty ledger, so its first checkpoint has
# something to push (an empty log has none); a ledger kept from an earlier run is left alone.
first_entry() {
  [ "$(node bin/remembrancer.js list --db "$1" --limit 1 --json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).length')" != 0 ] ||
    node bin/remembrancer.js record --db "$1" --key-dir "$2" --type deploy --subject "$3" >/dev/null
}
first_entry "$PEER_DATABASE_URL" "$peer_keys" ledger-eu
unset REMEMBRANCER_ORIGIN
node bin/remembrancer.js federation init --key-dir "$keys" --db "$DATABASE_URL" --json \
  >"$dev/federation.json"
# Ours too, so the first sync round already pushes our checkpoint and proposes the receipt.
first_entry "$DATABASE_URL" "$keys" make-dev
field() { node -p "JSON.parse(require('fs').readFileSync('$1', 'utf8')).$2"; }
stop_product
# Our ledger's witness trusts the peers our operator records from the FederationPeers.
nohup node bin/remembrancer.js serve --port 0 --db "$DATABASE_URL" --key-dir "$keys" \
  --tsa "$TSA_URL" --publish-every 1 \
  --witness-trust-db --witness-key "$keys/witness.key" >"$logs/ledger.log" 2>&1 &
echo $! >"$dev/pids/ledger"
# The peer runs without an operator: its witness trusts our log from a --witness-trust file.
field "$dev/federation.json" logKey >"$dev/trust-eu.txt"
nohup node bin/remembrancer.js serve --port 0 --db "$PEER_DATABASE_URL" --key-dir "$peer_keys" \
  --publish-every 1 --witness-trust "$dev/trust-eu.txt" --witness-key "$peer_keys/witness.key" \
  >"$logs/ledger-eu.log" 2>&1 &
echo $! >"$dev/pids/ledger-eu"
lap "ledger keys and publishers (ours and the peer's)"
wait "$cluster_pid" || fail "the control plane did not start" "$logs/cluster.log"
KUBECONFIG=$(grep -o 'KUBECONFIG=[^ ]*' "$dev/cluster.out" | head -1 | cut -d= -f2)
[ -n "$KUBECONFIG" ] || fail "no KUBECONFIG from hack/cluster-cli.ts up" "$dev/cluster.out"
export KUBECONFIG
lap "control plane (etcd, apiserver, kwok…)"

# The webhook server and the operator start now and come up while the CRDs and samples go in
# (their caches retry until the CRDs exist). The webhooks: a certificate for 127.0.0.1,
# URL-based configurations registered with its CA and removed when the server stops. The dev
# operator and controller-manager act as vaultmesh-admin, so that is the operator identity.
nohup node webhooks/main.ts local --name "$name" --port 0 \
  --operator-service-account vaultmesh-admin >"$logs/webhook.log" 2>&1 &
echo $! >"$dev/pids/webhook"
# The operator, with every component of the tenant stack configured (docs/tenants.md).
VAULTMESH_LEDGER_URL="$DATABASE_URL" VAULTMESH_SIGNING_KEY_FILE="$keys/ed25519.key" \
  VAULTMESH_WITNESS_KEY_FILE="$keys/witness.key" \
  POD_NAMESPACE=vaultmesh-system VAULTMESH_LEASE_NAMESPACE=default VAULTMESH_HTTP_ADDR=127.0.0.1:0 \
  VAULTMESH_LEDGER_TIMESTAMPING=true VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS=1000 \
  VAULTMESH_TENANT_DB_URL="$TENANT_DB_URL" VAULTMESH_TENANT_DB_MIGRATE_URL="$DATABASE_URL" \
  VAULTMESH_REDIS_URL="$REDIS_URL" \
  VAULTMESH_STRIPE_API_KEY_FILE="$STRIPE_KEY_FILE" VAULTMESH_STRIPE_API_BASE="$STRIPE_API_BASE" \
  VAULTMESH_STRIPE_PLAN_PRICES='{"starter":"price_starter","pro":"price_pro","enterprise":"price_enterprise"}' \
  VAULTMESH_STRIPE_GPU_SECONDS_PRICE=price_gpu_seconds \
  VAULTMESH_DISCORD_TOKEN_FILE="$DISCORD_TOKEN_FILE" VAULTMESH_DISCORD_APPLICATION_ID=123456789012345678 \
  VAULTMESH_DISCORD_API="$DISCORD_API" \
  nohup node --max-semi-space-size=2 --optimize-for-size operator/main.ts >"$logs/operator.log" 2>&1 &
echo $! >"$dev/pids/operator"

# The sample FederationPeer points at the peer ledger: `federation join` writes it from the
# identity the peer's `federation init` printed.
for _ in $(seq 1 100); do
  peer_url=$(sed -n 's/^proof API listening on \(http[^ ,]*\).*/\1/p' "$logs/ledger-eu.log" | head -1)
  [ -n "$peer_url" ] && break
  kill -0 "$(cat "$dev/pids/ledger-eu")" 2>/dev/null || fail "the peer ledger exited" "$logs/ledger-eu.log"
  sleep 0.2
done
[ -n "$peer_url" ] || fail "the peer ledger did not start" "$logs/ledger-eu.log"

"$kubectl" apply --server-side -f crds/generated/ >/dev/null
"$kubectl" wait --for=condition=Established -f crds/generated/ --timeout=60s >/dev/null
lap "CRDs"

# The samples as they are, but for the Akash treaty: pointed at the provider simulator, with
# its bearer token in a Secret (generated in .cache: the port changes every run). Two
# overlays: everything but the GPUWorkload first; then all of it, once the webhooks are
# registered and the Tenant is Ready, so the workload is admitted the way a user's is.
overlay="$dev/samples"
mkdir -p "$overlay/all" "$overlay/first"
cp "$PROVIDER_TOKEN_FILE" "$overlay/all/provider-token"
node bin/remembrancer.js federation join --peer "$peer_url" --name vaultmesh-eu \
  --key-dir "$keys" \
  --trust-anchor "$(field "$dev/federation-eu.json" logKey)" \
  --trust-anchor "$(field "$dev/federation-eu.json" witnessKey)" >"$overlay/all/federationpeer-eu.yaml"
rel=$(realpath --relative-to="$overlay/all" config/samples)
cat >"$overlay/all/kustomization.yaml" <<EOF
# Generated by hack/dev.sh: config/samples with the Akash treaty on the provider simulator and
# the FederationPeer on the peer ledger (federationpeer-eu.yaml, from \`federation join\`).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - $rel
secretGenerator:
  - name: akash-credentials
    namespace: vaultmesh-system
    files:
      - token=provider-token
    options:
      disableNameSuffixHash: true
patches:
  - target:
      kind: Treaty
      name: aurora-akash-001
    patch: |-
      - op: add
        path: /spec/endpoint
        value: $PROVIDER_SIM_URL
      - op: add
        path: /spec/credentialsSecretRef
        value: {name: akash-credentials, namespace: vaultmesh-system, key: token}
  - path: federationpeer-eu.yaml
EOF
cat >"$overlay/all/namespace.yaml" <<EOF
# The VaultMesh namespace: vault-law policies and provider credentials live here.
apiVersion: v1
kind: Namespace
metadata:
  name: vaultmesh-system
EOF
cat >"$overlay/first/kustomization.yaml" <<EOF
# Generated by hack/dev.sh: the samples without the GPUWorkload (its Tenant is not Ready yet).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../all
patches:
  - patch: |-
      \$patch: delete
      apiVersion: vaultmesh.cloud/v1alpha1
      kind: GPUWorkload
      metadata:
        name: train-llama-lora
        namespace: tenant-acme
EOF
"$kubectl" apply --server-side -k "$overlay/first" >"$logs/samples-apply.log" 2>&1 ||
  fail "applying the samples failed" "$logs/samples-apply.log"
lap "samples (all but the GPUWorkload)"

for _ in $(seq 1 150); do
  "$kubectl" get mutatingwebhookconfiguration vaultmesh-mutating >/dev/null 2>&1 && break
  kill -0 "$(cat "$dev/pids/webhook")" 2>/dev/null || fail "the webhook server exited" "$logs/webhook.log"
  sleep 0.2
done
lap "webhooks registered"

# wait_until WHAT LOG ARGS...: waits ($DEV_WAIT_TIMEOUT at most, default 180 s: a ceiling for loaded
# machines, a healthy start takes seconds) for `kubectl wait ARGS...` to succeed.
wait_until() {
  local what=$1 log=$2; shift 2
  "$kubectl" wait "$@" --timeout="${DEV_WAIT_TIMEOUT:-180s}" >/dev/null 2>"$dev/wait.err" ||
    { cat "$dev/wait.err" >&2; fail "$what" "$log"; }
}
wait_until "the treaties are not Ready" "$logs/operator.log" \
  --for=condition=Ready treaty/aurora-akash-001 treaty/in-cluster-a10g
wait_until "tenant acme is not Ready" "$logs/operator.log" --for=condition=Ready tenant/acme
lap "treaties and tenant Ready"

# The tenant API (docs/bridge.md): API keys checked in the Arrakis database as the application
# role, limits in Redis, proofs from our ledger's proof API, tenants impersonated.
ledger_url=$(sed -n 's/^proof API listening on \(http[^ ,]*\).*/\1/p' "$logs/ledger.log" | head -1)
VAULTMESH_BRIDGE_DB_URL="$TENANT_DB_URL" VAULTMESH_REDIS_URL="$REDIS_URL" \
  VAULTMESH_LEDGER_API="$ledger_url" VAULTMESH_BRIDGE_PORT=0 \
  nohup node services/bridge/main.ts >"$logs/bridge.log" 2>&1 &
echo $! >"$dev/pids/bridge"
for _ in $(seq 1 100); do
  bridge_url=$(sed -n 's/.*"url":"\(http[^"]*\)".*"tenant API listening".*/\1/p' "$logs/bridge.log" | head -1)
  [ -n "$bridge_url" ] && break
  kill -0 "$(cat "$dev/pids/bridge")" 2>/dev/null || fail "the tenant API exited" "$logs/bridge.log"
  sleep 0.2
done
[ -n "$bridge_url" ] || fail "the tenant API did not start" "$logs/bridge.log"
curl -fsS "$bridge_url/health" >/dev/null || fail "the tenant API's /health is not ok" "$logs/bridge.log"
lap "tenant API (bridge) healthy"

# Every sample through the admission webhooks (server-side apply sends each object, so the
# unchanged ones are reviewed too): the GPUWorkload is created, and a warning here is a sample
# that does not work as written.
"$kubectl" apply --server-side -k "$overlay/all" >"$logs/samples-apply.log" 2>&1 ||
  fail "the samples do not pass admission" "$logs/samples-apply.log"
# The one expected warning: the peer ledger serves plain http on loopback.
if grep -i warning "$logs/samples-apply.log" | grep -q -v "spec.endpoint uses plain http"; then
  cat "$logs/samples-apply.log" >&2
  fail "admission warns about the samples"
fi
lap "samples through admission, no warnings"
if ! "$kubectl" wait gpuworkload/train-llama-lora -n tenant-acme --for=condition=Complete \
  --timeout="${DEV_WAIT_TIMEOUT:-180s}" >/dev/null 2>"$dev/wait.err"; then
  # What went wrong is in the workload's status and the events of its namespace.
  "$kubectl" get gpuworkload train-llama-lora -n tenant-acme -o yaml >"$logs/tenant-acme-warnings.log" 2>&1
  "$kubectl" get events -n tenant-acme --field-selector type=Warning >>"$logs/tenant-acme-warnings.log" 2>&1
  fail "the sample workload did not complete" "$logs/tenant-acme-warnings.log"
fi
receipt=$("$kubectl" get gpuworkload train-llama-lora -n tenant-acme -o jsonpath='{.status.receiptRef.name}')
lap "sample workload Complete"
wait_until "the receipt is not Verified" "$logs/operator.log" \
  "receipt/$receipt" -n tenant-acme --for=condition=Verified
wait_until "the receipt is not Timestamped (publisher: $logs/ledger.log)" "$logs/operator.log" \
  "receipt/$receipt" -n tenant-acme --for=condition=Timestamped
lap "receipt Verified and Timestamped"
wait_until "the sample FederationPeer is not Synced (peer: $logs/ledger-eu.log)" "$logs/operator.log" \
  federationpeer/vaultmesh-eu --for=condition=Synced
wait_until "no federation receipt with the sample FederationPeer" "$logs/operator.log" \
  federationpeer/vaultmesh-eu --for=jsonpath='{.status.lastFederationReceiptDigest}'
lap "FederationPeer vaultmesh-eu Synced, federation receipt"

total=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo
echo "\$ kubectl get vaultmesh -A"
"$kubectl" get vaultmesh -A
echo
echo "== where the time went =="
printf '%s\n' "${timings[@]}"
printf "%-46s %6.1fs  (load average %s)\n" "total" "$total" "$(cut -d' ' -f1-3 /proc/loadavg)"
cat <<EOF

== where to look next ==
  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$kubectl
  kubectl get vaultmesh -A                                  # every VaultMesh object
  kubectl get gpuworkload train-llama-lora -n tenant-acme -o yaml   # placement, candidates
  kubectl describe tenant acme                              # one condition per component
  kubectl get treaty -o wide; kubectl get events -A
logs: $logs/{operator,webhook,ledger,ledger-eu,bridge,tsa,stand-ins,stripe-mock,cluster}.log
tenant API ($bridge_url, docs/bridge.md), with tenant acme's key:
  key=\$(kubectl get secret vaultmesh-api-key -n tenant-acme -o jsonpath='{.data.apiKey}' | base64 -d)
  curl -H "Authorization: Bearer \$key" $bridge_url/v1/workloads
ledger (its proof API: the first line of ledger.log; every service's address: $dev/env):
  export DATABASE_URL=$DATABASE_URL
  node bin/remembrancer.js list
  node bin/remembrancer.js export-proof $("$kubectl" get receipt "$receipt" -n tenant-acme -o jsonpath='{.spec.digest}') --out receipt.proof.json
  node bin/remembrancer.js verify-full receipt.proof.json --trust $keys/trust.json --trust $TSA_CA
federation (the peer ledger vaultmesh-eu: $peer_url, database \$PEER_DATABASE_URL):
  kubectl get fedpeer -o wide
  node bin/remembrancer.js federation status --cluster
stop everything: make dev-down
EOF
