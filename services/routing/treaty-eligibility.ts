// Hard constraints of the workload: whether it may run under a treaty, and if not, every
// reason why, each naming the field it comes from. The treaty's own-state reasons come from
// treaty-facts.ts; these checks run for every treaty on every decision and allocate nothing
// unless one fails.
import { GPU_TYPES } from "../../crds/constants.ts";
import { addReason, IneligibleReason, type ReasonList } from "./ineligibility.ts";
import { clip, fixed2, list, quantity, usdPerHour } from "./reason-format.ts";
import { DEFAULT_GPU_RESOURCE } from "./pool-capacity.ts";
import { INEXACT } from "./region-mask.ts";
import type { RouterMemo } from "./router-memo.ts";
import type { PoolNode, RoutableTreaty, RouteInput, TreatyUsage } from "./routing-types.ts";
import type { TreatyFacts } from "./treaty-facts.ts";

/**
 * The per-decision facts every treaty is checked against, computed once by route(). The texts
 * of reasons are rendered on first use: with verdicts memoized per workload shape, most
 * decisions need none.
 */
export class EligibilityContext {
  readonly gpuType: string;
  /** GPUs the workload asks for. */
  readonly gpuCount: number;
  /** The cluster's Nodes, when the caller passed them (in-cluster pools are then judged). */
  readonly nodes: readonly PoolNode[] | undefined;
  /** Index of gpuType in GPU_TYPES; -1 for a type outside the API's enum. */
  readonly gpuIndex: number;
  readonly wantRegions: readonly string[] | undefined;
  readonly tenantRegions: readonly string[] | undefined;
  readonly tenantTreaties: readonly string[] | undefined;
  readonly allowedProviders: readonly string[] | undefined;
  /** The memo of the decision (a fresh one when route() was given none). */
  readonly memo: RouterMemo;
  /** Region masks (region-mask.ts) of the workload's and the tenant's regions. */
  readonly wantMask: number;
  readonly tenantMask: number;
  readonly maxPricePerHour: number | undefined;
  /** Name of the treaty the workload is pinned to (`routing.treatyRef`). */
  readonly pinned: string | undefined;
  readonly excluding: readonly string[] | undefined;
  /**
   * The id (in the memo's shapeIds) of everything the workload's reasons against a treaty depend on (GPU
   * type, price cap, regions, providers, tenant lists); verdicts are memoized per treaty under
   * it. Undefined when the decision has a pin or exclusions (not memoized).
   */
  readonly shape: number | undefined;
  /** Live usage by treaty name, overriding the treaties' status. */
  readonly usage: ReadonlyMap<string, TreatyUsage> | undefined;
  /** The decision's day, `YYYY-MM-DD` (UTC), compared with the treaties' dates as strings. */
  readonly today: string;
  #allowedProvidersText: string | undefined;
  #wantRegionsText: string | undefined;
  #tenantRegionsText: string | undefined;
  #notPricedReason: string | undefined;
  #exceedsSuffix: string | undefined;
  #pinnedReason: string | undefined;

  /**
   * Builds the context of a route() input. An empty allow-list (providers, tenant treaties or
   * regions) allows nothing — fail closed where money is at stake — while empty workload
   * `regions` mean any region, like omitted ones.
   */
  constructor(input: RouteInput, memo: RouterMemo) {
    const { spec, tenant } = input;
    this.memo = memo;
    const wantRegions = spec.regions?.length ? spec.regions : undefined;
    this.pinned = spec.routing?.treatyRef?.name;
    this.excluding = input.excluding;
    const memoized = this.pinned === undefined && (this.excluding?.length ?? 0) === 0;
    this.shape = memoized ? memo.shapeIds.id(shapeOf(input)) : undefined;
    this.gpuType = spec.gpu.type;
    this.gpuCount = spec.gpu.count;
    this.nodes = input.nodes;
    this.gpuIndex = (GPU_TYPES as readonly string[]).indexOf(spec.gpu.type);
    this.wantRegions = wantRegions;
    this.wantMask = memo.regions.mask(wantRegions);
    this.tenantMask = memo.regions.mask(tenant?.allowedRegions);
    this.tenantRegions = tenant?.allowedRegions;
    this.tenantTreaties = tenant?.allowedTreaties;
    this.allowedProviders = spec.routing?.allowedProviders;
    this.maxPricePerHour = spec.maxPricePerHour;
    this.usage = input.usage;
    this.today = memo.utcDay(input.now);
  }

