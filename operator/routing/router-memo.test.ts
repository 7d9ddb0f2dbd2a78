// route() memoizes per treaty version, per snapshot of the treaties, per workload shape and per
// scoring context. These tests compare memoized answers with ones computed from scratch
// (treaties without a resourceVersion are never memoized) while treaties, usage and workloads
// change.
import { describe, expect, it } from "@jest/globals";
import { route, type RoutableSpec, type RoutableTreaty, type RouteInput } from "./index.ts";

const NOW = new Date("2026-03-01T12:00:00Z");

/** A Ready akash treaty in us-east at `usd` per a10g-hour; resourceVersion `rv`. */
function treaty(name: string, usd: number, rv: string, activeJobs = 0): RoutableTreaty {
  return {
    metadata: { name, resourceVersion: rv },
    spec: {
      provider: "akash",
      regions: ["us-east"],
      pricing: [{ gpuType: "a10g", usdPerHour: usd }],
      quotas: { maxConcurrentJobs: 10 },
    },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      reputation: 0.9,
      availability: 0.99,
      latencyMs: 50 + usd * 10,
      activeJobs,
    },
  };
}

/** The same input with copies of the treaties that are never memoized. */
function fresh(i: RouteInput): RouteInput {
  return { ...i, treaties: i.treaties.map((t) => ({ ...t, metadata: { name: t.metadata.name } })) };
}

const A10G: RoutableSpec = { gpu: { type: "a10g", count: 1 } };

describe("route: memoized decisions", () => {
  it("re-derives a treaty replaced by a new resourceVersion in the same array", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1")];
    const i: RouteInput = { spec: A10G, treaties, now: NOW };
    for (let k = 0; k < 3; k++) expect(route(i).chosen?.treaty).toBe("a");
    treaties[0] = treaty("a", 3, "2");
    const d = route(i);
    expect(d.chosen?.treaty).toBe("b");
    expect(d.candidates.find((c) => c.treaty === "a")?.reasons?.[0]).toMatch(/^price \$3\.00\/h/);
    expect(d).toEqual(route(fresh(i)));
  });

  it("follows live usage over a quota from decision to decision", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1", 10)];
    const reasonsOfB = (usage?: Map<string, { activeJobs: number }>): unknown =>
      route({ spec: A10G, treaties, now: NOW, usage }).candidates.find((c) => c.treaty === "b")
        ?.reasons;
    expect(reasonsOfB()).toEqual(["treaty at maxConcurrentJobs 10/10"]);
    expect(reasonsOfB(new Map([["b", { activeJobs: 11 }]]))).toEqual([
      "treaty at maxConcurrentJobs 11/10",
    ]);
    expect(reasonsOfB(new Map([["b", { activeJobs: 12 }]]))).toEqual([
      "treaty at maxConcurrentJobs 12/10",
    ]);
    expect(reasonsOfB(new Map([["b", { activeJobs: 3 }]]))?.toString()).toMatch(/^price/);
    expect(reasonsOfB()).toEqual(["treaty at maxConcurrentJobs 10/10"]);
  });

  it("gives the same answers as from scratch across many shapes, strategies and usages", () => {
    const treaties = Array.from({ length: 12 }, (_, k) =>
      treaty(`t${k}`, 0.5 + (k % 5) * 0.25, "1", k % 4 === 0 ? 10 : 0),
    );
    const strategies = ["balanced", "cheapest", "fastest"] as const;
    const profiles = ["batch", "steady", "bursty"] as const;
    // More workload shapes than route() remembers (SHAPE_IDS), to cross its epochs.
    for (let k = 0; k < 600; k++) {
      const spec: RoutableSpec = {
        ...A10G,
        maxPricePerHour: 0.75 + (k % 300) / 100,
        routing: { strategy: strategies[k % 3]! },
        profile: profiles[Math.floor(k / 3) % 3]!,
      };
      const usage = k % 7 === 0 ? new Map([["t1", { activeJobs: 10 + (k % 3) }]]) : undefined;
      const i: RouteInput = { spec, treaties, now: NOW, usage };
      expect(route(i)).toEqual(route(fresh(i)));
    }
  });

  it("shares frozen eligible candidates between decisions", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1")];
    const i: RouteInput = { spec: A10G, treaties, now: NOW };
    route(i); // memoizes from the second decision that sees the same treaty versions
    const first = route(i);
    const second = route(i);
    expect(second.chosen).toBe(first.chosen);
    expect(second.candidates).not.toBe(first.candidates);
    expect(Object.isFrozen(first.chosen) && Object.isFrozen(first.chosen?.reasons)).toBe(true);
    expect(() => first.chosen?.reasons?.push("x")).toThrow(TypeError);
    first.candidates.pop();
    expect(route(i).candidates).toHaveLength(2);
  });
});
