// The router's memo, as an explicit object: what route() may remember between decisions (per
// treaty version facts, the last snapshot of the treaties, verdicts per workload shape, scored
// candidates per scoring context, region bits, the current UTC day). Its owner creates one and
// passes it to every route() call (the operator: one per GPUWorkload controller); route()
// without one uses a fresh memo per call, so it remembers nothing. No module-level state: two
// memos never share anything, and dropping one frees everything it holds (ADR 0024 addendum).
import { KeyIds } from "./memo-keys.ts";
import { largestNodeGpus } from "./pool-capacity.ts";
import { RegionBits } from "./region-mask.ts";
import type { PoolNode, RoutableInClusterPool } from "./routing-types.ts";
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
/** Pool sizes (pool and GPU type) remembered for one set of nodes before they are forgotten. */
export const MAX_POOL_SIZES = 256;
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

  // The nodes the pool sizes below were measured on (a copy of the caller's array: compared
  // element by element, as callers pass a fresh list per decision), and the largest node per
  // pool object and GPU type.
  #nodes: readonly PoolNode[] | undefined;
  #nodeItems: readonly PoolNode[] = [];
  readonly #poolSizes = new Map<RoutableInClusterPool, Map<string, number | undefined>>();

  /**
   * pool-capacity's largestNodeGpus, remembered while the nodes are the same objects in the
   * same order (informer objects are replaced, never changed, when a node changes) and the
   * pool is the same object. A decision then compares references instead of reading every
   * node's labels and allocatable GPUs (issue 13).
   */
  largestNodeGpus(
    nodes: readonly PoolNode[],
    pool: RoutableInClusterPool,
    gpuType: string,
  ): number | undefined {
    if (!this.#sameNodes(nodes)) {
      this.#nodes = nodes;
      this.#nodeItems = nodes.slice();
      this.#poolSizes.clear();
    }
    let sizes = this.#poolSizes.get(pool);
    if (sizes === undefined) {
      if (this.#poolSizes.size >= MAX_POOL_SIZES) this.#poolSizes.clear();
      this.#poolSizes.set(pool, (sizes = new Map<string, number | undefined>()));
    }
    if (sizes.has(gpuType)) return sizes.get(gpuType);
    const largest = largestNodeGpus(nodes, pool, gpuType);
    sizes.set(gpuType, largest);
    return largest;
  }

  #sameNodes(nodes: readonly PoolNode[]): boolean {
    const items = this.#nodeItems;
    if (this.#nodes === undefined || nodes.length !== items.length) return false;
    for (let i = 0; i < items.length; i++) if (nodes[i] !== items[i]) return false;
    return true;
  }

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
