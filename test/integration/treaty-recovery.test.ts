// Issue 16 / ADR 0134: a Treaty ejected for an availability breach recovers. Real control plane,
// the Treaty controller in-process on an injected clock; completion receipts are the evidence.
// Failures eject it (Ready False/Degraded), the cool-down after the newest failure makes it
// half-open (Ready True, Degraded False/Probing), successful probes close it (Recovered), and
// once the failures leave the one-hour window it is within its SLO again.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import type { Condition, Treaty } from "../../crds/index.ts";
import { RECEIPT_LABELS } from "../../crds/domain/labels.ts";
import { createTreatyController } from "../../operator/controllers/treaty/treaty-controller.ts";
import { Manager } from "../../operator/runtime/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { receipt, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import { createTreaty, testClient } from "./operator-env.ts";

const run = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=recover-${run}`;
const NAME = `recover-${run}`;
const MIN = 60_000;
const T0 = Date.parse("2026-03-02T10:00:00Z");
let clockMs = T0;
let ns = "";
let client: KubeClient;
let mgr: Manager;
let seq = 0;

const conditionsOf = async (): Promise<Condition[]> =>
  (await client.get<Treaty>(Resources.Treaty, NAME))?.status?.conditions ?? [];

/** Waits until Ready and Degraded have these status/reason pairs; returns the Degraded one. */
const becomes = (ready: string, degraded: string): Promise<Condition> =>
  waitFor(`treaty Ready=${ready} Degraded=${degraded}`, async () => {
    const cs = await conditionsOf();
    const pair = (type: string): string => {
      const c = cs.find((x) => x.type === type);
      return `${c?.status}/${c?.reason}`;
    };
    return pair("Ready") === ready && pair("Degraded") === degraded
      ? cs.find((c) => c.type === "Degraded")
      : undefined;
  });

/** A completion receipt of one attempt under the treaty, started and ended at these times. */
async function completion(outcome: "Succeeded" | "Failed", startMs: number, endMs: number) {
  const n = ++seq;
  const r = receipt(`c${n}`, ns)
    .type(outcome === "Succeeded" ? "WorkloadCompleted" : "WorkloadFailed")
    .subject({ name: `w${n}`, uid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}` })
    .payload({
      workloadUid: `uid-${n}`,
      outcome,
      treaty: NAME,
      startTime: new Date(startMs).toISOString(),
      completionTime: new Date(endMs).toISOString(),
      provisionSeconds: 5,
      gpuSeconds: 60,
      costMicroUsd: 0,
    })
    .obj();
  r.metadata.labels = { [RECEIPT_LABELS.treaty]: NAME, [RECEIPT_LABELS.workloadUid]: `uid-${n}` };
  await client.create(Resources.Receipt, r);
}

/** Moves the injected clock and nudges the controller (an annotation edit is a watch event). */
async function advanceTo(ms: number): Promise<void> {
  clockMs = ms;
  await client.patch(
    Resources.Treaty,
    { name: NAME },
    { metadata: { annotations: { "vaultmesh.cloud/test-clock": String(ms) } } },
  );
}

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("recover");
  mgr = new Manager({ client, logger: pino({ level: process.env.OPERATOR_LOG ?? "silent" }) });
  createTreatyController(mgr, {
    clock: { now: () => new Date(clockMs) },
    scope: { namespace: ns, treatySelector: label },
  });
  await mgr.start();
});

afterAll(async () => {
  await mgr?.stop();
  await client.delete(Resources.Treaty, { name: NAME });
  await client.delete(Resources.Namespace, { name: ns });
  client.close();
});

describe("a treaty ejected for its measured availability", () => {
  it("is probed after the cool-down and returns to Ready", async () => {
    const t = treaty(NAME).inCluster().slo({ availability: 0.95 }).obj();
    await createTreaty(client, t, label);
    await becomes("True/InForce", "False/WithinSLO");

    for (let i = 0; i < 5; i++) await completion("Failed", T0 - 3 * MIN, T0 - MIN);
    const ejected = await becomes("False/Degraded", "True/AvailabilityBelowSLO");
    expect(ejected.message).toBe(
      "measured availability 0 below SLO 0.95 over 5 completions in the last 60 min; no new work until 2026-03-02T10:04:00.000Z (5 min after the last failure)",
    );

    await advanceTo(T0 + 4 * MIN + 1000);
    const probing = await becomes("True/InForce", "False/Probing");
    expect(probing.message).toContain("probing with at most 2 concurrent jobs (0/3 probes");

    for (let i = 0; i < 3; i++) await completion("Succeeded", T0 + 5 * MIN, T0 + 6 * MIN);
    await advanceTo(T0 + 7 * MIN);
    const recovered = await becomes("True/InForce", "False/Recovered");
    expect(recovered.message).toContain("3 probes succeeded");

    await advanceTo(T0 + 60 * MIN);
    await becomes("True/InForce", "False/WithinSLO");
    const status = (await client.get<Treaty>(Resources.Treaty, NAME))?.status;
    expect(status?.availability).toBe(1); // the 3 probes; the failures left the window
  });
});
