import { describe, expect, it } from "@jest/globals";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import { signReceipt } from "../../../services/ledger/receipt.ts";
import {
  DEPLOYMENT_RECEIPT_UID_LABEL,
  deploymentReceiptName,
  deploymentReceiptView,
} from "./deployment-receipt-view.ts";
import { deploymentReceipt, type RolloutObject } from "./deployment-rollout.ts";

const done: RolloutObject = {
  metadata: { uid: "u-1", name: "api", namespace: "shop", generation: 4 },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "api", image: "api:1" }] } } },
  status: {
    observedGeneration: 4,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
  },
};

describe("deploymentReceiptView", () => {
  it("names the view from kind, name and digest, and shows the ledger receipt as is", () => {
    const input = deploymentReceipt("StatefulSet", done)!;
    const signer = ed25519Signer(generateEd25519().privateKeyPem);
    const { receipt } = signReceipt(input, signer, { now: () => new Date(0) });
    const view = deploymentReceiptView(
      "StatefulSet",
      { namespace: "shop", name: "api", uid: "u-1" },
      receipt,
    );
    expect(view.metadata).toEqual({
      name: deploymentReceiptName("StatefulSet", "api", receipt.digest),
      namespace: "shop",
      labels: { [DEPLOYMENT_RECEIPT_UID_LABEL]: "u-1" },
    });
    expect(view.metadata.name).toMatch(/^statefulset-api-[0-9a-f]{12}$/);
    expect(view.spec).toMatchObject({
      type: "DeploymentRecorded",
      subject: { apiVersion: "apps/v1", kind: "StatefulSet", namespace: "shop", uid: "u-1" },
      payload: { generation: 4, replicas: 2 },
      digest: receipt.digest,
    });
  });

  it("the same rollout gives the same name; another generation another", () => {
    const a = deploymentReceiptName("Deployment", "api", "sha256:" + "ab".repeat(32));
    expect(a).toBe("deployment-api-abababababab");
    expect(
      deploymentReceiptName("Deployment", "x".repeat(300), "sha256:" + "0".repeat(64)),
    ).toHaveLength("deployment-".length + 200 + 13);
  });
});
