// The in-cluster pool's node sizes: which nodes belong to a pool, the largest GPU count one
// holds, and route()'s ExceedsLargestNode verdict for a workload bigger than any of them.
import { describe, expect, it } from "@jest/globals";
import {
  IneligibleReason as R,
  largestNodeGpus,
  poolNodeChanged,
  poolNodeOf,
  route,
  RouterMemo,
  type PoolNode,
  type RoutableInClusterPool,
  type RoutableTreaty,
  type RouteInput,
} from "./index.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const POOL: RoutableInClusterPool = { nodeSelector: { role: "gpu" }, gpuTypeLabel: "gpu-type" };

/** A node with `labels` and `gpus` allocatable nvidia.com/gpu (none when undefined). */
function node(name: string, labels: Record<string, string>, gpus?: string): PoolNode {
  return {
    metadata: { name, labels },
    status: {
      allocatable: { cpu: "16", ...(gpus === undefined ? {} : { "nvidia.com/gpu": gpus }) },
    },
  };
}
const gpuNode = (name: string, gpus: string, type = "a10g"): PoolNode =>
  node(name, { role: "gpu", "gpu-type": type }, gpus);

describe("largestNodeGpus", () => {
  it.each<[string, PoolNode[], RoutableInClusterPool, number | undefined]>([
    ["no nodes: not judged", [], POOL, undefined],
    ["the largest of the pool", [gpuNode("a", "4"), gpuNode("b", "8"), gpuNode("c", "2")], POOL, 8],
    ["nodes of another GPU type only: not judged", [gpuNode("a", "8", "h100")], POOL, undefined],
    [
      "a node outside the pool is not counted",
      [node("x", { "gpu-type": "a10g" }, "8")],
      POOL,
      undefined,
    ],
    [
      "a bigger node outside the pool does not count",
      [gpuNode("a", "4"), node("x", { role: "cpu", "gpu-type": "a10g" }, "8")],
      POOL,
      4,
    ],
    [
      "a pool node without the resource holds 0",
      [node("a", { role: "gpu", "gpu-type": "a10g" })],
      POOL,
      0,
    ],
    ["a quantity that is not a whole number is unbounded", [gpuNode("a", "1k")], POOL, Infinity],
    [
      "the treaty's own GPU resource name",
      [
        {
          metadata: { labels: { role: "gpu", "gpu-type": "a10g" } },
          status: { allocatable: { "nvidia.com/gpu": "8", "amd.com/gpu": "2" } },
        },
      ],
      { ...POOL, gpuResourceName: "amd.com/gpu" },
      2,
    ],
    [
      "every selector label must match",
      [node("a", { role: "gpu", zone: "b", "gpu-type": "a10g" }, "4"), gpuNode("b", "8")],
      { ...POOL, nodeSelector: { role: "gpu", zone: "b" } },
      4,
    ],
  ])("%s", (_what, nodes, pool, want) => {
    expect(largestNodeGpus(nodes, pool, "a10g")).toBe(want);
  });

  it.each<[string, PoolNode, PoolNode | undefined, boolean]>([
    ["a new node", gpuNode("a", "4"), undefined, true],
    ["the same labels and allocatable", gpuNode("a", "4"), gpuNode("a", "4"), false],
    ["allocatable GPUs changed", gpuNode("a", "8"), gpuNode("a", "4"), true],
    ["the GPU type label changed", gpuNode("a", "4", "h100"), gpuNode("a", "4"), true],
    [
      "a label added",
      node("a", { role: "gpu", "gpu-type": "a10g", x: "y" }, "4"),
      gpuNode("a", "4"),
      true,
    ],
  ])("poolNodeChanged: %s → %s", (_what, n, old, want) => {
    expect(poolNodeChanged(n, old)).toBe(want);
  });

  it("keeps only name, labels and allocatable of a cached Node", () => {
    const full = {
      metadata: { name: "n", labels: { role: "gpu" }, annotations: { a: "b" } },
      spec: { taints: [] },
      status: { allocatable: { "nvidia.com/gpu": "4" }, conditions: [{ type: "Ready" }] },
    };
    expect(poolNodeOf(full)).toEqual({
      metadata: { name: "n", labels: { role: "gpu" } },
      status: { allocatable: { "nvidia.com/gpu": "4" } },
    });
  });
});

