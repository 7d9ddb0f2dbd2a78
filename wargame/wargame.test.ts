import { describe, expect, it } from "@jest/globals";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { EXIT, main, parseCompare } from "./cli.ts";
import type { GPUWorkload } from "../crds/index.ts";
import { runScenario } from "./engine.ts";
import { lostWorkloads } from "./results.ts";
import { neverFits } from "./feasibility.ts";
import { parseScenario, ScenarioError, ScenarioSchema, type Scenario } from "./scenario.ts";

/** A small scenario: the cluster's pool and two providers, 300 workloads in about an hour. */
function small(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "small",
    seed: 7,
    drainMinutes: 240,
    providers: [
      { name: "in-cluster", capacityGpus: 8, startSeconds: 10, latencyMs: 2 },
      { name: "akash", capacityGpus: 40, startSeconds: 30, latencyMs: 100 },
      { name: "render", capacityGpus: 40, startSeconds: 20, latencyMs: 40 },
    ],
    treaties: [
      {
        name: "core",
        provider: "in-cluster",
        regions: ["us-west"],
        pricing: { "a100-80gb": 1.1 },
        quotas: { maxConcurrentJobs: 6 },
      },
      {
        name: "akash-us",
        provider: "akash",
        regions: ["us-west"],
        pricing: { "a100-80gb": 0.9 },
        slo: { availability: 0.95, maxProvisionTimeSeconds: 300 },
        quotas: { maxConcurrentJobs: 20 },
        reputationFloor: 0.5,
        history: { completions: 20, failures: 0 },
      },
      {
        name: "render-eu",
        provider: "render",
        regions: ["eu-west"],
        pricing: { "a100-80gb": 1.8 },
        slo: { availability: 0.95 },
        quotas: { maxConcurrentJobs: 20 },
      },
    ],
    arrivals: {
      workloads: 300,
      rate: [{ fromMinute: 0, perMinute: 5 }],
      gpuMix: { "a100-80gb": 1 },
      runtimeMinutes: { mean: 5 },
      tenants: [{ name: "acme", weight: 1 }],
    },
    ...over,
  };
}

const scenario = (over: Record<string, unknown> = {}): Scenario =>
  ScenarioSchema.parse(small(over));

