// Names, states, error codes and idempotency keys of the VaultMesh provider protocol v1
// (docs/provider-protocol.md) — everything but the zod schemas (./protocol.ts), so the
// operator loads zod only when it talks to an external provider (docs/adr/0025).

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
