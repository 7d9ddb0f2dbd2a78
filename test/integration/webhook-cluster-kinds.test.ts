// Issue 5: Treaty, Tenant and FederationPeer admission against the real apiserver — denials
// with field paths, warnings that kubectl prints — and an unexpected kind allowed with a
// warning.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import type { FederationPeer } from "../../crds/index.ts";
import { sample } from "../../crds/test-helpers.ts";
import {
  renderWebhookConfigurations,
  type WebhookConfiguration,
} from "../../webhooks/manifests.ts";
import {
  applyWebhookConfigurations,
  deleteWebhookConfigurations,
} from "../../webhooks/registration.ts";
import { makeTenant, makeTreaty } from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  WEBHOOK_TEST_LABEL,
  type TestWebhook,
} from "../harness/webhook.ts";

let hook: TestWebhook;
let ns = "";
let misrouted: WebhookConfiguration | undefined;
const names: string[] = [];

const apply = async (obj: object): Promise<{ code: number; stdout: string; stderr: string }> =>
  await kubectl(["apply", "-f", "-"], YAML.stringify(obj));

const treatyName = (suffix: string): string => {
  const n = `${hook.id}-${suffix}`;
  names.push(`treaty/${n}`);
  return n;
};

beforeAll(async () => {
  hook = await startTestWebhook({
    prefix: "ck",
    only: [
      "treaties.validate.vaultmesh.cloud",
      "tenants.validate.vaultmesh.cloud",
      "federationpeers.validate.vaultmesh.cloud",
    ],
  });
  ns = await createTenantNamespace(hook, hook.id);
  await waitFor("the Treaty webhook to be called", async () => {
    const r = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(
        makeTreaty(`${hook.id}-probe`, {
          provider: "akash",
          endpoint: "https://a.example",
          labels: hook.labels,
        }),
      ),
    );
    return r.stderr.includes("treaties.validate.vaultmesh.cloud");
  });
}, 120_000);

afterAll(async () => {
  if (misrouted) await deleteWebhookConfigurations(hook.client, [misrouted]);
  await hook?.stop();
  if (names.length) await kubectl(["delete", ...names, "--ignore-not-found", "--wait=false"]);
  if (ns) await deleteNamespace(ns);
});

describe("Treaty admission", () => {
  it("refuses an external treaty without a governance reference", async () => {
    const r = await apply(
      makeTreaty(treatyName("ungoverned"), {
        provider: "akash",
        endpoint: "https://a.example",
        labels: hook.labels,
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "treaties.validate.vaultmesh.cloud" denied the request: spec.vaultLaw.governance: Required value: external provider akash needs a governance reference',
    );
  });

  it("warns when a quota is lowered below current usage", async () => {
    const name = treatyName("pool");
    expect(
      (await apply(makeTreaty(name, { quotas: { maxConcurrentJobs: 10 }, labels: hook.labels })))
        .code,
    ).toBe(0);
    const status = JSON.stringify({ status: { activeJobs: 3 } });
    expect(
      (
        await kubectl([
          "patch",
          "treaty",
          name,
          "--subresource=status",
          "--type=merge",
          "-p",
          status,
        ])
      ).code,
    ).toBe(0);
    const r = await kubectl([
      "patch",
      "treaty",
      name,
      "--type=merge",
      "-p",
      '{"spec":{"quotas":{"maxConcurrentJobs":1}}}',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "Warning: spec.quotas.maxConcurrentJobs 1 is below the 3 jobs running now",
    );
  });
});

describe("Treaty pricing against its GPU pool", () => {
  it("warns when the pool offers a type without a price, and a priced type is not in the pool", async () => {
    // The cluster's GPU pool: nodes role=gpu, gpu-type=a10g (hack/controlplane/node-pools.yaml).
    const r = await apply(
      makeTreaty(treatyName("h100-pool"), {
        pricing: [{ gpuType: "h100", usdPerHour: 3 }],
        labels: hook.labels,
      }),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /Warning: spec\.pricing has no price for a10g, which nodes gpu-a10g-\d/,
    );
    expect(r.stderr).toContain(
      "Warning: spec.pricing[0]: no node of the pool offers h100 (label gpu-type)",
    );
  });
});

describe("Tenant admission", () => {
  it("warns about allowed treaties that do not exist", async () => {
    const name = `${hook.id}-t`;
    names.push(`tenant/${name}`);
    const { status: _s, ...tenant } = makeTenant(name, {
      allowedTreaties: ["no-such-treaty"],
      labels: hook.labels,
    });
    const r = await apply(tenant);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "Warning: spec.allowedTreaties[0]: treaty no-such-treaty does not exist (yet)",
    );
  });
});

describe("FederationPeer admission", () => {
  it("refuses a trust anchor whose key does not parse", async () => {
    const peer = sample("vaultmesh-eu") as FederationPeer;
    peer.metadata = { name: `${hook.id}-peer`, labels: hook.labels };
    peer.spec.trustAnchor.keys[0]!.publicKey =
      "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----";
    const r = await apply(peer);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "spec.trustAnchor.keys[0].publicKey: Invalid value: not a PEM-encoded Ed25519 public key (SPKI)",
    );
  });
});

describe("an unexpected kind", () => {
  it("is allowed with a warning naming the webhook", async () => {
    // A misconfiguration on purpose: ConfigMaps of this file's namespace sent to the Treaty webhook.
    const rendered = renderWebhookConfigurations({
      target: { url: hook.server.url },
      caBundlePem: hook.caPem,
      nameSuffix: `-${hook.id}-misrouted`,
      only: ["treaties.validate.vaultmesh.cloud"],
    });
    const entry = rendered.validating.webhooks[0]!;
    entry.rules = [
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["configmaps"],
        operations: ["CREATE"],
        scope: "Namespaced",
      },
    ];
    entry.namespaceSelector = { matchLabels: { [WEBHOOK_TEST_LABEL]: hook.id } };
    delete entry.objectSelector;
    misrouted = rendered.validating;
    await applyWebhookConfigurations(hook.client, [misrouted]);
    const r = await waitFor("the misrouted webhook to be called", async () => {
      const res = await kubectl([
        "create",
        "configmap",
        "probe",
        "-n",
        ns,
        "--from-literal=a=b",
        "--dry-run=server",
      ]);
      return res.stderr.includes("does not handle kind") ? res : undefined;
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "Warning: webhook treaties.validate.vaultmesh.cloud does not handle kind ConfigMap; allowed without checks",
    );
  });
});
