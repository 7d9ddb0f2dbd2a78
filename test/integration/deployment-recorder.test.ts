// Issue 17, item 1, "Done means": an annotated Deployment rolled out twice (kwok makes its Pods
// Ready) gets exactly two DeploymentRecorded receipts, each verifying end to end, across an
// operator kill -9 in the middle of the second rollout — after which two replicas run at once
// and still record it once. A malformed annotation is a Warning Event naming it, no receipt.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { RECORDED_RESOURCES } from "../../operator/controllers/deployment-recorder/deployment-recorder-controller.ts";
import {
  completedReplicas,
  DEPLOYMENT_RECEIPT_TYPE,
  DEPLOYMENT_RECORDER_REASON,
  RECORD_DEPLOYMENTS_KEY,
  type RolloutObject,
} from "../../operator/controllers/deployment-recorder/deployment-rollout.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { exportBundle } from "../../services/ledger/bundle.ts";
import { verifyBundle } from "../../services/ledger/verify-bundle.ts";
import { waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { spawnOperator, type OperatorProcess, type TestLedger } from "./operator-env.ts";

const Deploy = RECORDED_RESOURCES.Deployment;
const image = (c: string): string => `registry.example/api@sha256:${c.repeat(64)}`;
type Workload = KubeObject & RolloutObject;
interface CoreEvent extends KubeObject {
  involvedObject?: { name?: string };
  type?: string;
  reason?: string;
  message?: string;
}

let env: OperatorTestEnv;
let client: KubeClient;
let led: TestLedger;
let ns = "";
const running: OperatorProcess[] = [];

function deployment(name: string, annotation: string): Workload {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, annotations: { [RECORD_DEPLOYMENTS_KEY]: annotation } },
    spec: {
      replicas: 2,
      // Each new Pod must stay Ready 3 s before the next step: the rollout lasts long enough
      // to kill the operator in its middle.
      minReadySeconds: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "api", image: image("a") }] },
      },
    },
  } as Workload;
}

const start = (): OperatorProcess => {
  const op = spawnOperator(env.operatorEnv());
  running.push(op);
  return op;
};

async function kill(op: OperatorProcess): Promise<void> {
  op.kill("SIGKILL");
  await op.exited;
}

const receipts = async (): Promise<Receipt[]> =>
  (await client.list<Receipt>(Resources.Receipt, { namespace: ns })).items.filter(
    (r) => r.spec.type === DEPLOYMENT_RECEIPT_TYPE,
  );

const events = async (name: string): Promise<CoreEvent[]> =>
  (await client.list<CoreEvent>(Resources.Event, { namespace: ns })).items.filter(
    (e) => e.involvedObject?.name === name,
  );

/** Waits for the logged Receipt view of `generation` of `api`. */
const receiptOf = (generation: number): Promise<Receipt> =>
  waitFor(`the receipt of generation ${generation}`, async () =>
    (await receipts()).find(
      (r) => r.spec.payload.generation === generation && r.status?.logIndex !== undefined,
    ),
  );

beforeAll(async () => {
  env = await startOperatorTestEnv("dep-rec");
  ({ client, ns } = env);
  led = env.led!;
  env.track({
    async stop() {
      for (const op of running) op.kill("SIGKILL");
      await Promise.all(running.map((op) => op.exited));
    },
  });
});

afterAll(() => env?.stop());

describe("deployment recorder", () => {
  it("records two rollouts exactly once each across kill -9 and two replicas", async () => {
    const first = start();
    await client.create(Deploy, deployment("api", "true"));
    await client.create(Deploy, deployment("bad", "yes"));

    const r1 = await receiptOf(1).catch(async (err: Error) => {
      const d = await client.get<Workload>(Deploy, "api", ns);
      // What the rollout and the operator say, for whoever reads the failure.
      process.stderr.write(
        `[deployment-recorder] status ${JSON.stringify(d?.status)}\n${first.output().slice(-4000)}\n`,
      );
      throw err;
    });
    expect(r1.spec.subject).toMatchObject({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "api",
    });
    expect(r1.spec.payload).toMatchObject({
      generation: 1,
      replicas: 2,
      images: [{ container: "api", image: image("a"), digest: `sha256:${"a".repeat(64)}` }],
    });
    const bad = await waitFor("the Warning Event on the malformed annotation", async () =>
      (await events("bad")).find((e) => e.reason === DEPLOYMENT_RECORDER_REASON.invalidAnnotation),
    );
    expect(bad.type).toBe("Warning");
    expect(bad.message).toContain(`annotation ${RECORD_DEPLOYMENTS_KEY}`);

    // Second rollout: kill -9 the operator while it is in progress.
    await client.patch(
      Deploy,
      { name: "api", namespace: ns },
      { spec: { template: { spec: { containers: [{ name: "api", image: image("b") }] } } } },
      "strategic",
    );
    await waitFor("the second rollout to be under way", async () => {
      const d = await client.get<Workload>(Deploy, "api", ns);
      return d &&
        (d.status?.observedGeneration ?? 0) >= 2 &&
        completedReplicas("Deployment", d) === undefined
        ? d
        : undefined;
    });
    await kill(first);
    // Two replicas at once (no leader election): both see the completed rollout.
    start();
    start();
    const r2 = await receiptOf(2);
    expect(r2.spec.payload).toMatchObject({
      generation: 2,
      images: [{ digest: `sha256:${"b".repeat(64)}` }],
    });
    const named = await waitFor("the Event naming the second receipt", async () =>
      (await events("api")).find(
        (e) =>
          e.reason === DEPLOYMENT_RECORDER_REASON.recorded &&
          e.message?.includes(r2.metadata.name ?? "-"),
      ),
    );
    expect(named.type).toBe("Normal");

    // Exactly two entries in the ledger and two views; the malformed one recorded nothing.
    const rows = await led.pool.query<{ digest: string }>(
      "SELECT 'sha256:' || encode(digest, 'hex') AS digest FROM ledger_entries WHERE type = $1 ORDER BY log_index",
      [DEPLOYMENT_RECEIPT_TYPE],
    );
    expect(rows.rows.map((r) => r.digest)).toEqual([r1.spec.digest, r2.spec.digest]);
    expect((await receipts()).map((r) => r.metadata.name).sort()).toEqual(
      [r1.metadata.name, r2.metadata.name].sort(),
    );
    // Each verifies as `remembrancer verify-full` checks it.
    const trust = await led.ledger.trust();
    for (const r of [r1, r2]) {
      const report = await verifyBundle(
        await exportBundle(led.ledger, { digest: r.spec.digest }),
        trust,
      );
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });
});
