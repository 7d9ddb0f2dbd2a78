// Router throughput: routing decisions per second over 100 treaties (goal ≥ 100k/s on one
// core). Treaties and workloads are generated from a fixed seed with a realistic mix of
// eligible and ineligible treaties, so every run measures the same work. Three ways of
// passing treaties are measured (`scenarios`), each with a RouterMemo passed to every call (as
// the operator does) and without one (`scenariosWithoutMemo`: nothing remembered between
// decisions); the headline figure is `sameArray` with a memo. Wall and CPU time are both
// reported: on a shared machine the wall figure includes time descheduled.
// Prints JSON.   npm run bench:routing [-- --seconds 2 --treaties 100]   (seconds per scenario)
import os from "node:os";
import { parseArgs } from "node:util";
import {
  route,
  RouterMemo,
  type RoutableSpec,
  type RoutableTreaty,
  type RouteInput,
} from "../services/routing/index.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    treaties: { type: "string", default: "100" },
  },
});
const SECONDS = Number(values.seconds);
const TREATIES = Number(values.treaties);

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const subset = <T>(xs: readonly T[], min: number): T[] => {
  const out = xs.filter(() => rnd() < 0.5);
  return out.length >= min ? out : xs.slice(0, min);
};

const PROVIDERS = ["akash", "ionet", "render", "flux", "vastai", "salad", "aethir", "in-cluster"];
const REGIONS = ["us-west", "us-east", "eu-west", "eu-central", "ap-south"];
const GPUS = ["t4", "l4", "a10g", "l40s", "a100-80gb", "h100", "h200"];

function treaty(i: number): RoutableTreaty {
  const provider = pick(PROVIDERS);
  const r = rnd();
  const ready = r < 0.9 ? "True" : "False";
  const maxJobs = 20 + Math.floor(rnd() * 80);
  return {
    metadata: {
      name: `treaty-${String(i).padStart(3, "0")}-${provider}`,
      resourceVersion: String(1000 + i),
    },
    spec: {
      provider,
      regions: subset(REGIONS, 1),
      pricing: subset(GPUS, 2).map((gpuType) => ({
        gpuType,
        usdPerHour: Math.round((0.3 + rnd() * 4) * 100) / 100,
      })),
      slo: { availability: 0.99, maxLatencyMs: 150 },
      quotas: { maxConcurrentJobs: maxJobs, maxGpuHoursPerMonth: 10_000 },
      reputationFloor: 0.5 + rnd() * 0.3,
      effectiveDate: "2025-01-01",
      expiryDate: rnd() < 0.05 ? "2025-06-01" : "2027-01-01",
      suspended: rnd() < 0.05,
    },
    status: {
      conditions: [
        { type: "Ready", status: ready, reason: ready === "True" ? "InForce" : "ProbeFailed" },
        { type: "Degraded", status: rnd() < 0.05 ? "True" : "False", reason: "SloMet" },
        { type: "Expired", status: "False", reason: "InForce" },
      ],
      reputation: 0.55 + rnd() * 0.45,
      availability: 0.95 + rnd() * 0.05,
      latencyMs: provider === "in-cluster" ? 2 : 20 + rnd() * 380,
      activeJobs: Math.floor(rnd() * maxJobs * 1.05),
      gpuHoursThisPeriod: rnd() * 10_500,
    },
  };
}

const treaties = Array.from({ length: TREATIES }, (_, i) => treaty(i));
const strategies = ["balanced", "cheapest", "fastest"] as const;
const profiles = ["batch", "steady", "bursty"] as const;
const workloads: RoutableSpec[] = Array.from({ length: 27 }, (_, i) => ({
  gpu: { type: pick(GPUS), count: 1 + (i % 4) },
  ...(i % 3 === 0 ? {} : { regions: subset(REGIONS, 1) }),
  ...(i % 4 === 0 ? { maxPricePerHour: 2.5 } : {}),
  routing: {
    strategy: strategies[i % 3]!,
    ...(i % 5 === 0 ? { allowedProviders: ["akash", "ionet", "in-cluster"] } : {}),
  },
  profile: profiles[Math.floor(i / 3) % 3]!,
}));
const tenant = { allowedRegions: ["us-west", "us-east", "eu-west", "eu-central"] };
const now = new Date("2026-03-01T12:00:00Z");