describe("parseScenario", () => {
  it("parses every shipped scenario", async () => {
    const dir = path.join(import.meta.dirname, "scenarios");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml"));
    const wantShipped = [
      "baseline.yaml",
      "outage.yaml",
      "price-spike.yaml",
      "reputation-shock.yaml",
    ];
    expect(files).toEqual(expect.arrayContaining(wantShipped));
    for (const f of files) {
      const s = parseScenario(await readFile(path.join(dir, f), "utf8"), f);
      expect(s.arrivals.workloads).toBeGreaterThanOrEqual(10_000);
      expect(neverFits(s)).toEqual([]);
    }
  });

  it.each([
    [
      "a price that is not a number",
      { treaties: [{ ...(small().treaties as object[])[0]!, pricing: { h100: "cheap" } }] },
      "treaties[0].pricing.h100: Invalid input: expected number, received string",
    ],
    [
      "an event naming an unknown provider",
      { events: [{ kind: "outage", atMinute: 5, durationMinutes: 10, provider: "nope" }] },
      "events[0].provider: provider nope is not in providers",
    ],
    [
      "an unknown event kind",
      { events: [{ kind: "meteor", atMinute: 5 }] },
      "events[0].kind: Invalid discriminator value. Expected 'outage' | 'priceSpike'",
    ],
    [
      "an unknown field",
      { arrivals: { ...(small().arrivals as object), rate2: 3 } },
      'arrivals: Unrecognized key: "rate2"',
    ],
  ])("names the path of %s", (_what, over, wantProblem) => {
    let err: unknown;
    try {
      parseScenario(stringify(small(over)), "bad.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    const problems = (err as ScenarioError).problems;
    expect(problems.some((p) => p.startsWith(wantProblem))).toBe(true);
  });
});

describe("neverFits", () => {
  it("says up front that no treaty offers a GPU type", () => {
    const s = scenario({
      arrivals: { ...(small().arrivals as object), gpuMix: { "a100-80gb": 1, t4: 1 } },
    });
    expect(neverFits(s)).toEqual([
      "arrivals.gpuMix.t4 (tenant acme): no treaty offers gpu type t4",
    ]);
  });

  it("says up front that a GPU count exceeds every provider", () => {
    const s = scenario({
      arrivals: { ...(small().arrivals as object), gpuCounts: { "1": 1, "64": 1 } },
    });
    expect(neverFits(s)).toEqual([
      "arrivals.gpuCounts 64 × a100-80gb (tenant acme): no eligible provider has more than 40 GPUs",
    ]);
  });
});

describe("runScenario", () => {
  it("is deterministic for a seed", async () => {
    const a = await runScenario(scenario());
    const b = await runScenario(scenario());
    const c = await runScenario(scenario({ seed: 8 }));
    expect(b).toEqual(a);
    expect(c.series).not.toEqual(a.series);
    expect(a.workloads).toBe(300);
    expect(a.lost).toBe(0);
    expect(a.stuck).toBe(0);
    expect(a.succeeded + a.failed).toBe(300);
  });

  it("routes around a provider that is down, loses the jobs running there, probes it back", async () => {
    const r = await runScenario(
      scenario({
        strategy: "cheapest",
        events: [
          {
            kind: "outage",
            atMinute: 10,
            durationMinutes: 20,
            provider: "akash",
            killsRunning: true,
          },
        ],
      }),
    );
    expect(r.failed).toBeGreaterThan(0); // jobs running at akash were lost
    expect(r.perTreaty["render-eu"]!.routed).toBeGreaterThan(0);
    // The lost jobs breach akash's availability SLO once it answers again (minute 30), long
    // after they failed: it is probed at once and recovers (ADR 0134), the cheapest again.
    expect(r.perTreaty["akash-us"]!.ready).toBe("True/InForce");
    const akashGpus = (from: number, to: number): number =>
      Math.max(
        ...r.series
          .filter((p) => p.minute >= from && p.minute < to)
          .map((p) => p.gpusByProvider.akash!),
      );
    expect(akashGpus(45, 60)).toBeGreaterThanOrEqual(15);
    expect(r.events).toEqual([{ kind: "outage", target: "akash", fromMinute: 10, toMinute: 30 }]);
    expect(r.stuck).toBe(0);
  });

  it("ejects a treaty whose jobs fail (reputation shock) and probes it back after the shock", async () => {
    const calm = await runScenario(scenario({ strategy: "cheapest" }));
    const r = await runScenario(
      scenario({
        strategy: "cheapest",
        events: [
          {
            kind: "reputationShock",
            atMinute: 5,
            durationMinutes: 30,
            provider: "akash",
            failRate: 1,
          },
        ],
      }),
    );
    // Ejected during the shock (its unstarted attempts failed over), at most the 2 probe
    // jobs while it lasts, back to full use after it (ADR 0134).
    expect(Object.keys(r.failoverReasons)).toContain(
      "treaty akash-us became Degraded (AvailabilityBelowSLO) before the job started",
    );
    const akashGpus = (from: number, to: number): number =>
      Math.max(
        ...r.series
          .filter((p) => p.minute >= from && p.minute < to)
          .map((p) => p.gpusByProvider.akash!),
      );
    expect(akashGpus(25, 40)).toBeLessThanOrEqual(2);
    expect(akashGpus(45, 60)).toBeGreaterThanOrEqual(15);
    expect(r.perTreaty["akash-us"]!.ready).toBe("True/InForce");
    expect(calm.perTreaty["akash-us"]!.ready).toBe("True/InForce");
    expect(r.perTreaty["akash-us"]!.reputation).toBeLessThan(
      calm.perTreaty["akash-us"]!.reputation!,
    );
  });

  it("fails over from an in-cluster Pod unschedulable past the timeout", async () => {
    const s = small();
    const treaties = (s.treaties as Record<string, unknown>[]).map((t) =>
      t.name === "core" ? { ...t, quotas: undefined, pricing: { "a100-80gb": 0.5 } } : t,
    );
    const r = await runScenario(scenario({ treaties, strategy: "cheapest" }));
    expect(Object.keys(r.failoverReasons).some((k) => k.startsWith("unschedulable for"))).toBe(
      true,
    );
    expect(r.stuck).toBe(0);
  });

  it("reprices a treaty during a price spike and routes around it", async () => {
    const calm = await runScenario(scenario({ strategy: "cheapest" }));
    const spiked = await runScenario(
      scenario({
        strategy: "cheapest",
        events: [
          { kind: "priceSpike", atMinute: 0, durationMinutes: 600, provider: "akash", factor: 3 },
        ],
      }),
    );
    expect(spiked.perTreaty["akash-us"]!.routed).toBeLessThan(calm.perTreaty["akash-us"]!.routed);
  });
});

describe("lostWorkloads", () => {
  it.each([
    [
      "a running workload with its attempt running",
      "running",
      [{ outcome: "Running" }],
      undefined,
      0,
    ],
    [
      "a running workload whose attempt was abandoned",
      "running",
      [{ outcome: "Abandoned" }],
      undefined,
      1,
    ],
    ["a finished workload with its completion", "done", [{ outcome: "Succeeded" }], "t", 0],
    [
      "a finished workload without a completion time",
      "done",
      [{ outcome: "Succeeded" }],
      undefined,
      1,
    ],
    ["a waiting workload", "waiting", [{ outcome: "Abandoned" }], undefined, 0],
  ])("counts %s", (_what, phase, attempts, completionTime, want) => {
    const status = { attempts, completionTime } as unknown as GPUWorkload["status"];
    expect(lostWorkloads([{ phase, status }])).toBe(want);
  });
});

describe("runScenario: treaty and provider events", () => {
  const cheapest = { strategy: "cheapest" };
  it.each<[string, Record<string, unknown>, (r: Awaited<ReturnType<typeof runScenario>>) => void]>([
    [
      "a suspended treaty is not routed to while suspended",
      { kind: "treatySuspended", atMinute: 0, durationMinutes: 600, treaty: "akash-us" },
      (r) => expect(r.perTreaty["akash-us"]!.routed).toBe(0),
    ],
    [
      "an expired treaty is not routed to after it expires",
      { kind: "treatyExpired", atMinute: 0, treaty: "akash-us" },
      (r) => {
        expect(r.perTreaty["akash-us"]!.routed).toBe(0);
        expect(r.perTreaty["akash-us"]!.ready).toBe("False/Expired");
      },
    ],
    [
      "latency above the SLO degrades the treaty (the Treaty controller's probe)",
      { kind: "latency", atMinute: 0, durationMinutes: 600, provider: "render", addMs: 5000 },
      (r) => expect(r.perTreaty["render-eu"]!.ready).toBe("False/Degraded"),
    ],
    [
      "a pool with no capacity left makes in-cluster attempts fail over",
      {
        kind: "capacityDrop",
        atMinute: 0,
        durationMinutes: 600,
        provider: "in-cluster",
        remaining: 0,
      },
      (r) => {
        expect(r.perTreaty.core!.fillRate).toBe(0);
        expect(r.stuck).toBe(0);
      },
    ],
  ])("%s", async (_what, event, check) => {
    const treaties = (small().treaties as Record<string, unknown>[]).map((t) =>
      t.name === "render-eu" ? { ...t, slo: { availability: 0.95, maxLatencyMs: 500 } } : t,
    );
    const r = await runScenario(scenario({ ...cheapest, treaties, events: [event] }));
    check(r);
  });
});

describe("cli", () => {
  const run = async (args: string[]): Promise<{ code: number; out: string }> => {
    const lines: string[] = [];
    const code = await main(args, (s) => lines.push(s));
    return { code, out: lines.join("\n") };
  };

  it("exits 2 naming the path of an invalid scenario", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wargame-"));
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, stringify(small({ seed: -1 })));
    const { code, out } = await run([file, "--out", dir]);
    expect(code).toBe(EXIT.invalid);
    expect(out).toContain("seed: Too small");
  });

  it("exits 3 for a scenario that can never fit, and runs nothing", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wargame-"));
    const file = path.join(dir, "never.yaml");
    await writeFile(
      file,
      stringify(small({ arrivals: { ...(small().arrivals as object), gpuMix: { t4: 1 } } })),
    );
    const { code, out } = await run([file, "--out", dir]);
    expect(code).toBe(EXIT.neverFits);
    expect(out).toContain("no treaty offers gpu type t4");
    expect(await readdir(dir)).toEqual(["never.yaml"]);
  });

  it("writes JSON and HTML, and a table for --compare", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wargame-"));
    const file = path.join(dir, "small.yaml");
    await writeFile(file, stringify(small()));
    expect((await run([file, "--out", dir, "--quiet"])).code).toBe(EXIT.ok);
    const json = JSON.parse(await readFile(path.join(dir, "small.json"), "utf8")) as {
      fillRate: number;
    };
    expect(json.fillRate).toBeGreaterThan(0.9);
    expect(await readFile(path.join(dir, "small.html"), "utf8")).toContain("<svg");
    const { code, out } = await run([
      file,
      "--out",
      dir,
      "--compare",
      "strategy=cheapest,balanced",
    ]);
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/\| small \| cheapest \|/);
    expect(out).toMatch(/\| small \| balanced \|/);
  });

  it.each([
    ["strategy=cheapest,fastest", ["cheapest", "fastest"]],
    [
      "strategy=cheap",
      "--compare: unknown strategy cheap (expected one of balanced, cheapest, fastest)",
    ],
    ["weights=1", "--compare: expected strategy=<a,b,…>, got weights=1"],
  ])("parses --compare %s", (arg, want) => {
    expect(parseCompare(arg)).toEqual(want);
  });
});
