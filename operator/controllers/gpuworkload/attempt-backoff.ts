/**
 * Which treaties a GPUWorkload may not be routed to now because an earlier attempt under them
 * was abandoned (it never started: unschedulable, provider down, treaty suspended), and until
 * when. Each treaty is excluded for a back-off after its latest abandoned attempt that doubles
 * with every attempt abandoned there (like Kueue's requeuing strategy), so failover moves on
 * to the next treaty at once, and a workload that has tried every treaty waits (Routed False,
 * AwaitingRetry) and tries them again later instead of sitting forever (ADR 0099). Pure.
 */

/** First back-off of a treaty after an attempt abandoned there. @default 60 s */
export const DEFAULT_RETRY_BACKOFF_MS = 60_000;
/** Longest back-off. @default 1 h */
export const DEFAULT_RETRY_BACKOFF_MAX_MS = 3_600_000;
/**
 * Attempts `status.attempts` can hold (the API's bound, crds/gpuworkload.ts): once a workload
 * has made this many, a treaty it abandoned stays excluded (only untried treaties remain).
 */
export const MAX_ATTEMPTS = 32;

/** The back-off settings. */
export interface RetryBackoff {
  /** Back-off after the first attempt abandoned under a treaty. */
  readonly baseMs: number;
  /** Cap on the back-off. */
  readonly maxMs: number;
}

/** The fields of an attempt the back-off reads (an `Attempt` fits). */
export interface BackoffAttempt {
  readonly treaty: string;
  readonly outcome: string;
  readonly startTime?: string | undefined;
  readonly endTime?: string | undefined;
}

/** Treaties excluded now, and when the first of them may be tried again. */
export interface Exclusions {
  /** Treaty names to pass to the router as `excluding`, in first-attempt order. */
  readonly excluding: readonly string[];
  /**
   * Epoch ms at which the earliest exclusion ends; undefined when none ends (none excluded,
   * or the attempt budget is spent).
   */
  readonly retryAtMs?: number;
}

/**
 * The treaties excluded at `nowMs` by abandoned attempts: treaty T with n abandoned attempts,
 * the latest ending at e, is excluded while nowMs < e + min(baseMs·2^(n−1), maxMs); past
 * MAX_ATTEMPTS attempts, for good. An attempt without an endTime counts from its startTime;
 * one with neither (not written by this operator) counts towards n, but its own back-off is
 * taken as over: there is no stored time to end it, and one counted from `nowMs` would never
 * end (excluded, and re-queued, on every evaluation).
 */
export function attemptExclusions(
  attempts: readonly BackoffAttempt[],
  nowMs: number,
  backoff: RetryBackoff,
): Exclusions {
  const byTreaty = new Map<string, { count: number; lastEndMs: number }>();
  for (const a of attempts) {
    if (a.outcome !== "Abandoned") continue;
    const endMs = Date.parse(a.endTime ?? a.startTime ?? "");
    const seen = byTreaty.get(a.treaty) ?? { count: 0, lastEndMs: -Infinity };
    byTreaty.set(a.treaty, {
      count: seen.count + 1,
      lastEndMs: Number.isNaN(endMs) ? seen.lastEndMs : Math.max(seen.lastEndMs, endMs),
    });
  }
  const spent = attempts.length >= MAX_ATTEMPTS;
  const excluding: string[] = [];
  let retryAtMs: number | undefined;
  for (const [treaty, { count, lastEndMs }] of byTreaty) {
    if (spent) {
      excluding.push(treaty);
      continue;
    }
    // No abandoned attempt under the treaty has a time recorded: its back-off is over.
    if (!Number.isFinite(lastEndMs)) continue;
    const until = lastEndMs + backoffMs(count, backoff);
    if (nowMs >= until) continue;
    excluding.push(treaty);
    if (retryAtMs === undefined || until < retryAtMs) retryAtMs = until;
  }
  return retryAtMs === undefined ? { excluding } : { excluding, retryAtMs };
}

/** The back-off after the `count`-th attempt abandoned under one treaty. */
export function backoffMs(count: number, backoff: RetryBackoff): number {
  const doubled = backoff.baseMs * 2 ** Math.max(0, count - 1);
  return Math.min(doubled, backoff.maxMs);
}

/** The back-off the GPUWorkload controller uses unless told otherwise. */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = {
  baseMs: DEFAULT_RETRY_BACKOFF_MS,
  maxMs: DEFAULT_RETRY_BACKOFF_MAX_MS,
};

/** What a workload no treaty takes now waits for: its Routed message and when to look again. */
export interface RetryWait {
  readonly message: string;
  /** Set when an excluded treaty becomes eligible again: re-route then. */
  readonly requeueAfterMs?: number;
}

/**
 * The wait of a workload the router placed nowhere: the router's `message`, prefixed with the
 * time the first attempted treaty may be tried again when one is excluded by its back-off
 * (then re-routed at that time), cut to `maxLength`.
 */
export function retryWait(
  message: string,
  exclusions: Exclusions,
  nowMs: number,
  maxLength: number,
): RetryWait {
  const at = exclusions.retryAtMs;
  if (at === undefined) return { message };
  const text = `attempted treaties are tried again from ${new Date(at).toISOString()}; ${message}`;
  return {
    message: text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…`,
    requeueAfterMs: Math.max(1, at - nowMs),
  };
}

/** The Routed message of a workload whose attempts fill its status (MAX_ATTEMPTS). */
export function attemptsExhaustedMessage(attempts: number): string {
  return (
    `${attempts} attempts made, as many as status.attempts holds: only a treaty not ` +
    `attempted yet can take the workload; delete and re-create it to try the others again`
  );
}
