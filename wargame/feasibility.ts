// The up-front check of a scenario: workloads no treaty can ever take (a GPU type no treaty
// prices, for a tenant whose allowed treaties and regions leave none, or more GPUs than any
// provider has) are reported before the run, instead of a run that reports 0 %.
import { route, type RoutableTreaty } from "../services/routing/index.ts";
import { waitingReason } from "../operator/controllers/gpuworkload/gpuworkload-status.ts";
import { WorkloadReason } from "../operator/controllers/gpuworkload/gpuworkload-reasons.ts";
import { IneligibleReason } from "../services/routing/index.ts";
import type { Scenario } from "./scenario.ts";

/**
 * Why some of the scenario's workloads can never fit, one line per kind of workload (GPU type,
 * count, tenant); empty when every kind could run under some treaty with everything healthy.
 * The router itself decides: each kind is routed over the treaties as declared.
 */
export function neverFits(s: Scenario): string[] {
  const treaties: RoutableTreaty[] = s.treaties.map((t) => ({
    metadata: { name: t.name },
    spec: {
      provider: t.provider,
      regions: t.regions,
      pricing: Object.entries(t.pricing).map(([gpuType, usdPerHour]) => ({ gpuType, usdPerHour })),
      reputationFloor: 0,
    },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  }));
  const capacity = new Map(s.providers.map((p) => [p.name, p.capacityGpus]));
  const now = new Date(s.start);
  const out: string[] = [];
  const counts = Object.keys(s.arrivals.gpuCounts ?? { "1": 1 }).map(Number);
  for (const gpuType of Object.keys(s.arrivals.gpuMix)) {
    for (const tenant of s.arrivals.tenants) {
      const d = route({
        spec: { gpu: { type: gpuType, count: 1 }, maxPricePerHour: s.arrivals.maxPricePerHour },
        tenant: { allowedTreaties: tenant.allowedTreaties, allowedRegions: tenant.allowedRegions },
        treaties,
        now,
      });
      if (d.placement === undefined) {
        const reason = waitingReason(d.candidates);
        const why =
          reason === WorkloadReason.GpuTypeNotOffered
            ? `no treaty offers gpu type ${gpuType}`
            : `no treaty is eligible: ${d.candidates.map((c) => `${c.treaty}: ${(c.codes ?? []).join(", ")}`).join("; ")}`;
        out.push(`arrivals.gpuMix.${gpuType} (tenant ${tenant.name}): ${why}`);
        continue;
      }
      const eligible = d.candidates.filter((c) => c.eligible || onlyCapacity(c.codes));
      const most = Math.max(0, ...eligible.map((c) => capacity.get(c.provider ?? "") ?? 0));
      const tooBig = counts.filter((n) => n > most);
      if (tooBig.length > 0) {
        out.push(
          `arrivals.gpuCounts ${tooBig.join(", ")} × ${gpuType} (tenant ${tenant.name}): no eligible provider has more than ${most} GPUs`,
        );
      }
    }
  }
  return out;
}

function onlyCapacity(codes: readonly string[] | undefined): boolean {
  return codes !== undefined && codes.every((c) => c === IneligibleReason.MaxConcurrentJobs);
}
