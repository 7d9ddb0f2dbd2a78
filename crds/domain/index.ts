/**
 * The domain rules of the vaultmesh.cloud API that the operator, the webhooks and the services
 * all apply: pure functions of API types and plain values, one home each
 * (docs/adr/0095-domain-package-and-reason-codes.md). No zod here, only types of the schemas:
 * importing this loads no schema (docs/adr/0025-operator-memory.md).
 */
export * from "./completion-payload.ts";
export * from "./conditions.ts";
export * from "./field-path.ts";
export * from "./labels.ts";
export * from "./money.ts";
export * from "./receipt-view.ts";
export * from "./tenancy.ts";
export * from "./workload-activity.ts";