// What the decisions look like (once per workload variant, outside the timed loop).
let eligibleTotal = 0;
let chosenTotal = 0;
for (const spec of workloads) {
  const d = route({ spec, tenant, treaties, now });
  if (d.chosen !== undefined) chosenTotal++;
  for (const c of d.candidates) if (c.eligible) eligibleTotal++;
}

// How callers hand treaties to route(): the fast path is the same array of informer objects;
// a fresh array of the same objects with live usage in `usage` is what a controller listing its
// cache per decision does; copying treaties to patch their status defeats the memo.
const usage = new Map(treaties.map((t, i) => [t.metadata.name ?? "", { activeJobs: i % 7 }]));
type Scenario = "sameArray" | "listPerDecisionWithUsage" | "copiesPerDecision";
const SCENARIOS: Record<Scenario, (spec: RoutableSpec) => RouteInput> = {
  sameArray: (spec) => ({ spec, tenant, treaties, now }),
  listPerDecisionWithUsage: (spec) => ({ spec, tenant, treaties: treaties.slice(), now, usage }),
  copiesPerDecision: (spec) => ({
    spec,
    tenant,
    treaties: treaties.map((t, i) => ({ ...t, status: { ...t.status, activeJobs: i % 7 } })),
    now,
  }),
};

let sink = 0;

/**
 * Runs one scenario for `seconds`, in timed batches (per-batch means give the spread), with a
 * new RouterMemo passed to every decision, or with none.
 */
function measure(scenario: Scenario, seconds: number, withMemo: boolean): Record<string, unknown> {
  const make = SCENARIOS[scenario];
  const memo = withMemo ? new RouterMemo() : undefined;
  const once = (k: number): void => {
    sink += route(make(workloads[k % workloads.length]!), memo).candidates.length;
  };
  for (let k = 0; k < 5_000; k++) once(k);
  const BATCH = 100;
  const batchNs: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let decisions = 0;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < BATCH; j++) once(decisions + j);
    const t1 = process.hrtime.bigint();
    decisions += BATCH;
    batchNs.push(Number(t1 - t0) / BATCH);
    if (t1 >= deadline) break;
  }
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // CPU time of this process: on a shared machine wall time also counts time descheduled.
  const cpuS = (cpu.user + cpu.system) / 1e6;
  batchNs.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(batchNs[Math.floor(p * (batchNs.length - 1))]!);
  return {
    decisions,
    seconds: Math.round(elapsedS * 1000) / 1000,
    cpuSeconds: Math.round(cpuS * 1000) / 1000,
    decisionsPerSecond: Math.round(decisions / elapsedS),
    decisionsPerCpuSecond: Math.round(decisions / cpuS),
    nsPerDecision: { mean: Math.round((elapsedS * 1e9) / decisions), p50: q(0.5), p99: q(0.99) },
  };
}

// With and without a memo back to back per scenario, so both see the same machine load.
const results: Record<string, unknown> = {};
const withoutMemo: Record<string, unknown> = {};
for (const s of Object.keys(SCENARIOS) as Scenario[]) {
  results[s] = measure(s, SECONDS, true);
  withoutMemo[s] = measure(s, SECONDS, false);
}
const main = results.sameArray as { decisionsPerSecond: number; decisionsPerCpuSecond: number };

console.log(
  JSON.stringify(
    {
      benchmark: "routing",
      node: process.version,
      cpus: os.availableParallelism(),
      loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
      treaties: TREATIES,
      workloadVariants: workloads.length,
      eligiblePerDecision: Math.round((eligibleTotal / workloads.length) * 10) / 10,
      chosenShare: Math.round((chosenTotal / workloads.length) * 1000) / 1000,
      goalDecisionsPerSecond: 100_000,
      decisionsPerSecond: main.decisionsPerSecond,
      decisionsPerCpuSecond: main.decisionsPerCpuSecond,
      scenarios: results,
      scenariosWithoutMemo: withoutMemo,
      checksum: sink % 1_000_003,
    },
    null,
    2,
  ),
);
