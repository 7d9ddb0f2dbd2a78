/**
 * The tenant API's request and response schemas, in zod: the routes validate with them and
 * /openapi.json is generated from them (openapi.ts), so the contract has one source, as the
 * CRDs have (ADR 0004). Workload specs are the GPUWorkload CRD's own schema.
 */
import { z } from "zod";
import { DNS_LABEL_PATTERN } from "../../crds/constants.ts";
import {
  CandidateSchema,
  GPUWorkloadSpecSchema,
  GPUWorkloadStatusSchema,
  PlacementSchema,
} from "../../crds/gpuworkload.ts";

/** A workload name: a DNS label, short enough for the Job names derived from it. */
export const WorkloadNameSchema = z
  .string()
  .min(1)
  .max(52)
  .regex(DNS_LABEL_PATTERN)
  .describe("Workload name: lowercase letters, digits and '-', 1..52 characters.");

/** Path parameters of the workload routes. */
export const WorkloadParamsSchema = z.strictObject({ name: WorkloadNameSchema });

/** A receipt digest in the path. */
export const DigestParamsSchema = z.strictObject({
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .describe("The receipt's digest, sha256:<64 hex>."),
});

/** The Idempotency-Key header: printable ASCII, 1..255 characters. */
export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/)
  .describe("Makes a retried POST return the first answer instead of creating twice.");

/** Body of POST /v1/workloads. */
export const CreateWorkloadSchema = z
  .strictObject({
    name: WorkloadNameSchema.optional().describe(
      "Workload name; derived from the Idempotency-Key (or generated) when omitted.",
    ),
    spec: GPUWorkloadSpecSchema,
  })
  .describe("A GPUWorkload to create in the caller's tenant namespace.");
/** Body of POST /v1/workloads. */
export type CreateWorkload = z.infer<typeof CreateWorkloadSchema>;

/** Body of POST /v1/quote. */
export const QuoteRequestSchema = z
  .strictObject({ spec: GPUWorkloadSpecSchema })
  .describe("The workload to price: where it would run now, at what price, and why.");

/** A workload as the API shows it. */
export const WorkloadViewSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  uid: z.string(),
  createdAt: z.string().optional(),
  deleting: z.boolean().describe("True once a DELETE was accepted and the workload is stopping."),
  spec: z.record(z.string(), z.unknown()).describe("The GPUWorkload spec, defaults applied."),
  status: GPUWorkloadStatusSchema.optional(),
});

/** GET /v1/workloads. */
export const WorkloadListSchema = z.object({ items: z.array(WorkloadViewSchema) });

/** POST /v1/quote: the router's decision, shaped like a GPUWorkload's status. */
export const QuoteSchema = z.object({
  placement: PlacementSchema.optional().describe(
    "Where the workload would run now; absent when no treaty is eligible.",
  ),
  candidates: z.array(CandidateSchema).describe("Every treaty considered, best first."),
  decidedAt: z.string(),
});

/** One completion receipt counted in the usage. */
export const UsageReceiptSchema = z.object({
  digest: z.string(),
  workload: z.string(),
  outcome: z.string(),
  gpuSeconds: z.number(),
  costMicroUsd: z.int(),
  completionTime: z.string(),
});

/** GET /v1/usage. */
export const UsageSchema = z.object({
  periodStart: z.string(),
  periodEnd: z.string(),
  gpuSeconds: z.number(),
  costMicroUsd: z.int().describe("Exact cost in integer micro-dollars."),
  cost: z.number().describe("USD, for display."),
  completed: z.int(),
  receipts: z.array(UsageReceiptSchema),
});

/** GET /v1/receipts/{digest}. */
export const ReceiptViewSchema = z.object({
  digest: z.string(),
  name: z.string(),
  type: z.string(),
  subject: z.record(z.string(), z.unknown()),
  payload: z.record(z.string(), z.unknown()),
  issuedAt: z.string(),
  status: z.record(z.string(), z.unknown()).optional(),
});

/** GET /v1/receipts/{digest}/proof: the ledger's proof bundle (`remembrancer verify-full`). */
export const ProofBundleSchema = z
  .looseObject({ format: z.string() })
  .describe("A vaultmesh.cloud/proof-bundle/v1 bundle, verifiable offline.");

/** `connected` or what went wrong. */
const DependencyStateSchema = z.string().describe("`connected`, or the error.");

/** GET /health. */
export const HealthSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  database: DependencyStateSchema,
  redis: DependencyStateSchema,
  ledger: DependencyStateSchema,
  kubernetes: DependencyStateSchema,
});
/** GET /health. */
export type Health = z.infer<typeof HealthSchema>;

/** An RFC 9457 problem (problem.ts). */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  reason: z.string(),
  errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
});