/** A Ready in-cluster treaty over POOL at $0.60/a10g-hour. */
function inCluster(name: string, extra: Partial<RoutableTreaty["spec"]> = {}): RoutableTreaty {
  return {
    metadata: { name, resourceVersion: "1" },
    spec: {
      provider: "in-cluster",
      regions: ["local"],
      pricing: [{ gpuType: "a10g", usdPerHour: 0.6 }],
      inCluster: POOL,
      ...extra,
    },
    status: { conditions: [{ type: "Ready", status: "True" }], reputation: 0.9 },
  };
}
const external: RoutableTreaty = {
  metadata: { name: "ext", resourceVersion: "1" },
  spec: { provider: "akash", regions: ["us-east"], pricing: [{ gpuType: "a10g", usdPerHour: 1 }] },
  status: { conditions: [{ type: "Ready", status: "True" }], reputation: 0.9 },
};
const FOURS = [gpuNode("gpu-1", "4"), gpuNode("gpu-2", "4")];
const TOO_BIG =
  "gpu.count 8 exceeds the largest a10g node of the pool (4 nvidia.com/gpu allocatable)";

describe("route: the in-cluster pool's largest node", () => {
  it.each<[string, Partial<RouteInput>, number, string[] | undefined, R[] | undefined]>([
    ["8 GPUs on nodes of 4", { nodes: FOURS }, 8, [TOO_BIG], [R.ExceedsLargestNode]],
    ["4 GPUs on nodes of 4", { nodes: FOURS }, 4, undefined, undefined],
    [
      "8 GPUs when a node of 8 joins",
      { nodes: [...FOURS, gpuNode("gpu-3", "8")] },
      8,
      undefined,
      undefined,
    ],
    ["8 GPUs without nodes given (not judged)", {}, 8, undefined, undefined],
    ["8 GPUs on an empty pool (not judged)", { nodes: [] }, 8, undefined, undefined],
    [
      "8 GPUs on a suspended treaty: both reasons",
      { treaties: [inCluster("pool", { suspended: true })], nodes: FOURS },
      8,
      ["treaty suspended", TOO_BIG],
      [R.Suspended, R.ExceedsLargestNode],
    ],
    [
      "8 GPUs on a full treaty: quota, then size",
      {
        treaties: [inCluster("pool", { quotas: { maxConcurrentJobs: 1 } })],
        usage: new Map([["pool", { activeJobs: 1 }]]),
        nodes: FOURS,
      },
      8,
      ["treaty at maxConcurrentJobs 1/1", TOO_BIG],
      [R.MaxConcurrentJobs, R.ExceedsLargestNode],
    ],
  ])("%s", (_what, more, count, wantReasons, wantCodes) => {
    const i: RouteInput = {
      spec: { gpu: { type: "a10g", count } },
      treaties: [inCluster("pool")],
      now: NOW,
      ...more,
    };
    // The same verdict with a memo (twice: memoized the second time) and without.
    const memo = new RouterMemo();
    for (const d of [route(i), route(i, memo), route(i, memo)]) {
      const c = d.candidates.find((x) => x.treaty === "pool");
      expect(c?.eligible ? undefined : c?.reasons).toEqual(wantReasons);
      expect(c?.eligible ? undefined : c?.codes).toEqual(wantCodes);
    }
  });

  it("routes an 8-GPU workload to an external treaty instead, and never judges one by nodes", () => {
    const d = route(
      {
        spec: { gpu: { type: "a10g", count: 8 } },
        treaties: [inCluster("pool"), external],
        now: NOW,
        nodes: FOURS,
      },
      new RouterMemo(),
    );
    expect(d.chosen?.treaty).toBe("ext");
    expect(d.candidates.map((c) => [c.treaty, c.eligible, c.codes])).toEqual([
      ["ext", true, undefined],
      ["pool", false, [R.ExceedsLargestNode]],
    ]);
  });
});

describe("RouterMemo.largestNodeGpus", () => {
  it("answers as largestNodeGpus while nodes are replaced, added and removed", () => {
    const memo = new RouterMemo();
    const other: RoutableInClusterPool = { ...POOL };
    const a = gpuNode("a", "4");
    const b = gpuNode("b", "2");
    const steps: PoolNode[][] = [
      [a, b],
      [a, b], // a new array of the same nodes
      [a, gpuNode("b", "8")], // b replaced by a bigger version
      [a],
      [],
      [a, gpuNode("c", "16", "h100")],
    ];
    for (const nodes of steps) {
      for (const pool of [POOL, other]) {
        for (const type of ["a10g", "h100"]) {
          expect(memo.largestNodeGpus(nodes, pool, type)).toBe(largestNodeGpus(nodes, pool, type));
        }
      }
    }
  });
});
