import { describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../../crds/index.ts";
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ObjectCache,
} from "../../../services/kube/index.ts";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import { receiptDigest, signReceipt, type ReceiptInput } from "../../../services/ledger/receipt.ts";
import type { EventRecorder } from "../../runtime/index.ts";
import { RECORDED_RESOURCES } from "./deployment-recorder-controller.ts";
import {
  DeploymentRecorderReconciler,
  type DeploymentRecorderDeps,
  type RecordedWorkload,
} from "./deployment-recorder-reconciler.ts";
import { DEPLOYMENT_RECEIPT_UID_LABEL, deploymentReceiptName } from "./deployment-receipt-view.ts";
import {
  DEPLOYMENT_RECEIPT_TYPE,
  deploymentReceipt,
  DEPLOYMENT_RECORDER_REASON,
  RECORD_DEPLOYMENTS_KEY,
  RECORD_REVISION_KEY,
} from "./deployment-rollout.ts";

function cache<T extends KubeObject>(objs: T[]): ObjectCache<T> {
  const key = (o: T): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  return {
    get: (name, ns) => objs.find((o) => key(o) === `${ns ?? ""}/${name}`),
    list: (ns) => objs.filter((o) => ns === undefined || o.metadata?.namespace === ns),
    byIndex: () => [],
    hasSynced: () => true,
  };
}

function workload(annotations: Record<string, string>, complete: boolean): RecordedWorkload {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "shop", uid: "u-1", generation: 2, annotations },
    spec: { replicas: 1, template: { spec: { containers: [{ name: "api", image: "api:2" }] } } },
    status: complete
      ? {
          observedGeneration: 2,
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          availableReplicas: 1,
        }
      : { observedGeneration: 2, replicas: 2, updatedReplicas: 1, readyReplicas: 1 },
  };
}

/** A reconciler whose ledger and client fail the test when a pass reaches them. */
function setup(
  obj: RecordedWorkload,
  opts: { nsLabels?: Record<string, string>; views?: Receipt[] } = {},
) {
  const events: { type: string; reason: string; message: string }[] = [];
  const appended: ReceiptInput[] = [];
  const recorder: EventRecorder = {
    event: (_t, _o, type, reason, message) => void events.push({ type, reason, message }),
  };
  const deps: DeploymentRecorderDeps = {
    kind: "Deployment",
    type: RECORDED_RESOURCES.Deployment,
    client: {} as KubeClient,
    clock: { now: () => new Date(0) },
    events: recorder,
    ledger: {
      append: (input) => {
        appended.push(input);
        return Promise.reject(new Error("ledger append reached"));
      },
    },
    objects: cache([obj]),
    namespaces: cache<KubeObject>([
      { metadata: { name: "shop", ...(opts.nsLabels ? { labels: opts.nsLabels } : {}) } },
    ]),
    receipts: cache(opts.views ?? []),
  };
  return { r: new DeploymentRecorderReconciler(deps), deps, events, appended };
}

const req = { key: "shop/api", name: "api", namespace: "shop" };

