import { describe, expect, it } from "@jest/globals";
import { TREATY_PROBE_MAX_CONCURRENT_JOBS } from "../../crds/constants.ts";
import { IneligibleReason, route, type RoutableTreaty } from "./index.ts";
import { probing } from "./treaty-facts.ts";
import { treaty } from "../../test/builders/objects.ts";

const NOW = new Date("2026-03-01T12:00:00Z");

/** A Ready akash treaty whose Degraded condition is False with `reason`. */
function akash(reason: string, maxConcurrentJobs = 10): RoutableTreaty {
  const t = treaty("akash-us")
    .provider("akash")
    .regions("us-east")
    .pricing({ gpuType: "a10g", usdPerHour: 1 })
    .quotas({ maxConcurrentJobs })
    .ready()
    .obj();
  const conditions = t.status!.conditions!.map((c) =>
    c.type === "Degraded" ? { ...c, reason } : c,
  );
  return { ...t, status: { ...t.status, conditions, reputation: 0.95 } };
}

const decide = (t: RoutableTreaty, activeJobs: number) =>
  route({
    spec: { gpu: { type: "a10g", count: 1 } },
    treaties: [t],
    now: NOW,
    usage: new Map([["akash-us", { activeJobs, gpuHoursThisPeriod: 0 }]]),
  }).candidates[0]!;

describe("a half-open (Probing) treaty", () => {
  it.each([
    { name: "within SLO, 5 jobs running", reason: "WithinSLO", active: 5, quota: 10, want: true },
    { name: "probing, 1 probe running", reason: "Probing", active: 1, quota: 10, want: true },
    { name: "probing, 2 probes running", reason: "Probing", active: 2, quota: 10, want: false },
    { name: "probing under a smaller quota", reason: "Probing", active: 1, quota: 1, want: false },
    { name: "recovered, 5 jobs running", reason: "Recovered", active: 5, quota: 10, want: true },
  ])("$name → eligible $want", ({ reason, active, quota, want }) => {
    const c = decide(akash(reason, quota), active);
    expect(c.eligible).toBe(want);
    if (!want) expect(c.codes).toEqual([IneligibleReason.MaxConcurrentJobs]);
  });

  it("takes at most TREATY_PROBE_MAX_CONCURRENT_JOBS jobs", () => {
    expect(TREATY_PROBE_MAX_CONCURRENT_JOBS).toBe(2);
    expect(probing(akash("Probing"))).toBe(true);
    expect(probing(akash("WithinSLO"))).toBe(false);
  });
});
