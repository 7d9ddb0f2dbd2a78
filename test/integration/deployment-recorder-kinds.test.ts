// Issue 17, item 1, beyond the Deployment of deployment-recorder.test.ts: a StatefulSet and a
// DaemonSet (the real kube-controller-manager runs them; kwok makes their Pods Ready) and an
// unannotated Deployment are recorded because their namespace is labelled — the Deployment once
// the label is added (the Namespace watch) — with replica counts, images by digest and the Argo
// CD application and revision; each receipt verifies. Bad input: an unknown recorder annotation
// and an unsubstituted revision are Warning Events naming the annotation, and nothing of theirs
// (nor of an object annotated "false") is recorded.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { RECORDED_RESOURCES } from "../../operator/controllers/deployment-recorder/deployment-recorder-controller.ts";
import {
  ARGOCD_TRACKING_ANNOTATION,
  completedReplicas,
  DEPLOYMENT_RECEIPT_TYPE,
  DEPLOYMENT_RECORDER_REASON,
  RECORD_DEPLOYMENTS_KEY,
  RECORD_REVISION_KEY,
  type RecordedKind,
  type RolloutObject,
} from "../../operator/controllers/deployment-recorder/deployment-rollout.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { exportBundle } from "../../services/ledger/bundle.ts";
import { verifyBundle } from "../../services/ledger/verify-bundle.ts";
import { waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { spawnOperator, type OperatorProcess, type TestLedger } from "./operator-env.ts";

type Workload = KubeObject & RolloutObject;
interface CoreEvent extends KubeObject {
  involvedObject?: { name?: string; kind?: string };
  type?: string;
  reason?: string;
  message?: string;
}

const digestOf = (c: string): string => `sha256:${c.repeat(64)}`;
const pinned = (c: string): string => `registry.example/store@${digestOf(c)}`;
const UNKNOWN_KEY = "vaultmesh.cloud/record-deployment"; // a typo of the recorder's key

let env: OperatorTestEnv;
let client: KubeClient;
let led: TestLedger;
let ns = "";
let operator: OperatorProcess;

/** A workload of `kind` named `name` with `annotations`, one container running `image`. */
function workload(
  kind: RecordedKind,
  name: string,
  annotations: Record<string, string>,
  image: string,
): Workload {
  const template = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [{ name: "main", image }],
      // The DaemonSet runs on two of the untainted kwok nodes only: a fixed count whatever
      // nodes other test files add.
      ...(kind === "DaemonSet"
        ? {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    {
                      matchExpressions: [
                        {
                          key: "kubernetes.io/hostname",
                          operator: "In",
                          values: ["cpu-1", "cpu-2"],
                        },
                      ],
                    },
                  ],
                },
              },
            },
          }
        : {}),
    },
  };
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: ns, annotations },
    spec: {
      ...(kind === "DaemonSet" ? {} : { replicas: kind === "StatefulSet" ? 2 : 1 }),
      ...(kind === "StatefulSet" ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template,
    },
  } as Workload;
}

const ledgerEntries = async (): Promise<{ digest: string; name: string }[]> =>
  (
    await led.pool.query<{ digest: string; name: string }>(
      `SELECT 'sha256:' || encode(digest, 'hex') AS digest,
              convert_from(receipt, 'UTF8')::jsonb #>> '{subject,name}' AS name
         FROM ledger_entries WHERE type = $1 ORDER BY log_index`,
      [DEPLOYMENT_RECEIPT_TYPE],
    )
  ).rows;

const views = async (): Promise<Receipt[]> =>
  (await client.list<Receipt>(Resources.Receipt, { namespace: ns })).items.filter(
    (r) => r.spec.type === DEPLOYMENT_RECEIPT_TYPE,
  );

/** Waits for the logged Receipt view of the workload named `name`. */
const receiptOf = (name: string): Promise<Receipt> =>
  waitFor(`the receipt of ${name}`, async () =>
    (await views()).find((r) => r.spec.subject.name === name && r.status?.logIndex !== undefined),
  );

/** Waits until the rollout of `kind` `name` is complete, as the recorder judges it. */
const rolledOut = (kind: RecordedKind, name: string): Promise<Workload> =>
  waitFor(`the rollout of ${kind} ${name}`, async () => {
    const o = await client.get<Workload>(RECORDED_RESOURCES[kind], name, ns);
    return o && completedReplicas(kind, o) !== undefined ? o : undefined;
  });

/** Waits for the Warning Event about `name` naming `annotation`. */
const warningOn = (name: string, annotation: string): Promise<CoreEvent> =>
  waitFor(`the Warning Event on ${name}`, async () =>
    (await client.list<CoreEvent>(Resources.Event, { namespace: ns })).items.find(
      (e) =>
        e.involvedObject?.name === name &&
        e.reason === DEPLOYMENT_RECORDER_REASON.invalidAnnotation &&
        e.message?.includes(`annotation ${annotation}`),
    ),
  );

