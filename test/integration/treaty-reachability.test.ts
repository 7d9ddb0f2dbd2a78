// Issue 9 item 5: a Treaty whose provider cannot be reached as configured — an external
// provider without spec.endpoint, or a credentialsSecretRef naming a Secret or key that does
// not exist — is not Ready, with a reason and a message naming what is missing, and the
// router never routes to it. Once the Secret appears the treaty turns Ready by itself and the
// waiting workload runs there. Real control plane, the Treaty and GPUWorkload controllers
// in-process, the provider simulator on loopback.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Condition, GPUWorkload, Treaty } from "../../crds/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { startProviderSim, type RunningSim } from "../../services/provider-sim/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import {
  createTreaty,
  startInProcessOperator,
  startTestLedger,
  testClient,
  type TestLedger,
} from "./operator-env.ts";

const TOKEN = `tok-${Math.random().toString(36).slice(2, 10)}`;
const run = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=reach-${run}`;
const NO_ENDPOINT = `no-endpoint-${run}`;
const NO_SECRET = `no-secret-${run}`;
let ns = "";
let client: KubeClient;
let led: TestLedger;
let sim: RunningSim;
let op: Awaited<ReturnType<typeof startInProcessOperator>>;

const readyOf = async (name: string): Promise<Condition | undefined> =>
  (await client.get<Treaty>(Resources.Treaty, name))?.status?.conditions?.find(
    (c) => c.type === "Ready",
  );
/** Waits until treaty `name`'s Ready condition has `status` and `reason`. */
const readyBecomes = (name: string, status: string, reason: string): Promise<Condition> =>
  waitFor(`treaty ${name} Ready=${status} ${reason}`, async () => {
    const c = await readyOf(name);
    return c?.status === status && c.reason === reason ? c : undefined;
  });
const workload = (name: string): Promise<GPUWorkload | undefined> =>
  client.get<GPUWorkload>(Resources.GPUWorkload, name, ns);

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("reach");
  led = await startTestLedger("reach");
  sim = await startProviderSim({
    clock: systemClock,
    provider: "sim",
    tokens: [TOKEN],
    pricing: { a10g: 0.3 },
    regions: ["local"],
    durations: { queuedMs: 200, runningMs: 500 },
  });
  op = await startInProcessOperator({
    namespace: ns,
    treatySelector: label,
    ledger: led.ledger,
    probeIntervalMs: 600000,
  });
});

afterAll(async () => {
  await op?.stop();
  for (const t of [NO_ENDPOINT, NO_SECRET]) await client.delete(Resources.Treaty, { name: t });
  await client.delete(Resources.Namespace, { name: ns });
  await sim?.close();
  await led?.stop();
  client.close();
});

describe("a treaty whose provider cannot be reached as configured", () => {
  it("is not Ready, says what is missing, is never routed to, and recovers with its Secret", async () => {
    const noEndpoint = treaty(NO_ENDPOINT).external("sim", sim.url, 0.1).obj();
    delete noEndpoint.spec.endpoint;
    await createTreaty(client, noEndpoint, label);
    const noSecret = treaty(NO_SECRET).external("sim", sim.url, 0.3).obj();
    noSecret.spec.credentialsSecretRef = { name: "sim-credentials", key: "token" };
    await createTreaty(client, noSecret, label);

    const e = await readyBecomes(NO_ENDPOINT, "False", "EndpointMissing");
    expect(e.message).toBe(
      "spec.endpoint is not set: external provider sim cannot be reached (set it to the base URL of the provider's API)",
    );
    const s = await readyBecomes(NO_SECRET, "False", "CredentialsMissing");
    expect(s.message).toBe(
      `spec.credentialsSecretRef: Secret ${ns}/sim-credentials does not exist`,
    );

    // A workload that either treaty could serve (the endpoint-less one is cheaper): neither is
    // a candidate, and the status says why.
    await client.create(Resources.GPUWorkload, gpuWorkload("w", ns).strategy("cheapest").obj());
    const waiting = await waitFor("workload w to list both treaties as ineligible", async () => {
      const w = await workload("w");
      return (w?.status?.candidates?.length ?? 0) === 2 ? w : undefined;
    });
    const reasons = Object.fromEntries(
      (waiting.status?.candidates ?? []).map((c) => [c.treaty, [c.eligible, c.reasons]]),
    );
    expect(reasons).toEqual({
      [NO_ENDPOINT]: [
        false,
        [
          "treaty not Ready: EndpointMissing: spec.endpoint is not set: external provider sim cannot be reached (set it to the base URL of the provider's API)",
        ],
      ],
      [NO_SECRET]: [
        false,
        [
          `treaty not Ready: CredentialsMissing: spec.credentialsSecretRef: Secret ${ns}/sim-credentials does not exist`,
        ],
      ],
    });
    expect(waiting.status?.placement).toBeUndefined();
    expect(waiting.status?.attempts ?? []).toEqual([]);

    // The Secret without the key: still missing, and the message names the key.
    await client.create(Resources.Secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "sim-credentials", namespace: ns },
      stringData: { other: TOKEN },
    });
    await waitFor("the message to name the missing key", async () => {
      const c = await readyOf(NO_SECRET);
      return c?.message ===
        `spec.credentialsSecretRef: Secret ${ns}/sim-credentials has no key token`
        ? c
        : undefined;
    });

    // With the key, the treaty turns Ready without any edit to it, and the workload runs there.
    await client.patch(
      Resources.Secret,
      { name: "sim-credentials", namespace: ns },
      { stringData: { token: TOKEN } },
    );
    await readyBecomes(NO_SECRET, "True", "InForce");
    const done = await waitFor(
      "workload w to complete under the treaty with credentials",
      async () => {
        const w = await workload("w");
        const complete = w?.status?.conditions?.find((c) => c.type === "Complete");
        return complete?.status === "True" ? w : undefined;
      },
      60000,
    );
    expect((done.status?.attempts ?? []).map((a) => a.treaty)).toEqual([NO_SECRET]);
    expect(done.status?.placement?.treaty).toBe(NO_SECRET);
    expect((await readyOf(NO_ENDPOINT))?.reason).toBe("EndpointMissing");
  });
});