  /** `[a, b]` rendering of allowedProviders. */
  get allowedProvidersText(): string {
    return (this.#allowedProvidersText ??= list(this.allowedProviders ?? []));
  }

  /** `[a, b]` rendering of the workload's regions. */
  get wantRegionsText(): string {
    return (this.#wantRegionsText ??= list(this.wantRegions ?? []));
  }

  /** `[a, b]` rendering of the tenant's allowedRegions. */
  get tenantRegionsText(): string {
    return (this.#tenantRegionsText ??= list(this.tenantRegions ?? []));
  }

  /** The reason of a treaty that does not price the workload's GPU type. */
  get notPricedReason(): string {
    return (this.#notPricedReason ??= `gpu type ${this.gpuType} not priced by this treaty`);
  }

  /** The end of a too-expensive reason: ` exceeds maxPricePerHour $1.00`. */
  get exceedsSuffix(): string {
    const max = this.maxPricePerHour;
    return (this.#exceedsSuffix ??=
      max === undefined ? "" : ` exceeds maxPricePerHour $${fixed2(max)}`);
  }

  /** The reason of every other treaty when pinned. */
  get pinnedReason(): string {
    return (this.#pinnedReason ??= clip(
      `routing.treatyRef pins the workload to treaty ${this.pinned ?? ""}`,
    ));
  }
}

/** Builds the per-decision context from a route() input (see EligibilityContext). */
export function eligibilityContext(input: RouteInput, memo: RouterMemo): EligibilityContext {
  return new EligibilityContext(input, memo);
}

/** The memo key of everything workloadReasons reads but the pin and the exclusions. */
function shapeOf({ spec, tenant }: RouteInput): string {
  const text = (xs: readonly string[] | undefined): string => (xs === undefined ? "*" : list(xs));
  return [
    spec.gpu.type,
    spec.maxPricePerHour ?? "",
    spec.regions?.length ? list(spec.regions) : "*",
    text(spec.routing?.allowedProviders),
    text(tenant?.allowedRegions),
    text(tenant?.allowedTreaties),
  ].join("|");
}

/** The treaty's price for the workload's GPU type, NaN when the treaty does not price it. */
export function priceOf(facts: TreatyFacts, ctx: EligibilityContext): number {
  if (ctx.gpuIndex >= 0) return facts.prices[ctx.gpuIndex]!;
  return NaN; // a type outside the API's enum is priced by no treaty
}

/**
 * Quota reasons against the treaty, from live usage (route()'s `usage`, else the treaty's
 * status): concurrent jobs, then GPU-hours this period; undefined when within both.
 */
export function quotaReasons(
  facts: TreatyFacts,
  usage: TreatyUsage | undefined,
): ReasonList | undefined {
  const active = usage?.activeJobs ?? facts.activeJobs;
  const hours = usage?.gpuHoursThisPeriod ?? facts.gpuHoursThisPeriod;
  let out: ReasonList | undefined;
  if (active >= facts.maxConcurrentJobs) {
    out = addReason(
      out,
      IneligibleReason.MaxConcurrentJobs,
      `treaty at maxConcurrentJobs ${active}/${facts.maxConcurrentJobs}`,
    );
  }
  if (hours >= facts.maxGpuHoursPerMonth) {
    const max = quantity(facts.maxGpuHoursPerMonth);
    out = addReason(
      out,
      IneligibleReason.GpuHoursExhausted,
      `treaty GPU-hours ${quantity(hours)}/${max} this period`,
    );
  }
  return out;
}

/**
 * The reason an in-cluster treaty cannot take the workload because no node of its pool holds
 * that many GPUs of its type (see pool-capacity.ts); undefined when some node does, when the
 * pool has no node of the type (not judged), when the treaty is external, or when the caller
 * passed no nodes. Checked on every decision, as nodes come and go.
 */
export function capacityReasons(
  facts: TreatyFacts,
  ctx: EligibilityContext,
): ReasonList | undefined {
  const pool = facts.treaty.spec.inCluster;
  if (ctx.nodes === undefined || !facts.inCluster || pool === undefined) return undefined;
  const largest = ctx.memo.largestNodeGpus(ctx.nodes, pool, ctx.gpuType);
  if (largest === undefined || ctx.gpuCount <= largest) return undefined;
  const resource = pool.gpuResourceName ?? DEFAULT_GPU_RESOURCE;
  return addReason(
    undefined,
    IneligibleReason.ExceedsLargestNode,
    clip(
      `gpu.count ${ctx.gpuCount} exceeds the largest ${ctx.gpuType} node of the pool ` +
        `(${largest} ${resource} allocatable)`,
    ),
  );
}

/**
 * The region to run in: the workload's first region (its order is its preference) that the
 * treaty serves and the tenant allows; with no workload regions, the treaty's first allowed.
 */
export function pickRegion(treaty: RoutableTreaty, ctx: EligibilityContext): string | undefined {
  const served = treaty.spec.regions;
  const tenant = ctx.tenantRegions;
  const want = ctx.wantRegions;
  if (want === undefined) {
    for (const r of served) if (tenant === undefined || tenant.includes(r)) return r;
    return undefined;
  }
  for (const r of want) {
    if (served.includes(r) && (tenant === undefined || tenant.includes(r))) return r;
  }
  return undefined;
}

/** Whether some region is served by the treaty, wanted by the workload and allowed. */
export function servesRegion(facts: TreatyFacts, ctx: EligibilityContext): boolean {
  const m = facts.regionMask;
  if (m !== INEXACT && ctx.wantMask !== INEXACT && ctx.tenantMask !== INEXACT) {
    return (m & ctx.wantMask & ctx.tenantMask) !== 0;
  }
  return pickRegion(facts.treaty, ctx) !== undefined;
}

/**
 * The workload's reasons against a treaty (pin, failover, allow-lists, GPU type, price,
 * region) with their codes, not the treaty's own state ones; undefined when there are none.
 */
export function workloadReasons(
  facts: TreatyFacts,
  ctx: EligibilityContext,
  price: number,
): ReasonList | undefined {
  const { name } = facts;
  if (ctx.pinned !== undefined && name !== ctx.pinned) {
    return addReason(undefined, IneligibleReason.PinnedToOther, ctx.pinnedReason);
  }
  let out: ReasonList | undefined;
  if (ctx.excluding?.includes(name)) {
    out = addReason(
      out,
      IneligibleReason.AlreadyAttempted,
      "treaty already attempted by this workload (failover)",
    );
  }
  if (ctx.tenantTreaties !== undefined && !ctx.tenantTreaties.includes(name)) {
    out = addReason(
      out,
      IneligibleReason.TreatyNotAllowed,
      "treaty not in tenant's allowedTreaties",
    );
  }
  if (ctx.allowedProviders !== undefined && !ctx.allowedProviders.includes(facts.provider)) {
    out = addReason(
      out,
      IneligibleReason.ProviderNotAllowed,
      clip(`provider ${facts.provider} not in allowedProviders ${ctx.allowedProvidersText}`),
    );
  }
  if (Number.isNaN(price)) {
    out = addReason(out, IneligibleReason.GpuTypeNotPriced, ctx.notPricedReason);
  } else if (ctx.maxPricePerHour !== undefined && price > ctx.maxPricePerHour) {
    out = addReason(
      out,
      IneligibleReason.PriceAboveMax,
      "price " + usdPerHour(price) + ctx.exceedsSuffix,
    );
  }
  if (!servesRegion(facts, ctx)) {
    const r = regionReason(facts, ctx);
    out = addReason(out, r.code, r.text);
  }
  return out;
}

/** Explains why no region fits: the workload's regions, or the tenant's allow-list. */
function regionReason(
  facts: TreatyFacts,
  ctx: EligibilityContext,
): { readonly code: IneligibleReason; readonly text: string } {
  const want = ctx.wantRegions;
  const tenantText = ctx.tenantRegionsText;
  if (want === undefined) {
    return {
      code: IneligibleReason.RegionNotAllowed,
      text: clip(
        `treaty regions ${facts.regionsText} not in tenant's allowedRegions ${tenantText}`,
      ),
    };
  }
  const regions = facts.treaty.spec.regions;
  let anyServed = false;
  for (const r of want) if (regions.includes(r)) anyServed = true;
  if (!anyServed) {
    const what = want.length === 1 ? `region ${want[0]}` : `regions ${ctx.wantRegionsText}`;
    return {
      code: IneligibleReason.RegionNotServed,
      text: clip(`${what} not in treaty regions ${facts.regionsText}`),
    };
  }
  const served = want.filter((r) => regions.includes(r));
  return {
    code: IneligibleReason.RegionNotAllowed,
    text: clip(
      `regions ${list(served)} served by the treaty not in tenant's allowedRegions ${tenantText}`,
    ),
  };
}
