// The treaties of one route() input in name order with their facts, memoized between
// decisions in a RouterMemo (router-memo.ts): an informer cache hands out the same treaty
// objects until one changes, so most decisions find every treaty's facts, and the snapshot
// itself, as the last one left them. A snapshot also holds, per workload shape and per scoring
// context, the memoized verdicts and scored candidates of its treaties by position, so a
// decision reads them with one array index per treaty.
import { KeyedMemo } from "./memo-keys.ts";
import { FACTS_SLACK, type RouterMemo } from "./router-memo.ts";
import type { Candidate, RoutableTreaty } from "./routing-types.ts";
import { TreatyFacts, type RankedCandidate } from "./treaty-facts.ts";

/** The treaties of one route() input in name order, with their facts. */
export class TreatySnapshot {
  readonly today: string;
  /** The input's elements in input order. */
  readonly source: readonly RoutableTreaty[];
  readonly sorted: readonly TreatyFacts[];
  /** The memo the snapshot belongs to. */
  readonly memo: RouterMemo;
  /** The decision (of `memo`) that made the snapshot (see `memoizing`). */
  readonly madeIn: number;
  #verdicts: KeyedMemo<(Candidate | null | undefined)[]> | undefined;
  #scoring: KeyedMemo<ScoringMemo> | undefined;

  constructor(
    memo: RouterMemo,
    today: string,
    source: readonly RoutableTreaty[],
    sorted: readonly TreatyFacts[],
  ) {
    this.memo = memo;
    this.today = today;
    this.source = source;
    this.sorted = sorted;
    this.madeIn = memo.decisions;
  }

  /**
   * Verdicts by position in `sorted` for a workload shape (a shapeIds id), quotas aside:
   * undefined where not known yet. The caller fills it in.
   */
  verdictsFor(shapeId: number): (Candidate | null | undefined)[] {
    const memo = (this.#verdicts ??= new KeyedMemo(this.memo.shapeIds));
    let verdicts = memo.get(shapeId);
    if (verdicts === undefined) memo.set(shapeId, (verdicts = []));
    return verdicts;
  }

  /** What the snapshot remembers for a scoring context (a scoringIds id). */
  scoringFor(scoringId: number): ScoringMemo {
    const memo = (this.#scoring ??= new KeyedMemo(this.memo.scoringIds));
    let scoring = memo.get(scoringId);
    if (scoring === undefined) memo.set(scoringId, (scoring = { ranked: [], last: undefined }));
    return scoring;
  }
}

/** A ranking of eligible treaties: the best, and every one's candidate, best first. */
export interface Ranking {
  /** Positions in the snapshot's `sorted` of the treaties ranked, ascending. */
  readonly eligible: readonly number[];
  readonly best: RankedCandidate;
  /** Shared between decisions: copy before changing. */
  readonly order: readonly Candidate[];
}

/** What a snapshot remembers for one scoring context; the caller fills it in. */
export interface ScoringMemo {
  /** Scored candidates by position in `sorted`; undefined where not known yet. */
  readonly ranked: (RankedCandidate | undefined)[];
  /** The last ranking made in this context. */
  last: Ranking | undefined;
}

// Memos hold only treaties with a metadata.resourceVersion (read from the apiserver) and are
// checked on every hit: same resourceVersion, same spec and status objects, same day. A
// hand-built treaty without a resourceVersion is recomputed on every call, so one mutated in
// place is seen as it is now.

/**
 * Whether per-workload results (verdicts, scored candidates) are worth memoizing on facts or
 * a snapshot: only once they outlive the decision that made them. Callers that copy treaties
 * per decision get new ones every time, and memoizing on those would only cost.
 */
export function memoizing(made: TreatyFacts | TreatySnapshot): boolean {
  return made.madeIn !== made.memo.decisions;
}

/**
 * The facts of every treaty at `today`, sorted by name (code-unit order). When the input holds
 * the same treaty objects in the same order as last time (an informer cache's list does, until
 * something changes), the previous snapshot is reused: a decision then costs one pass of
 * pointer comparisons here. Otherwise facts are memoized per treaty version.
 */
export function treatySnapshot(
  memo: RouterMemo,
  treaties: readonly RoutableTreaty[],
  today: string,
): TreatySnapshot {
  memo.decisions++;
  const last = memo.last;
  if (last !== undefined && last.today === today && unchanged(last, treaties)) return last;
  if (memo.facts.size > treaties.length + FACTS_SLACK) memo.facts.clear();
  const sorted = treaties.map((t) => treatyFacts(memo, t, today));
  sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const snapshot = new TreatySnapshot(memo, today, treaties.slice(), sorted);
  const cacheable = sorted.every((f) => f.resourceVersion !== undefined);
  memo.last = cacheable ? snapshot : undefined;
  return snapshot;
}

function unchanged(snapshot: TreatySnapshot, treaties: readonly RoutableTreaty[]): boolean {
  const { source } = snapshot;
  if (source.length !== treaties.length) return false;
  for (let i = 0; i < source.length; i++) if (treaties[i] !== source[i]) return false;
  for (const f of snapshot.sorted) if (!current(f, f.treaty, f.today)) return false;
  return true;
}

function current(f: TreatyFacts, treaty: RoutableTreaty, today: string): boolean {
  return (
    f.resourceVersion !== undefined &&
    f.resourceVersion === treaty.metadata.resourceVersion &&
    f.today === today &&
    f.spec === treaty.spec &&
    f.status === treaty.status
  );
}

/** The facts of one treaty at `today`, memoized per object version. */
function treatyFacts(memo: RouterMemo, treaty: RoutableTreaty, today: string): TreatyFacts {
  const hit = memo.facts.get(treaty.metadata.name ?? "");
  if (hit !== undefined && current(hit, treaty, today)) return hit;
  const facts = new TreatyFacts(memo, treaty, today);
  if (facts.resourceVersion !== undefined) memo.facts.set(facts.name, facts);
  return facts;
}
