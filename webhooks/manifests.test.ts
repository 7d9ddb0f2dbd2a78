import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import { buildServer } from "./app.ts";
import { WEBHOOK_ENDPOINTS } from "./endpoints.ts";
import { MemoryLookups } from "./memory-lookups.ts";
import { WEBHOOK_MANIFEST_PATH, webhookManifestText } from "./manifest-file.ts";
import {
  CONTROLLED_BY_JOB,
  DEFAULT_JOB_CONTROLLERS,
  JOB_POD_SPEC,
  SPEC_OR_CONTROLLER_UPDATES_ONLY,
  SYSTEM_NAMESPACES,
  gpuPodCondition,
  notFromUsers,
  notJobControllerPod,
  renderWebhookConfigurations,
} from "./manifests.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT } from "./policies/receipt.ts";

const cluster = renderWebhookConfigurations({
  target: { service: { namespace: "vaultmesh-system", name: "vaultmesh-webhook" } },
});
const entries = [...cluster.validating.webhooks, ...cluster.mutating.webhooks];
const byName = (n: string): (typeof entries)[number] | undefined =>
  entries.find((e) => e.name === n);

describe("renderWebhookConfigurations", () => {
  it("has one entry per resource and operation set, each with its own failure policy and timeout", () => {
    expect(entries.map((e) => [e.name, e.failurePolicy, e.timeoutSeconds])).toEqual(
      expect.arrayContaining([
        ["gpuworkloads.mutate.vaultmesh.cloud", "Fail", 5],
        ["gpuworkloads.validate.vaultmesh.cloud", "Fail", 5],
        ["pods.gpu-guard.vaultmesh.cloud", "Fail", 3],
        ["jobs.gpu-guard.vaultmesh.cloud", "Fail", 3],
        ["receipts.validate.vaultmesh.cloud", "Ignore", 3],
        ["receipts-delete.validate.vaultmesh.cloud", "Fail", 3],
        ["treaties.validate.vaultmesh.cloud", "Ignore", 3],
        ["tenants.validate.vaultmesh.cloud", "Ignore", 3],
        ["federationpeers.validate.vaultmesh.cloud", "Ignore", 3],
      ]),
    );
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
  });

  it("guards GPU pods in tenant namespaces only, system namespaces exempt, GPU pods only", () => {
    const guard = byName("pods.gpu-guard.vaultmesh.cloud");
    expect(guard?.namespaceSelector?.matchExpressions).toEqual([
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...SYSTEM_NAMESPACES] },
      { key: "vaultmesh.cloud/tenant", operator: "Exists" },
    ]);
    expect(guard?.matchConditions).toEqual([
      { name: "gpu-pods-only", expression: gpuPodCondition() },
      { name: "not-job-controller-pod", expression: notJobControllerPod(DEFAULT_JOB_CONTROLLERS) },
    ]);
    expect(guard?.clientConfig.service).toEqual({
      namespace: "vaultmesh-system",
      name: "vaultmesh-webhook",
      path: "/validate/pods",
      port: 443,
    });
  });

  it("guards GPU Jobs like GPU pods: tenant namespaces, the pod template's GPU condition", () => {
    const guard = byName("jobs.gpu-guard.vaultmesh.cloud");
    const pods = byName("pods.gpu-guard.vaultmesh.cloud");
    expect(guard?.rules).toEqual([
      {
        apiGroups: ["batch"],
        apiVersions: ["v1"],
        resources: ["jobs"],
        operations: ["CREATE", "UPDATE"],
        scope: "Namespaced",
      },
    ]);
    expect(guard?.namespaceSelector).toEqual(pods?.namespaceSelector);
    expect(guard?.matchConditions).toEqual([
      { name: "gpu-jobs-only", expression: gpuPodCondition(undefined, undefined, JOB_POD_SPEC) },
      { name: "not-gpu-job-creator", expression: notFromUsers([DEFAULT_OPERATOR_SERVICE_ACCOUNT]) },
      { name: "spec-or-controller-updates-only", expression: SPEC_OR_CONTROLLER_UPDATES_ONLY },
    ]);
    expect(guard?.matchConditions?.[0]?.expression).toBe(
      gpuPodCondition().replaceAll("object.spec.", "object.spec.template.spec."),
    );
    expect(guard?.clientConfig.service?.path).toBe("/validate/jobs");
  });

  it("scopes test copies by namespace label (namespaced kinds) or object label (cluster kinds)", () => {
    const t = renderWebhookConfigurations({
      target: { url: "https://127.0.0.1:1234/" },
      caBundlePem: "PEM",
      nameSuffix: "-t1",
      testScope: { key: "k", value: "t1" },
    });
    expect(t.validating.metadata.name).toBe("vaultmesh-validating-t1");
    const treaty = t.validating.webhooks.find((w) => w.name.startsWith("treaties."));
    expect(treaty?.objectSelector).toEqual({ matchLabels: { k: "t1" } });
    expect(treaty?.namespaceSelector).toBeUndefined();
    expect(treaty?.clientConfig).toEqual({
      url: "https://127.0.0.1:1234/validate/treaties",
      caBundle: Buffer.from("PEM").toString("base64"),
    });
    const pods = t.validating.webhooks.find((w) => w.name.startsWith("pods."));
    expect(pods?.namespaceSelector?.matchLabels).toEqual({ k: "t1" });
    expect(pods?.namespaceSelector?.matchExpressions).toHaveLength(2);
  });

  it("skips the configured GPU Job creators and Job controller identities (ADR 0101)", () => {
    const t = renderWebhookConfigurations({
      target: { url: "https://127.0.0.1:1234/" },
      gpuJobCreators: ["system:serviceaccount:ops:vaultmesh-operator", "ci'bot"],
      jobControllers: ["system:serviceaccount:kube-system:job-controller"],
    });
    const cond = (webhook: string, name: string): string | undefined =>
      t.validating.webhooks
        .find((w) => w.name === webhook)
        ?.matchConditions?.find((c) => c.name === name)?.expression;
    expect(cond("jobs.gpu-guard.vaultmesh.cloud", "not-gpu-job-creator")).toBe(
      "!(request.userInfo.username in ['system:serviceaccount:ops:vaultmesh-operator', 'ci\\'bot'])",
    );
    expect(cond("pods.gpu-guard.vaultmesh.cloud", "not-job-controller-pod")).toBe(
      `!(request.userInfo.username in ['system:serviceaccount:kube-system:job-controller'] && ${CONTROLLED_BY_JOB})`,
    );
    // Only these two guards skip identities: every other webhook sees every user.
    const withIdentity = [...t.validating.webhooks, ...t.mutating.webhooks]
      .filter((w) => w.matchConditions?.some((c) => c.expression.includes("request.userInfo")))
      .map((w) => w.name);
    expect(withIdentity.sort()).toEqual([
      "jobs.gpu-guard.vaultmesh.cloud",
      "pods.gpu-guard.vaultmesh.cloud",
    ]);
  });

  it("sends every GPU pod and Job to the guards when the identity lists are empty", () => {
    const t = renderWebhookConfigurations({
      target: { url: "https://127.0.0.1:1234/" },
      gpuJobCreators: [],
      jobControllers: [],
    });
    const names = (webhook: string): string[] =>
      (t.validating.webhooks.find((w) => w.name === webhook)?.matchConditions ?? []).map(
        (c) => c.name,
      );
    expect(names("pods.gpu-guard.vaultmesh.cloud")).toEqual(["gpu-pods-only"]);
    expect(names("jobs.gpu-guard.vaultmesh.cloud")).toEqual([
      "gpu-jobs-only",
      "spec-or-controller-updates-only",
    ]);
  });

  it("builds the GPU condition from the configured resources and taint keys", () => {
    expect(gpuPodCondition(["amd.com/gpu"], ["amd.com/gpu"])).toContain(
      "'amd.com/gpu' in c.resources.limits",
    );
    expect(gpuPodCondition(["a'b"])).toContain("'a\\'b'");
  });
});

describe(WEBHOOK_MANIFEST_PATH, () => {
  it("is up to date with the webhook table (node hack/generate-webhook-manifests.ts)", () => {
    const have = readFileSync(new URL(`../${WEBHOOK_MANIFEST_PATH}`, import.meta.url), "utf8");
    expect(have).toBe(webhookManifestText());
  });
});

describe("the server", () => {
  it("serves every path the configurations name", async () => {
    const app = buildServer({ lookups: new MemoryLookups() });
    for (const e of WEBHOOK_ENDPOINTS) {
      const res = await app.inject({ method: "POST", url: e.path, payload: {} });
      expect([e.path, res.statusCode]).toEqual([e.path, 400]);
    }
    await app.close();
  });
});
