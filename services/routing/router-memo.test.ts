// route() with a RouterMemo memoizes per treaty version, per snapshot of the treaties, per
// workload shape and per scoring context. These tests compare memoized answers with ones
// computed from scratch (route() without a memo) while treaties, usage and workloads change,
// and check that a memo is the only place anything is remembered.
import { beforeEach, describe, expect, it } from "@jest/globals";
import {
  route,
  RouterMemo,
  type RoutableSpec,
  type RoutableTreaty,
  type RouteInput,
} from "./index.ts";
import { treaty as treatyBuilder } from "../../test/builders/objects.ts";

const NOW = new Date("2026-03-01T12:00:00Z");

/** A Ready akash treaty in us-east at `usd` per a10g-hour; resourceVersion `rv`. */
function treaty(name: string, usd: number, rv: string, activeJobs = 0): RoutableTreaty {
  return treatyBuilder(name)
    .resourceVersion(rv)
    .provider("akash")
    .regions("us-east")
    .pricing({ gpuType: "a10g", usdPerHour: usd })
    .quotas({ maxConcurrentJobs: 10 })
    .ready()
    .status({ reputation: 0.9, availability: 0.99, latencyMs: 50 + usd * 10, activeJobs })
    .obj();
}

/** The decision computed from scratch: no memo, and copies of the treaties. */
function fresh(i: RouteInput): ReturnType<typeof route> {
  return route({
    ...i,
    treaties: i.treaties.map((t) => ({ ...t, metadata: { name: t.metadata.name } })),
  });
}

const A10G: RoutableSpec = { gpu: { type: "a10g", count: 1 } };

describe("route: memoized decisions", () => {
  let memo = new RouterMemo();
  beforeEach(() => {
    memo = new RouterMemo();
  });

  it("re-derives a treaty replaced by a new resourceVersion in the same array", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1")];
    const i: RouteInput = { spec: A10G, treaties, now: NOW };
    for (let k = 0; k < 3; k++) expect(route(i, memo).chosen?.treaty).toBe("a");
    treaties[0] = treaty("a", 3, "2");
    const d = route(i, memo);
    expect(d.chosen?.treaty).toBe("b");
    expect(d.candidates.find((c) => c.treaty === "a")?.reasons?.[0]).toMatch(/^price \$3\.00\/h/);
    expect(d).toEqual(fresh(i));
  });

  it("follows live usage over a quota from decision to decision", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1", 10)];
    const reasonsOfB = (usage?: Map<string, { activeJobs: number }>): unknown =>
      route({ spec: A10G, treaties, now: NOW, usage }, memo).candidates.find(
        (c) => c.treaty === "b",
      )?.reasons;
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
    // More workload shapes than a memo remembers (MAX_SHAPES), to cross its epochs.
    for (let k = 0; k < 600; k++) {
      const spec: RoutableSpec = {
        ...A10G,
        maxPricePerHour: 0.75 + (k % 300) / 100,
        routing: { strategy: strategies[k % 3]! },
        profile: profiles[Math.floor(k / 3) % 3]!,
      };
      const usage = k % 7 === 0 ? new Map([["t1", { activeJobs: 10 + (k % 3) }]]) : undefined;
      const i: RouteInput = { spec, treaties, now: NOW, usage };
      expect(route(i, memo)).toEqual(fresh(i));
    }
  });

  it("shares frozen eligible candidates between decisions", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1")];
    const i: RouteInput = { spec: A10G, treaties, now: NOW };
    route(i, memo); // memoizes from the second decision that sees the same treaty versions
    const first = route(i, memo);
    const second = route(i, memo);
    expect(second.chosen).toBe(first.chosen);
    expect(second.candidates).not.toBe(first.candidates);
    expect(Object.isFrozen(first.chosen) && Object.isFrozen(first.chosen?.reasons)).toBe(true);
    expect(() => first.chosen?.reasons?.push("x")).toThrow(TypeError);
    first.candidates.pop();
    expect(route(i, memo).candidates).toHaveLength(2);
  });

  it("remembers nothing without a memo, and nothing across memos", () => {
    const treaties = [treaty("a", 1, "1"), treaty("b", 2, "1")];
    const i: RouteInput = { spec: A10G, treaties, now: NOW };
    // Without a memo every call builds its candidates anew (nothing is shared or frozen).
    const bare = [route(i), route(i), route(i)];
    expect(bare[2]?.chosen).not.toBe(bare[1]?.chosen);
    expect(Object.isFrozen(bare[2]?.chosen)).toBe(false);
    // A memo shares from its second decision on; another memo shares nothing with it.
    for (let k = 0; k < 3; k++) route(i, memo);
    const other = new RouterMemo();
    const [m1, m2, o1] = [route(i, memo), route(i, memo), route(i, other)];
    expect(m2.chosen).toBe(m1.chosen);
    expect(o1.chosen).not.toBe(m1.chosen);
    expect(o1).toEqual(m1);
    expect(memo.decisions).toBe(5);
    expect(other.decisions).toBe(1);
  });

  it("keeps region bits per memo: a memo past MAX_REGION_BITS names still routes exactly", () => {
    const many = Array.from({ length: 40 }, (_, k) => {
      const t = treaty(`r${k}`, 1 + k / 100, "1");
      return { ...t, spec: { ...t.spec, regions: [`region-${k}`] } };
    });
    for (let k = 0; k < 40; k += 7) {
      const i: RouteInput = {
        spec: { ...A10G, regions: [`region-${k}`] },
        treaties: many,
        now: NOW,
      };
      expect(route(i, memo)).toEqual(fresh(i));
      expect(route(i, memo).chosen?.treaty).toBe(`r${k}`);
    }
  });
});
