// The VaultMesh provider protocol v1 (docs/provider-protocol.md) as zod schemas: the one
// definition the client parses responses with and the simulator validates requests with.
import { z } from "zod";
import { IDEMPOTENCY_KEY_PATTERN, JOB_STATES } from "./protocol-constants.ts";

export * from "./protocol-constants.ts";

const Rfc3339 = z.iso.datetime({ offset: true });
const GpuSchema = z.object({
  type: z.string().min(1).max(32),
  count: z.int().min(1).max(64),
});
const StringList = z.array(z.string().max(4096)).max(128);

/** Body of `POST /v1/jobs`: what to run, where, for at most how long and how much. */
export const JobRequestSchema = z.strictObject({
  gpu: GpuSchema,
  region: z.string().min(1).max(63).optional(),
  image: z.string().min(1).max(1024),
  command: StringList.optional(),
  args: StringList.optional(),
  env: z
    .array(z.strictObject({ name: z.string().min(1).max(256), value: z.string().max(32768) }))
    .max(128)
    .optional(),
  maxRuntimeSeconds: z.int().min(1).max(2_592_000).optional(),
  maxPricePerHour: z.number().min(0).optional(),
  labels: z.record(z.string().min(1).max(317), z.string().max(63)).optional(),
});
/** Body of `POST /v1/jobs`. */
export type JobRequest = z.infer<typeof JobRequestSchema>;

/** A job as a provider reports it. */
export const ProviderJobSchema = z.object({
  id: z.string().min(1).max(256),
  idempotencyKey: z.string().regex(IDEMPOTENCY_KEY_PATTERN),
  state: z.enum(JOB_STATES),
  reason: z.string().max(1024),
  message: z.string().max(32768),
  gpu: GpuSchema,
  region: z.string().max(63).optional(),
  pricePerHour: z.number().min(0),
  createdAt: Rfc3339,
  startedAt: Rfc3339.optional(),
  finishedAt: Rfc3339.optional(),
  labels: z.record(z.string(), z.string()).optional(),
});
/** A job as a provider reports it. */
export type ProviderJob = z.infer<typeof ProviderJobSchema>;

/** Body of `GET /v1/health`. */
export const HealthSchema = z.object({
  status: z.literal("ok"),
  provider: z.string().max(63),
  time: Rfc3339,
});
/** Body of `GET /v1/health`. */
export type Health = z.infer<typeof HealthSchema>;

/** Body of every error response: a sentence, its code, and whether to retry. */
export const ErrorBodySchema = z.object({
  error: z.string().max(4096),
  code: z.string().max(64),
  retryable: z.boolean(),
});
/** Body of every error response. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