beforeAll(async () => {
  env = await startOperatorTestEnv("dep-kinds");
  ({ client, ns } = env);
  led = env.led!;
  operator = spawnOperator(env.operatorEnv());
  env.track({
    async stop() {
      operator.kill("SIGKILL");
      await operator.exited;
    },
  });
});

afterAll(() => env?.stop());

describe("deployment recorder: kinds, the namespace label and bad annotations", () => {
  it("records a StatefulSet, a DaemonSet and a labelled namespace's Deployment; refuses bad input", async () => {
    // The operator's log, for whoever reads a failure.
    await scenario().catch((err: Error) => {
      process.stderr.write(`[deployment-recorder-kinds]\n${operator.output().slice(-6000)}\n`);
      throw err;
    });
  });
});

/** The scenario of the test above. */
async function scenario(): Promise<void> {
  const Deploy = RECORDED_RESOURCES.Deployment;
  // Bad input and an opt-out first; "web" has no annotation and its namespace no label yet.
  await client.create(Deploy, workload("Deployment", "typo", { [UNKNOWN_KEY]: "true" }, "web:1"));
  await client.create(
    Deploy,
    workload(
      "Deployment",
      "unsubst",
      { [RECORD_DEPLOYMENTS_KEY]: "true", [RECORD_REVISION_KEY]: "${ARGOCD_APP_REVISION}" },
      "web:1",
    ),
  );
  await client.create(
    Deploy,
    workload("Deployment", "opt-out", { [RECORD_DEPLOYMENTS_KEY]: "false" }, "web:1"),
  );
  await client.create(Deploy, workload("Deployment", "web", {}, "web:1"));
  for (const name of ["typo", "unsubst", "opt-out", "web"]) await rolledOut("Deployment", name);

  const typo = await warningOn("typo", UNKNOWN_KEY);
  expect(typo.type).toBe("Warning");
  const unsubst = await warningOn("unsubst", RECORD_REVISION_KEY);
  expect(unsubst.message).toContain("${ARGOCD_APP_REVISION}");

  // Labelling the namespace records the Deployment already rolled out, and what comes next.
  await client.patch(
    Resources.Namespace,
    { name: ns },
    { metadata: { labels: { [RECORD_DEPLOYMENTS_KEY]: "true" } } },
    "merge",
  );
  const web = await receiptOf("web");
  expect(web.spec.payload).toEqual({
    uid: web.spec.subject.uid,
    generation: 1,
    replicas: 1,
    images: [{ container: "main", image: "web:1" }], // a tag: no digest is claimed
  });

  await client.create(
    RECORDED_RESOURCES.StatefulSet,
    workload(
      "StatefulSet",
      "db",
      {
        [ARGOCD_TRACKING_ANNOTATION]: `store:apps/StatefulSet:${ns}/db`,
        [RECORD_REVISION_KEY]: "4f2a9c1e0b7d",
      },
      pinned("c"),
    ),
  );
  await client.create(
    RECORDED_RESOURCES.DaemonSet,
    workload("DaemonSet", "agent", {}, pinned("d")),
  );

  const db = await receiptOf("db");
  expect(db.spec.subject).toMatchObject({ apiVersion: "apps/v1", kind: "StatefulSet" });
  expect(db.spec.payload).toEqual({
    uid: db.spec.subject.uid,
    generation: 1,
    replicas: 2,
    images: [{ container: "main", image: pinned("c"), digest: digestOf("c") }],
    argoCd: { application: "store", revision: "4f2a9c1e0b7d" },
  });
  const agent = await receiptOf("agent");
  expect(agent.spec.subject).toMatchObject({ apiVersion: "apps/v1", kind: "DaemonSet" });
  expect(agent.spec.payload).toEqual({
    uid: agent.spec.subject.uid,
    generation: 1,
    replicas: 2,
    images: [{ container: "main", image: pinned("d"), digest: digestOf("d") }],
  });
  for (const r of [db, agent]) {
    await waitFor(`the Event naming ${r.metadata.name}`, async () =>
      (await client.list<CoreEvent>(Resources.Event, { namespace: ns })).items.find(
        (e) =>
          e.involvedObject?.kind === r.spec.subject.kind &&
          e.reason === DEPLOYMENT_RECORDER_REASON.recorded &&
          e.message?.includes(r.metadata.name ?? "-"),
      ),
    );
  }

  // The ledger holds exactly the three; the bad and the opted-out (all rolled out and seen
  // before the label and the two later kinds) recorded nothing. Each receipt verifies.
  const entries = await ledgerEntries();
  expect(entries.map((e) => e.name).sort()).toEqual(["agent", "db", "web"]);
  expect(entries.map((e) => e.digest).sort()).toEqual(
    [web, db, agent].map((r) => r.spec.digest).sort(),
  );
  const trust = await led.ledger.trust();
  for (const r of [web, db, agent]) {
    const report = await verifyBundle(
      await exportBundle(led.ledger, { digest: r.spec.digest }),
      trust,
    );
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  }
}
