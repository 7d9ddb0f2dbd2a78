// The VaultMesh API (vaultmesh.cloud/v1alpha1): zod schemas, inferred types and CRD metadata
// of the five kinds. Import from here rather than from the per-kind files.
import type { CrdDefinition } from "./common.ts";
import { FederationPeerCrd } from "./federationpeer.ts";
import { GPUWorkloadCrd } from "./gpuworkload.ts";
import { ReceiptCrd } from "./receipt.ts";
import { TenantCrd } from "./tenant.ts";
import { TreatyCrd } from "./treaty.ts";

export * from "./common.ts";
export * from "./constants.ts";
export * from "./federationpeer.ts";
export * from "./gpuworkload.ts";
export * from "./receipt.ts";
export * from "./tenant.ts";
export * from "./treaty.ts";

/** CRD metadata of every kind, in the order the CRDs are generated and installed. */
export const ALL_CRDS: readonly CrdDefinition[] = [
  TreatyCrd,
  TenantCrd,
  GPUWorkloadCrd,
  ReceiptCrd,
  FederationPeerCrd,
];
