import { describe, expect, it } from "@jest/globals";
import { receiptDigest } from "../../../services/ledger/receipt.ts";
import {
  completedReplicas,
  deploymentReceipt,
  imagesOf,
  recordingDecision,
  RECORD_DEPLOYMENTS_KEY,
  RECORD_REVISION_KEY,
  type RolloutObject,
} from "./deployment-rollout.ts";

const K = RECORD_DEPLOYMENTS_KEY;
const REV = RECORD_REVISION_KEY;
const pinned = `registry.example/api@sha256:${"b".repeat(64)}`;

function deployment(gen: number, status: RolloutObject["status"], replicas = 3): RolloutObject {
  return {
    metadata: { uid: "u-1", name: "api", namespace: "shop", generation: gen },
    spec: {
      replicas,
      template: {
        spec: {
          containers: [
            { name: "api", image: pinned },
            { name: "sidecar", image: "envoy:1.31" },
          ],
        },
      },
    },
    status,
  };
}

const done = (gen: number): RolloutObject["status"] => ({
  observedGeneration: gen,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
});

describe("recordingDecision", () => {
  it.each([
    ["annotated true", { [K]: "true" }, undefined, { record: true }],
    ["annotated false beats the namespace", { [K]: "false" }, { [K]: "true" }, { record: false }],
    ["namespace labelled", {}, { [K]: "true" }, { record: true }],
    ["neither", undefined, undefined, { record: false }],
    ["malformed annotation", { [K]: "yes" }, undefined, { invalid: `annotation ${K}` }],
    ["malformed namespace label", {}, { [K]: "1" }, { invalid: `namespace label ${K}` }],
    [
      "unknown recorder annotation",
      { "vaultmesh.cloud/record-deployment": "true" },
      undefined,
      { invalid: "annotation vaultmesh.cloud/record-deployment" },
    ],
    ["a revision", { [K]: "true", [REV]: "4f2a9c1e" }, undefined, { record: true }],
    [
      "a version with build metadata",
      { [REV]: "1.4.2+build.7" },
      { [K]: "true" },
      { record: true },
    ],
    [
      "a revision left unsubstituted",
      { [K]: "true", [REV]: "${ARGOCD_APP_REVISION}" },
      undefined,
      { invalid: `annotation ${REV}` },
    ],
    ["an empty revision", { [K]: "true", [REV]: "" }, undefined, { invalid: `annotation ${REV}` }],
    [
      "a malformed revision on an object not recorded",
      { [REV]: "two words" },
      undefined,
      { invalid: `annotation ${REV}` },
    ],
  ])("%s", (_name, annotations, labels, want) => {
    expect(recordingDecision(annotations, labels)).toMatchObject(want);
  });
});

describe("completedReplicas", () => {
  it.each([
    ["complete", "Deployment", deployment(2, done(2)), 3],
    ["status of the previous generation", "Deployment", deployment(2, done(1)), undefined],
    [
      "surge pod of the old template left",
      "Deployment",
      deployment(2, { ...done(2), replicas: 4 }),
      undefined,
    ],
    ["not all ready", "StatefulSet", deployment(2, { ...done(2), readyReplicas: 2 }), undefined],
    [
      "ready, not yet available (minReadySeconds)",
      "Deployment",
      deployment(2, { ...done(2), availableReplicas: 2 }),
      undefined,
    ],
    ["statefulset complete", "StatefulSet", deployment(2, done(2)), 3],
    ["no status yet", "Deployment", deployment(1, undefined), undefined],
    [
      "daemonset complete",
      "DaemonSet",
      {
        metadata: { generation: 1 },
        status: {
          observedGeneration: 1,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 2,
          numberReady: 2,
          numberAvailable: 2,
        },
      },
      2,
    ],
    [
      "daemonset ready, not yet available",
      "DaemonSet",
      {
        metadata: { generation: 1 },
        status: {
          observedGeneration: 1,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 2,
          numberReady: 2,
          numberAvailable: 1,
        },
      },
      undefined,
    ],
    [
      "daemonset updating",
      "DaemonSet",
      {
        metadata: { generation: 1 },
        status: {
          observedGeneration: 1,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 1,
          numberReady: 2,
          numberAvailable: 2,
        },
      },
      undefined,
    ],
    [
      // The zero counts are omitted from the status; kubectl rollout status calls it complete.
      "daemonset on no node",
      "DaemonSet",
      { metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 0 } },
      0,
    ],
  ] as const)("%s", (_name, kind, obj, want) => {
    expect(completedReplicas(kind, obj)).toBe(want);
  });
});

describe("deploymentReceipt", () => {
  it("names pinned images by digest and the Argo CD application and revision", () => {
    const o = deployment(2, done(2));
    const withArgo = {
      ...o,
      metadata: {
        ...o.metadata,
        annotations: {
          "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/api",
          [REV]: "4f2a9c1e",
        },
      },
    };
    expect(deploymentReceipt("Deployment", withArgo)?.payload).toEqual({
      uid: "u-1",
      generation: 2,
      replicas: 3,
      images: [
        { container: "api", image: pinned, digest: `sha256:${"b".repeat(64)}` },
        { container: "sidecar", image: "envoy:1.31" },
      ],
      argoCd: { application: "shop", revision: "4f2a9c1e" },
    });
    expect(imagesOf({ metadata: {} })).toEqual([]);
  });

  it.each([
    ["neither annotation", {}, undefined],
    [
      "the tracking id only",
      { "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/api" },
      { application: "shop" },
    ],
    ["the revision only", { [REV]: "v1.4.2" }, { revision: "v1.4.2" }],
  ])("argoCd with %s", (_n, annotations, want) => {
    const o = deployment(2, done(2));
    const p = deploymentReceipt("Deployment", { ...o, metadata: { ...o.metadata, annotations } })!;
    expect((p.payload as { argoCd?: unknown }).argoCd).toEqual(want);
  });

  it("has one digest per (uid, generation): recomputed equal, a new generation differs", () => {
    const a = deploymentReceipt("Deployment", deployment(2, done(2)))!;
    const again = deploymentReceipt(
      "Deployment",
      deployment(2, { ...done(2), observedGeneration: 3 }),
    )!;
    const next = deploymentReceipt("Deployment", deployment(3, done(3)))!;
    expect(receiptDigest(again)).toBe(receiptDigest(a));
    expect(receiptDigest(next)).not.toBe(receiptDigest(a));
    expect(deploymentReceipt("Deployment", deployment(3, done(2)))).toBeUndefined();
  });
});
