/**
 * OpenAPI 3.1 of the tenant API, generated from the same zod schemas the routes validate with
 * (zod 4's native `z.toJSONSchema`, draft 2020-12, which OpenAPI 3.1 uses as its schema
 * dialect): no second description to drift from the code. Pure.
 */
import { z } from "zod";
import {
  CreateWorkloadSchema,
  DigestParamsSchema,
  HealthSchema,
  IdempotencyKeySchema,
  ProblemSchema,
  ProofBundleSchema,
  QuoteRequestSchema,
  QuoteSchema,
  ReceiptViewSchema,
  UsageSchema,
  WorkloadListSchema,
  WorkloadParamsSchema,
  WorkloadViewSchema,
} from "./schemas.ts";

/** One route as the OpenAPI document describes it. */
export interface RouteDoc {
  readonly method: "get" | "post" | "delete";
  /** OpenAPI path template (`/v1/workloads/{name}`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly auth: boolean;
  readonly params?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly idempotencyKey?: boolean;
  /** Success status → schema (undefined: not JSON). */
  readonly responses: Readonly<Record<number, z.ZodType | undefined>>;
}

/** Every route of the tenant API. */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: "post",
    path: "/v1/workloads",
    operationId: "createWorkload",
    summary: "Create a GPUWorkload in the caller's tenant namespace, as the tenant.",
    auth: true,
    body: CreateWorkloadSchema,
    idempotencyKey: true,
    responses: { 200: WorkloadViewSchema, 201: WorkloadViewSchema },
  },
  {
    method: "get",
    path: "/v1/workloads",
    operationId: "listWorkloads",
    summary: "List the tenant's workloads.",
    auth: true,
    responses: { 200: WorkloadListSchema },
  },
  {
    method: "get",
    path: "/v1/workloads/{name}",
    operationId: "getWorkload",
    summary: "A workload: status, placement, candidates with reasons, attempts, receipt.",
    auth: true,
    params: WorkloadParamsSchema,
    responses: { 200: WorkloadViewSchema },
  },
  {
    method: "delete",
    path: "/v1/workloads/{name}",
    operationId: "cancelWorkload",
    summary: "Cancel a workload (delete it; the operator stops its job).",
    auth: true,
    params: WorkloadParamsSchema,
    responses: { 202: WorkloadViewSchema },
  },
  {
    method: "post",
    path: "/v1/quote",
    operationId: "quote",
    summary:
      "Where a workload would run now, at what price, and every candidate's score or reasons.",
    auth: true,
    body: QuoteRequestSchema,
    responses: { 200: QuoteSchema },
  },
  {
    method: "get",
    path: "/v1/usage",
    operationId: "usage",
    summary: "GPU-seconds and cost this billing period, from completion receipts.",
    auth: true,
    responses: { 200: UsageSchema },
  },
  {
    method: "get",
    path: "/v1/receipts/{digest}",
    operationId: "getReceipt",
    summary: "One of the tenant's receipts.",
    auth: true,
    params: DigestParamsSchema,
    responses: { 200: ReceiptViewSchema },
  },
  {
    method: "get",
    path: "/v1/receipts/{digest}/proof",
    operationId: "getReceiptProof",
    summary: "The receipt's proof bundle, for `remembrancer verify-full`.",
    auth: true,
    params: DigestParamsSchema,
    responses: { 200: ProofBundleSchema },
  },
  {
    method: "get",
    path: "/health",
    operationId: "health",
    summary: "Each dependency's state; 503 when one the bridge needs is down.",
    auth: false,
    responses: { 200: HealthSchema, 503: HealthSchema },
  },
];

const json = (s: z.ZodType): Record<string, unknown> => {
  const out = z.toJSONSchema(s, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  delete out.$schema;
  return out;
};

const problemResponse = (description: string): Record<string, unknown> => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

function parameters(r: RouteDoc): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const props = r.params ? (json(r.params).properties as Record<string, unknown>) : {};
  for (const [name, schema] of Object.entries(props)) {
    out.push({ name, in: "path", required: true, schema });
  }
  if (r.idempotencyKey) {
    out.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      schema: json(IdempotencyKeySchema),
    });
  }
  return out;
}

function operation(r: RouteDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [code, schema] of Object.entries(r.responses)) {
    responses[code] = {
      description: Number(code) === 503 ? "a needed dependency is down" : "success",
      ...(schema ? { content: { "application/json": { schema: json(schema) } } } : {}),
    };
  }
  responses["400"] = problemResponse("invalid request; `errors` names each field");
  if (r.auth) {
    responses["401"] = problemResponse("missing, unknown or revoked API key");
    responses["403"] = problemResponse("tenant suspended, or the platform's RBAC forbids it");
    responses["429"] = problemResponse("rate limit exceeded; see Retry-After");
  }
  if (r.params) responses["404"] = problemResponse("no such object in the caller's tenant");
  if (r.body) {
    responses["409"] = problemResponse("already exists");
    responses["413"] = problemResponse("body too large");
    responses["415"] = problemResponse("not application/json");
    responses["422"] = problemResponse("rejected by admission, or Idempotency-Key reused");
  }
  responses["503"] ??= problemResponse("a dependency is down, or the server is overloaded");
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.auth ? { security: [{ apiKey: [] }] } : {}),
    parameters: parameters(r),
    ...(r.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: json(r.body) } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the tenant API. */
export function openApiDocument(version = "v1"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "VaultMesh tenant API (aurora-bridge)",
      version,
      description:
        "Workloads, quotes, usage and proofs for one tenant, authenticated by its API key.",
    },
    servers: [{ url: "/" }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "vmk_<id>_<secret>" },
      },
      schemas: { Problem: json(ProblemSchema) },
    },
  };
}
