// One fluent builder per VaultMesh kind (kueue-style), each in its own file; import them from
// here:
//
//   const t = treaty("pool").inCluster("a10g", 0.6).maxConcurrentJobs(2).obj();
//   const w = gpuWorkload("train", ns).gpu("a10g", 1).completeAfter("2s").obj();
//   const a = tenant("acme").plan("free").ready().obj();
//   const r = receipt("r1", ns).payload({ gpuSeconds: 60 }).obj();
//   const p = federationPeer("b").endpoint(url).origin(o).logKey(id, pem).witnessKey(v).obj();
//
// webhook-objects.ts keeps the option-bag forms (`makeTenant(name, {…})`) table tests use; they
// are built on these builders, so every kind's defaults live in one place.
export { type DeepMutable } from "./builder.ts";
export { federationPeer, FederationPeerBuilder } from "./federationpeer.ts";
export { gpuWorkload, GPUWorkloadBuilder, KWOK_COMPLETE_DELAY } from "./gpuworkload.ts";
export { receipt, ReceiptBuilder } from "./receipt.ts";
export { tenant, TenantBuilder } from "./tenant.ts";
export { TEST_GPU_POOL, treaty, TreatyBuilder, type GpuType } from "./treaty.ts";
