// Issue 16 item 3: the war-game's short scenario played both ways — in fast mode (the
// discrete-event simulation) and live, time-compressed 20×, against the real operator on the
// shared control plane with one provider simulator per provider and the outage switched on
// the compressed clock. Fill rate and failover counts must agree within the tolerance ADR 0133
// states; if they do not, the simulation is wrong. Every operator timing is compressed too
// (liveOperatorTimings: probe, provider poll, work-queue back-off): one left on the wall clock
// makes live fail over less than the product would (ADR 0133).
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { runScenario } from "../../wargame/engine.ts";
import { runLive } from "../../wargame/live.ts";
import { DEFAULT_TOLERANCE, disagreements, liveOperatorTimings } from "../../wargame/live-plan.ts";
import { parseScenario, type Scenario } from "../../wargame/scenario.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { startInProcessOperator } from "./operator-env.ts";

const COMPRESSION = 20;
let env: OperatorTestEnv;
let scenario: Scenario;

beforeAll(async () => {
  scenario = parseScenario(
    await readFile("wargame/live-scenarios/live-short.yaml", "utf8"),
    "live-short.yaml",
  );
  env = await startOperatorTestEnv("wargame");
  env.track(
    await startInProcessOperator({
      ...env.operatorScope(),
      ...liveOperatorTimings(scenario, COMPRESSION),
    }),
  );
});

afterAll(() => env?.stop());

describe("the war-game, live against fast", () => {
  it("agrees on fill rate and failovers for the short outage scenario", async () => {
    const fast = await runScenario(scenario);
    const live = await runLive(scenario, {
      client: env.client,
      namespace: env.ns,
      treatyLabel: env.label,
      compression: COMPRESSION,
      log: (m) => process.stderr.write(`[wargame-live] ${m}\n`),
    });
    process.stderr.write(
      `[wargame-live] fast ${JSON.stringify({ fillRate: fast.fillRate, failovers: fast.failovers, failoverReasons: fast.failoverReasons, perTreaty: fast.perTreaty })}\n` +
        `[wargame-live] live ${JSON.stringify(live)}\n`,
    );
    // The outage must bite in both, or the comparison says nothing.
    expect(fast.failovers).toBeGreaterThan(0);
    expect(live.failovers).toBeGreaterThan(0);
    expect(live.workloads).toBe(scenario.arrivals.workloads);
    expect(disagreements(fast, live, DEFAULT_TOLERANCE)).toEqual([]);
  }, 240_000);
});
