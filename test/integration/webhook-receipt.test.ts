// Issue 5: Receipt admission against the real apiserver — a digest that matches the canonical
// payload, an immutable spec, and deletes only by the operator's service account.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import type { Receipt } from "../../crds/index.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT } from "../../webhooks/policies/receipt.ts";
import { makeReceipt } from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";

let hook: TestWebhook;
let ns = "";

const receipt = (name: string, change?: (r: Receipt) => void): string => {
  const r = makeReceipt(name, ns);
  change?.(r);
  return YAML.stringify(r);
};

beforeAll(async () => {
  hook = await startTestWebhook({
    prefix: "rc",
    only: ["receipts.validate.vaultmesh.cloud", "receipts-delete.validate.vaultmesh.cloud"],
  });
  ns = await createTenantNamespace(hook, hook.id);
  // The operator's identity may delete receipts (RBAC); the webhook decides who else may not.
  const rbac = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "receipts", namespace: ns },
      rules: [
        { apiGroups: ["vaultmesh.cloud"], resources: ["receipts"], verbs: ["get", "delete"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "operator-receipts", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "receipts" },
      subjects: [
        { kind: "ServiceAccount", name: "vaultmesh-operator", namespace: "vaultmesh-system" },
      ],
    },
  ];
  for (const o of rbac)
    expect((await kubectl(["apply", "-f", "-"], YAML.stringify(o))).code).toBe(0);
  await waitFor("the Receipt webhook to be called", async () => {
    const r = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      receipt("probe", (x) => (x.spec.payload.cost = 1)),
    );
    return r.stderr.includes("receipts.validate.vaultmesh.cloud");
  });
}, 120_000);

afterAll(async () => {
  // Configurations first: the namespace controller may then delete the receipts freely.
  await hook?.stop();
  if (ns) await deleteNamespace(ns);
});

describe("Receipt admission", () => {
  it("accepts a receipt whose digest is the ledger's digest of type, subject and payload", async () => {
    const r = await kubectl(["create", "-f", "-"], receipt("completed-1"));
    expect(r.stderr).toBe("");
  });

  it("refuses a receipt whose payload was altered after signing", async () => {
    const digest = makeReceipt("x", ns).spec.digest;
    const r = await kubectl(
      ["create", "-f", "-"],
      receipt("forged", (x) => (x.spec.payload.cost = 0.01)),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `admission webhook "receipts.validate.vaultmesh.cloud" denied the request: spec.digest: Invalid value: ${digest} is not the ledger digest of the canonical {type, subject, payload}`,
    );
  });

  it("keeps the spec immutable but lets labels change", async () => {
    const patched = await kubectl([
      "patch",
      "receipt",
      "completed-1",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"payload":{"cost":99}}}',
    ]);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toMatch(/spec is immutable/);
    expect((await kubectl(["label", "receipt", "completed-1", "-n", ns, "audited=yes"])).code).toBe(
      0,
    );
  });

  it("refuses a delete by anyone but the operator, naming the operator", async () => {
    const r = await kubectl(["delete", "receipt", "completed-1", "-n", ns]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "receipts-delete.validate.vaultmesh.cloud" denied the request',
    );
    expect(r.stderr).toContain(
      `may only be deleted by the operator (${DEFAULT_OPERATOR_SERVICE_ACCOUNT})`,
    );
  });

  it("lets the operator's service account delete", async () => {
    const r = await kubectl([
      "delete",
      "receipt",
      "completed-1",
      "-n",
      ns,
      `--as=${DEFAULT_OPERATOR_SERVICE_ACCOUNT}`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
