/**
 * RFC 9457 problem details for every error the bridge answers: `type` is a stable URI per
 * reason code, `status` the HTTP status, `detail` a sentence, and `errors[]` one entry per bad
 * field with its JSON pointer. Clients branch on `reason` (an exported constant), never on text.
 */
import type { z } from "zod";

/** Why a request failed; the `reason` member of every problem. */
export const ProblemReason = {
  InvalidRequest: "InvalidRequest",
  MalformedJson: "MalformedJson",
  BodyTooLarge: "BodyTooLarge",
  UnsupportedMediaType: "UnsupportedMediaType",
  Unauthenticated: "Unauthenticated",
  TenantSuspended: "TenantSuspended",
  Forbidden: "Forbidden",
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  IdempotencyKeyReused: "IdempotencyKeyReused",
  RateLimited: "RateLimited",
  Rejected: "Rejected",
  DependencyUnavailable: "DependencyUnavailable",
  Overloaded: "Overloaded",
  Internal: "Internal",
} as const;
/** A {@link ProblemReason} value. */
export type ProblemReason = (typeof ProblemReason)[keyof typeof ProblemReason];

/** The media type of a problem body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One invalid field: a JSON pointer into the request (`/body/spec/gpu/count`) and why. */
export interface FieldError {
  readonly pointer: string;
  readonly detail: string;
}

/** An RFC 9457 problem details object. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly reason: ProblemReason;
  readonly errors?: readonly FieldError[];
}

const TITLES: Record<ProblemReason, string> = {
  InvalidRequest: "The request is invalid",
  MalformedJson: "The body is not valid JSON",
  BodyTooLarge: "The body is too large",
  UnsupportedMediaType: "Unsupported media type",
  Unauthenticated: "Missing or invalid API key",
  TenantSuspended: "The tenant is suspended",
  Forbidden: "Forbidden",
  NotFound: "Not found",
  AlreadyExists: "Already exists",
  IdempotencyKeyReused: "Idempotency-Key reused with a different request",
  RateLimited: "Rate limit exceeded",
  Rejected: "Rejected by the platform's admission policies",
  DependencyUnavailable: "A dependency is unavailable",
  Overloaded: "The server is overloaded",
  Internal: "Internal error",
};

/** Builds a problem; `type` is `https://vaultmesh.cloud/problems/<reason>`. */
export function problem(
  status: number,
  reason: ProblemReason,
  detail: string,
  errors?: readonly FieldError[],
): Problem {
  return {
    type: `https://vaultmesh.cloud/problems/${reason}`,
    title: TITLES[reason],
    status,
    detail,
    reason,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** The JSON pointer of a zod issue path under `root` (`/body`, `/query`…). */
export function pointerOf(root: string, path: readonly PropertyKey[]): string {
  const esc = (p: PropertyKey): string => String(p).replace(/~/g, "~0").replace(/\//g, "~1");
  return [root, ...path.map(esc)].join("/");
}

/** A 400 problem naming every invalid field of a zod error, the first one in `detail`. */
export function validationProblem(root: string, err: z.ZodError): Problem {
  const errors = err.issues.map((i) => ({
    pointer: pointerOf(root, i.path),
    detail: i.message,
  }));
  const first = errors[0];
  const detail = first ? `${first.pointer}: ${first.detail}` : `${root}: invalid`;
  return problem(400, ProblemReason.InvalidRequest, detail, errors);
}

/** An error carrying a problem; the app's error handler answers with it. */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;

  constructor(p: Problem, headers: Readonly<Record<string, string>> = {}) {
    super(p.detail);
    this.problem = p;
    this.headers = headers;
  }
}
