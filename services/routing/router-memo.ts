// The router's memo, as an explicit object: what route() may remember between decisions (per
// treaty version facts, the last snapshot of the treaties, verdicts per workload shape, scored
// candidates per scoring context, region bits, the current UTC day). Its owner creates one and
// passes it to every route() call (the operator: one per GPUWorkload controller); route()
// without one uses a fresh memo per call, so it remembers nothing. No module-level state: two
// memos never share anything, and dropping one frees everything it holds (ADR 0024 addendum).
import { KeyIds } from "./memo-keys.ts";
import { RegionBits } from "./region-mask.ts";
import type { TreatyFacts } from "./treaty-facts.ts";
import type { TreatySnapshot } from "./treaty-snapshot.ts";

/** Workload shapes a memo remembers verdicts for before it forgets them all. */
export const MAX_SHAPES = 256;
/**
 * Scoring contexts a memo remembers scored candidates for before it forgets them all; fewer
 * than shapes, as each holds an explanation string per eligible treaty.
 */
export const MAX_SCORING_CONTEXTS = 64;
/** Bound on remembered treaty facts: cleared when it outgrows the treaties seen by this much. */
export const FACTS_SLACK = 1024;
const DAY_MS = 86_400_000;

/** What route() remembers between decisions; pass the same one to every call to benefit. */
export class RouterMemo {
  /** Ids of workload shapes (EligibilityContext.shape). */
  readonly shapeIds = new KeyIds(MAX_SHAPES);
  /** Ids of scoring contexts (GPU type, strategy, profile, the bests a score is relative to). */
  readonly scoringIds = new KeyIds(MAX_SCORING_CONTEXTS);
  /** Bits of region names for region masks. */
  readonly regions = new RegionBits();
  /**
   * Facts by treaty name. Plain Map, not WeakMap: callers that copy treaties per decision
   * would otherwise fill WeakMaps with short-lived keys, which V8's GC pays for dearly.
   */
  readonly facts = new Map<string, TreatyFacts>();
  /** The last snapshot of the treaties, when every treaty in it had a resourceVersion. */
  last: TreatySnapshot | undefined;
  /** Counts decisions (treatySnapshot calls) made with this memo. */
  decisions = 0;
  // The last day computed by utcDay, as [start, end) in epoch ms: decisions come in bursts
  // within one day, and toISOString is a measurable share of a decision.
  #dayStart = 0;
  #dayEnd = 0;
  #dayText = "";

  /** The UTC day of `now` as `YYYY-MM-DD`, remembered for the rest of that day. */
  utcDay(now: Date): string {
    const t = now.getTime();
    if (t >= this.#dayStart && t < this.#dayEnd) return this.#dayText;
    this.#dayText = utcDay(now);
    this.#dayStart = Date.parse(this.#dayText);
    this.#dayEnd = this.#dayStart + DAY_MS;
    return this.#dayText;
  }
}

/** The UTC day of `now` as `YYYY-MM-DD`. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}
