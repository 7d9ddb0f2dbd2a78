// The VaultMesh provider protocol v1 (docs/provider-protocol.md) as zod schemas: the one
// definition the client parses responses with and the simulator validates requests with.
import { z } from "zod";

/** Path prefix of every protocol endpoint. */
export const PROTOCOL_PREFIX = "/v1";

/** States of a job at a provider; the last three are terminal. */
export const JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
/** A job's state at a provider. */
export type JobState = (typeof JOB_STATES)[number];
/** Whether a state is terminal (the job will not change again). */
export function isTerminal(state: JobState): boolean {
  return state === "succeeded" || state === "failed" || state === "cancelled";
}

/** The header carrying the idempotency key of a submission. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** What an idempotency key may contain. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,255}$/;

/**
 * The idempotency key of attempt `attempt` of the workload with uid `uid`: `gw-<uid>-a<n>`.
 * Derived from the attempt's identity only, so a resubmission after a crash or a lost reply
 * finds the job already created instead of starting a second one.
 */
export function idempotencyKeyFor(uid: string, attempt: number): string {
  const key = `gw-${uid}-a${attempt}`;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new Error(
      `idempotency key ${JSON.stringify(key)} does not match ${IDEMPOTENCY_KEY_PATTERN}`,
    );
  }
  return key;
}

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

/** Error codes of the protocol, with their HTTP status and whether a retry may succeed. */
export const ERRORS = {
  invalid_request: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  not_found: { status: 404, retryable: false },
  insufficient_capacity: { status: 409, retryable: false },
  idempotency_key_reused: { status: 422, retryable: false },
  unsupported: { status: 422, retryable: false },
  rate_limited: { status: 429, retryable: true },
  internal: { status: 500, retryable: true },
  unavailable: { status: 503, retryable: true },
} as const;
/** An error code of the protocol. */
export type ErrorCode = keyof typeof ERRORS;

/** Body of every error response: a sentence, its code, and whether to retry. */
export const ErrorBodySchema = z.object({
  error: z.string().max(4096),
  code: z.string().max(64),
  retryable: z.boolean(),
});
/** Body of every error response. */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
