// The scenario's workload arrivals, generated up front from their own seeded stream: every
// strategy of a sweep sees exactly the same workloads at the same times.
import type { TenantConstraints, WorkloadProfile } from "../services/routing/index.ts";
import { prng, weighted } from "./sim-kernel.ts";
import type { Scenario } from "./scenario.ts";

/** One workload as it arrives. */
export interface Arrival {
  readonly index: number;
  /** Virtual epoch ms. */
  readonly atMs: number;
  readonly tenant: Scenario["arrivals"]["tenants"][number];
  /** The tenant's routing constraints (its Tenant spec's lists). */
  readonly tenantSpec: TenantConstraints;
  readonly gpuType: string;
  readonly gpus: number;
  readonly profile: WorkloadProfile;
  readonly runtimeMs: number;
  readonly maxPricePerHour: number | undefined;
  /** Everything routing reads of the workload, as one key. */
  readonly shape: string;
}

const MINUTE = 60_000;

/** The arrivals of scenario `s` from `t0` (epoch ms), in time order. */
export function generateArrivals(s: Scenario, t0: number): Arrival[] {
  const a = s.arrivals;
  const rnd = prng(s.seed);
  const tenantWeights = Object.fromEntries(a.tenants.map((t, i) => [String(i), t.weight]));
  const counts = a.gpuCounts ?? { "1": 1 };
  const profiles = a.profiles ?? { batch: 1 };
  const out: Arrival[] = [];
  let t = 0;
  for (let i = 0; i < a.workloads; i++) {
    t += -Math.log(1 - rnd()) / (rateAt(a.rate, t) / MINUTE);
    const tenant = a.tenants[Number(weighted(tenantWeights, rnd))]!;
    const gpuType = weighted(a.gpuMix, rnd);
    const gpus = Number(weighted(counts, rnd));
    const profile = weighted(profiles, rnd);
    const r = a.runtimeMinutes;
    const minutes = Math.min(r.max, Math.max(r.min, -Math.log(1 - rnd()) * r.mean));
    const tenantSpec: TenantConstraints = {
      ...(tenant.allowedTreaties ? { allowedTreaties: tenant.allowedTreaties } : {}),
      ...(tenant.allowedRegions ? { allowedRegions: tenant.allowedRegions } : {}),
    };
    out.push({
      index: i,
      atMs: t0 + Math.round(t),
      tenant,
      tenantSpec,
      gpuType,
      gpus,
      profile,
      runtimeMs: Math.round(minutes * MINUTE),
      maxPricePerHour: a.maxPricePerHour,
      shape: `${tenant.name}|${gpuType}|${gpus}|${profile}`,
    });
  }
  return out;
}

/** Arrivals per minute at `ms` after the start (piecewise constant). */
function rateAt(rate: Scenario["arrivals"]["rate"], ms: number): number {
  let r = rate[0]!.perMinute;
  for (const x of rate) if (x.fromMinute * MINUTE <= ms) r = x.perMinute;
  return r;
}
