# vault-law of treaty AURORA-AKASH-001 (the seed's `vault_law.wasm_policy:
# policy/wasm/akash-quota-policy.wasm`, approved by "DAO vote #AKASH-001"): per-workload quotas
# the treaty's signatories agreed on. Compiled by
#   bash hack/opa/build-policy.sh config/samples/policy/akash-quota-policy.rego \
#     config/samples/policy/wasm/akash-quota-policy.wasm
# and shipped as ConfigMap akash-quota-policy (config/samples/kustomization.yaml), which the
# treaty's path reference resolves to (docs/adr/0068-vault-law-sample-policy.md).
#
# input: {workload: {namespace, name, gpu: {type, count}, regions, maxRuntimeSeconds, priority,
#         profile, maxPricePerHour}, tenant: {name, plan}, treaty: {name, provider, regions,
#         treatyId}}
package vaultlaw

import rego.v1

# At most this many GPUs per workload: larger jobs need their own lease negotiation.
max_gpus := 8

# At most one day per workload, so a stuck job cannot hold leased GPUs for long.
max_runtime_seconds := 86400

# Plans the treaty's pricing covers; free-plan tenants run on the cluster's own pool only.
paying_plans := {"starter", "pro", "enterprise"}

treaty_id := object.get(input.treaty, "treatyId", input.treaty.name)

deny contains msg if {
	input.workload.gpu.count > max_gpus
	msg := sprintf("%s allows at most %d GPUs per workload, requested %d", [treaty_id, max_gpus, input.workload.gpu.count])
}

deny contains msg if {
	input.workload.maxRuntimeSeconds > max_runtime_seconds
	msg := sprintf("%s allows at most %ds of runtime per workload, requested %d", [treaty_id, max_runtime_seconds, input.workload.maxRuntimeSeconds])
}

deny contains msg if {
	not input.tenant.plan in paying_plans
	msg := sprintf("%s serves the starter, pro and enterprise plans, not %s", [treaty_id, input.tenant.plan])
}
