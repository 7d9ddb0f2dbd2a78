import { describe, expect, it } from "@jest/globals";
import { readFile } from "node:fs/promises";
import type { GPUWorkload } from "../crds/index.ts";
import {
  disagreements,
  liveOperatorTimings,
  livePlan,
  LivePlanError,
  liveResult,
} from "./live-plan.ts";
import { parseScenario, ScenarioSchema, type Scenario } from "./scenario.ts";

const short = async (): Promise<Scenario> =>
  parseScenario(
    await readFile("wargame/live-scenarios/live-short.yaml", "utf8"),
    "live-short.yaml",
  );

type Att = NonNullable<NonNullable<GPUWorkload["status"]>["attempts"]>[number];
const att = (attempt: number, treaty: string, outcome: Att["outcome"]): Att =>
  ({ attempt, treaty, outcome }) as Att;
const wl = (attempts: Att[], done = true): Pick<GPUWorkload, "status"> => ({
  status: { attempts, ...(done ? { completionTime: "2026-12-03T08:10:00Z" } : {}) },
});

describe("livePlan", () => {
  it("compresses arrivals, job times and the outage window", async () => {
    const s = await short();
    const p = livePlan(s, 60);
    expect(p.arrivals).toHaveLength(48);
    // One simulated minute is one wall second.
    const akash = p.faults.filter((f) => f.provider === "akash");
    expect(akash.map((f) => [f.atWallMs, f.faults.down ?? false])).toEqual([
      [0, false],
      [12_000, true],
      [20_000, false],
    ]);
    expect(p.providers).toEqual([
      { name: "akash", queuedMs: 500, runningMs: 4000, capacityGpus: 40 },
      { name: "ionet", queuedMs: 500, runningMs: 4000, capacityGpus: 40 },
    ]);
    const times = p.arrivals.map((a) => a.atWallMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(p.durationWallMs).toBe(times.at(-1)! + 10_000);
    // Every operator timing on the compressed clock too, the work queue's back-off included.
    expect(liveOperatorTimings(s, 20)).toEqual({
      probeIntervalMs: 1500,
      unschedulableTimeoutMs: 3000,
      retryBackoffMs: 3000,
      providerPollMs: 100,
      queueBackoff: { baseDelayMs: 5, maxDelayMs: 3000 },
    });
  });

  it("refuses what live mode cannot play, naming each field", async () => {
    const base = await short();
    const s = ScenarioSchema.parse({
      ...base,
      providers: [...base.providers, { name: "in-cluster", capacityGpus: 4 }],
      arrivals: { ...base.arrivals, runtimeMinutes: { mean: 4, min: 1, max: 9 } },
      events: [
        { kind: "priceSpike", atMinute: 1, durationMinutes: 2, provider: "akash", factor: 3 },
      ],
    });
    expect(() => livePlan(s, 60)).toThrow(LivePlanError);
    expect(() => livePlan(s, 60)).toThrow(
      /providers\[2\]\.name.*events\[0\]\.kind.*runtimeMinutes/,
    );
    expect(() => livePlan(base, 0)).toThrow(/compression/);
  });
});

describe("liveResult and disagreements", () => {
  it("counts fill rate with the KPI's definition and failovers as abandoned attempts", async () => {
    const s = await short();
    const r = liveResult(s, "cheapest", [
      wl([att(1, "a", "Abandoned"), att(2, "b", "Succeeded")]),
      wl([att(1, "a", "Succeeded")]),
      wl([att(1, "b", "Failed")]),
      wl([att(1, "a", "Running")], false),
    ]);
    expect(r).toMatchObject({
      fillRate: 0.8,
      failovers: 1,
      succeeded: 2,
      failed: 1,
      stuck: 1,
      perTreaty: { a: { routed: 3, placed: 2 }, b: { routed: 2, placed: 2, fillRate: 1 } },
    });
  });

  it("agrees within the tolerance and names what does not", () => {
    const fast = { fillRate: 0.8727, failovers: 7, workloads: 48 };
    // Two workloads off (48 / 57, 9 failovers): within; three (48 / 52, 4 failovers): outside.
    expect(disagreements(fast, { fillRate: 0.8421, failovers: 9, stuck: 0 })).toEqual([]);
    expect(disagreements(fast, { fillRate: 0.9231, failovers: 4, stuck: 0 })).toEqual([
      expect.stringMatching(/^fillRate: fast 0.8727, live 0.9231 \(tolerance 0.04\)/),
      expect.stringMatching(/^failovers: fast 7, live 4 \(tolerance 2\)/),
    ]);
    expect(disagreements(fast, { fillRate: 0.7, failovers: 20, stuck: 1 })).toEqual([
      expect.stringMatching(/^fillRate/),
      expect.stringMatching(/^failovers: fast 7, live 20 \(tolerance 2\)/),
      expect.stringMatching(/^stuck/),
    ]);
  });
});