describe("DeploymentRecorderReconciler", () => {
  it("a malformed annotation: a Warning Event naming it, nothing appended", async () => {
    const s = setup(workload({ [RECORD_DEPLOYMENTS_KEY]: "yes" }, true));
    await s.r.reconcile(req);
    expect(s.appended).toEqual([]);
    expect(s.events).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: DEPLOYMENT_RECORDER_REASON.invalidAnnotation,
        message: expect.stringContaining(`annotation ${RECORD_DEPLOYMENTS_KEY}`),
      }),
    ]);
  });

  it.each([
    ["not annotated, namespace not labelled", {}, undefined, true],
    [
      "annotated false beats the namespace label",
      { [RECORD_DEPLOYMENTS_KEY]: "false" },
      { [RECORD_DEPLOYMENTS_KEY]: "true" },
      true,
    ],
    ["annotated, rollout in progress", { [RECORD_DEPLOYMENTS_KEY]: "true" }, undefined, false],
  ])("%s: nothing appended, no Event", async (_n, ann, labels, complete) => {
    const s = setup(workload(ann, complete), labels ? { nsLabels: labels } : {});
    await s.r.reconcile(req);
    expect([s.appended, s.events]).toEqual([[], []]);
  });

  it("a complete rollout in a labelled namespace is appended", async () => {
    const s = setup(workload({}, true), { nsLabels: { [RECORD_DEPLOYMENTS_KEY]: "true" } });
    await expect(s.r.reconcile(req)).rejects.toThrow("ledger append reached");
    expect(s.appended).toEqual([deploymentReceipt("Deployment", workload({}, true))]);
  });

  it("a rollout whose view is already logged is not appended again", async () => {
    const obj = workload({ [RECORD_DEPLOYMENTS_KEY]: "true" }, true);
    const digest = receiptDigest(deploymentReceipt("Deployment", obj)!);
    const view = {
      metadata: { name: deploymentReceiptName("Deployment", "api", digest), namespace: "shop" },
      status: { logIndex: 7 },
    } as Receipt;
    const s = setup(obj, { views: [view] });
    await s.r.reconcile(req);
    expect([s.appended, s.events]).toEqual([[], []]);
  });

  it.each([
    ["logged by the Receipt controller meanwhile: Event", 7, "Normal"],
    ["still not logged: the conflict is an error, no Event", undefined, undefined],
  ])("a Conflict writing the new view's status, %s", async (_n, logIndex, wantEvent) => {
    const obj = workload({ [RECORD_DEPLOYMENTS_KEY]: "true" }, true);
    const input = deploymentReceipt("Deployment", obj)!;
    const signer = ed25519Signer(generateEd25519().privateKeyPem);
    const { receipt } = signReceipt(input, signer, { now: () => new Date(0) });
    const s = setup(obj);
    const viewName = deploymentReceiptName("Deployment", "api", receipt.digest);
    const deps = s.deps as {
      -readonly [K in keyof DeploymentRecorderDeps]: DeploymentRecorderDeps[K];
    };
    deps.ledger = {
      append: () =>
        Promise.resolve({
          receipt,
          entry: { logIndex: 7, leafHash: "00".repeat(32) },
          treeHead: { treeSize: 8, rootHash: "11".repeat(32) },
        } as unknown as Awaited<ReturnType<DeploymentRecorderDeps["ledger"]["append"]>>),
    };
    deps.client = {
      create: (_t: unknown, o: Receipt) => Promise.resolve(o),
      replaceStatus: () =>
        Promise.reject(new KubeApiError(409, "Conflict", "the object has been modified")),
      get: (_t: unknown, name: string) =>
        Promise.resolve(
          name === viewName ? ({ metadata: { name }, status: { logIndex } } as Receipt) : undefined,
        ),
    } as unknown as KubeClient;
    const r = new DeploymentRecorderReconciler(deps);
    const pass = r.reconcile(req);
    if (wantEvent) await pass;
    else await expect(pass).rejects.toThrow("modified");
    expect(s.events.map((e) => e.type)).toEqual(wantEvent ? [wantEvent] : []);
    if (wantEvent) expect(s.events[0]!.message).toContain(viewName);
  });

  it.each([
    ["the same generation: not appended", "u-1", 2, []],
    ["an earlier generation: appended", "u-1", 1, ["appended"]],
    ["another object's uid: appended", "u-2", 2, ["appended"]],
  ])("an annotation edited after a recorded rollout, view of %s", async (_n, uid, gen, want) => {
    // The view of generation 2 was recorded before the revision annotation was added.
    const view = {
      metadata: {
        name: "deployment-api-000000000000",
        namespace: "shop",
        labels: { [DEPLOYMENT_RECEIPT_UID_LABEL]: uid },
      },
      spec: { type: DEPLOYMENT_RECEIPT_TYPE, payload: { uid, generation: gen } },
      status: { logIndex: 3 },
    } as unknown as Receipt;
    const obj = workload(
      { [RECORD_DEPLOYMENTS_KEY]: "true", [RECORD_REVISION_KEY]: "4f2a9c1e" },
      true,
    );
    const s = setup(obj, { views: [view] });
    await s.r.reconcile(req).catch(() => undefined);
    expect(s.appended.map(() => "appended")).toEqual(want);
  });
});
