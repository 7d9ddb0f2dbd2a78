/**
 * A treaty's measured availability as a circuit breaker (ADR 0134): availability is measured
 * over the completions of a sliding window, not the treaty's whole life; a breach ejects the
 * treaty (open) for a cool-down after its newest failure, then lets a few jobs probe it
 * (half-open) and closes again once enough probes succeeded or the window is back within the
 * SLO. Pure and stateless: the state follows from the completions and the clock alone, so a
 * restarted operator reaches the same verdict.
 */
import { TREATY_PROBE_MAX_CONCURRENT_JOBS } from "../../../crds/constants.ts";

/** One completed attempt under a treaty, as its completion receipt records it. */
export interface TreatyCompletion {
  readonly outcome: "Succeeded" | "Failed";
  /** Seconds from Job creation to start. */
  readonly provisionSeconds: number;
  /** When the attempt started and completed, in ms since the epoch. */
  readonly startedAtMs: number;
  readonly completedAtMs: number;
}

/** Completions older than this do not count towards measured availability. */
export const AVAILABILITY_WINDOW_MS = 60 * 60 * 1000;
/** Completions in the window needed before measured availability can eject a treaty. */
export const MIN_AVAILABILITY_SAMPLES = 5;
/** How long an ejected treaty gets no work after its newest failure (the open state). */
export const PROBE_AFTER_MS = 5 * 60 * 1000;
/** Probes (attempts started after the cool-down) that must succeed to close the breaker. */
export const PROBE_SUCCESSES_TO_CLOSE = 3;

/** The breaker's state: closed (routable), open (ejected), probing (half-open). */
export type BreakerState = "closed" | "open" | "probing";

/** What measured availability says about a treaty at one instant. */
export interface AvailabilityVerdict {
  readonly state: BreakerState;
  /** Successes / completions in the window; undefined without completions in it. */
  readonly availability: number | undefined;
  /** Completions in the window. */
  readonly samples: number;
  /**
   * Availability in the window is below the SLO over enough samples: true while open and
   * probing, and while closed again by probes (Recovered) until the failures age out.
   */
  readonly breach: boolean;
  /** Why the breaker is open or probing, or closed after probes while the window is low. */
  readonly message: string;
  /** When the verdict can next change with no new completion (ms since the epoch). */
  readonly nextChangeAtMs: number | undefined;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const minutes = (ms: number): string => `${Math.round(ms / 60_000)} min`;

/**
 * The breaker's verdict for `completions` against the availability SLO `slo` (undefined: no
 * SLO, always closed) at `nowMs`. Breach: at least MIN_AVAILABILITY_SAMPLES completions in
 * the window and availability below `slo`. In breach the treaty is open until PROBE_AFTER_MS
 * after its newest failure, then probing (routable for TREATY_PROBE_MAX_CONCURRENT_JOBS jobs)
 * until PROBE_SUCCESSES_TO_CLOSE attempts started after the cool-down succeeded (closed); a
 * failed probe is the newest failure and opens it again. Without a breach it is closed.
 */
export function availabilityVerdict(
  completions: readonly TreatyCompletion[],
  slo: number | undefined,
  nowMs: number,
): AvailabilityVerdict {
  const since = nowMs - AVAILABILITY_WINDOW_MS;
  let n = 0;
  let ok = 0;
  let newestFailure = -Infinity;
  let oldestFailure = Infinity;
  for (const c of completions) {
    if (c.completedAtMs <= since || c.completedAtMs > nowMs) continue;
    n++;
    if (c.outcome === "Succeeded") {
      ok++;
    } else {
      newestFailure = Math.max(newestFailure, c.completedAtMs);
      oldestFailure = Math.min(oldestFailure, c.completedAtMs);
    }
  }
  const availability = n > 0 ? round4(ok / n) : undefined;
  const closed = {
    state: "closed" as const,
    availability,
    samples: n,
    breach: false,
    message: "",
  };
  if (
    slo === undefined ||
    availability === undefined ||
    n < MIN_AVAILABILITY_SAMPLES ||
    availability >= slo
  ) {
    return { ...closed, nextChangeAtMs: undefined };
  }
  // The breach ends at the latest when the oldest failure leaves the window.
  const agesOut = oldestFailure + AVAILABILITY_WINDOW_MS + 1;
  const measured = `measured availability ${availability} below SLO ${slo} over ${n} completions in the last ${minutes(AVAILABILITY_WINDOW_MS)}`;
  const probeFrom = newestFailure + PROBE_AFTER_MS;
  if (nowMs < probeFrom) {
    return {
      state: "open",
      availability,
      samples: n,
      breach: true,
      message: `${measured}; no new work until ${new Date(probeFrom).toISOString()} (${minutes(PROBE_AFTER_MS)} after the last failure)`,
      nextChangeAtMs: probeFrom,
    };
  }
  let probesOk = 0;
  for (const c of completions) {
    if (c.outcome === "Succeeded" && c.startedAtMs >= probeFrom && c.completedAtMs <= nowMs) {
      probesOk++;
    }
  }
  if (probesOk >= PROBE_SUCCESSES_TO_CLOSE) {
    return {
      state: "closed",
      availability,
      samples: n,
      breach: true,
      message: `${measured}; ${probesOk} probes succeeded since ${new Date(probeFrom).toISOString()}`,
      nextChangeAtMs: agesOut,
    };
  }
  return {
    state: "probing",
    availability,
    samples: n,
    breach: true,
    message: `${measured}; probing with at most ${TREATY_PROBE_MAX_CONCURRENT_JOBS} concurrent jobs (${probesOk}/${PROBE_SUCCESSES_TO_CLOSE} probes succeeded)`,
    nextChangeAtMs: agesOut,
  };
}
