/**
 * The RateLimit-* headers of a rate-limit decision (draft-ietf-httpapi-ratelimit-headers, the
 * three-field form @fastify/rate-limit also sends) and Retry-After on a refusal. The limiter is
 * the tenant stack's fixed one-minute window in Redis (one atomic Lua script, ADR 0120). Pure.
 */
import type { RateDecision } from "../tenant-stack/redis/tenant-cache.ts";

/** Length of the rate-limit window, in seconds. */
export const WINDOW_SECONDS = 60;

/** Seconds until the current one-minute window ends (at least 1). */
export function secondsToWindowEnd(nowMs: number): number {
  const end = (Math.floor(nowMs / 60_000) + 1) * 60_000;
  return Math.max(1, Math.ceil((end - nowMs) / 1000));
}

/** Headers for a decision; none when the limiter did not answer (nothing true to say). */
export function rateLimitHeaders(d: RateDecision, nowMs: number): Record<string, string> {
  if (d.reason === "LimiterUnavailable" || d.limit <= 0) return {};
  const reset = String(secondsToWindowEnd(nowMs));
  return {
    "ratelimit-limit": String(d.limit),
    "ratelimit-remaining": String(Math.max(0, d.remaining)),
    "ratelimit-reset": reset,
    "ratelimit-policy": `${d.limit};w=${WINDOW_SECONDS}`,
    ...(d.reason === "RateLimited" ? { "retry-after": reset } : {}),
  };
}
