// Issue 5: what each kind does while the webhook server is down, with every entry registered
// as in production (scoped to this file). Fail entries refuse — GPU pods above all, and
// GPUWorkloads and Receipt deletes — Ignore entries let the request through to the CRD's own
// schema and CEL rules; a CPU pod never depended on the webhook at all. docs/webhooks.md has
// the same table.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import type { FederationPeer } from "../../crds/index.ts";
import { sample } from "../../crds/test-helpers.ts";
import {
  makePod,
  makeReceipt,
  makeTenant,
  makeTreaty,
  makeWorkload,
} from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";

let hook: TestWebhook;
let ns = "";
const cleanup: string[] = [];

const create = async (obj: object): Promise<{ code: number; stdout: string; stderr: string }> =>
  await kubectl(["create", "-f", "-"], YAML.stringify(obj));

beforeAll(async () => {
  hook = await startTestWebhook({ prefix: "out" });
  ns = await createTenantNamespace(hook, hook.id);
  expect((await create(makeReceipt("kept", ns))).code).toBe(0);
  // A workload admitted while the server is up, to update during the outage.
  const { status, ...tenant } = makeTenant(hook.id, { labels: hook.labels });
  expect((await create(tenant)).code).toBe(0);
  cleanup.push(`tenant/${hook.id}`);
  const statusPatch = JSON.stringify({ status });
  await kubectl([
    "patch",
    "tenant",
    hook.id,
    "--subresource=status",
    "--type=merge",
    "-p",
    statusPatch,
  ]);
  await waitFor("the tenant Ready in the webhook's cache", async () =>
    Promise.resolve(hook.lookups.getTenant(hook.id)?.status?.conditions?.[0]?.status === "True"),
  );
  expect((await create(makeWorkload("existing", ns, { gpuType: "mi250x" }))).code).toBe(0);
  await waitFor("the GPU pod guard to be called", async () => {
    const res = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(makePod("probe", ns, { gpus: 1 })),
    );
    return res.stderr.includes("denied the request");
  });
  await hook.stopServer();
}, 120_000);

afterAll(async () => {
  await hook?.stop();
  if (cleanup.length) await kubectl(["delete", ...cleanup, "--ignore-not-found", "--wait=false"]);
  if (ns) await deleteNamespace(ns);
});

const refusedForOutage = (stderr: string, webhook: string): void => {
  expect(stderr).toContain(`failed calling webhook "${webhook}"`);
};

describe("with the webhook server stopped", () => {
  it("refuses GPU pods (fail closed)", async () => {
    const r = await create(makePod("gpu", ns, { gpus: 1, tolerateGpu: true }));
    expect(r.code).not.toBe(0);
    refusedForOutage(r.stderr, "pods.gpu-guard.vaultmesh.cloud");
  });

  it("still admits CPU pods (matchConditions keep them off the webhook)", async () => {
    expect((await create(makePod("cpu", ns))).code).toBe(0);
  });

  it("refuses new GPUWorkloads and spec changes, admits metadata-only updates", async () => {
    const r = await create(makeWorkload("w", ns));
    expect(r.code).not.toBe(0);
    refusedForOutage(r.stderr, "gpuworkloads.mutate.vaultmesh.cloud");
    const spec = await kubectl([
      "patch",
      "gpuworkload",
      "existing",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"priority":7}}',
    ]);
    expect(spec.code).not.toBe(0);
    refusedForOutage(spec.stderr, "gpuworkloads.validate.vaultmesh.cloud");
    // matchConditions skip the webhook: the operator can still add or remove finalizers.
    const label = await kubectl([
      "label",
      "gpuworkload",
      "existing",
      "-n",
      ns,
      "during-outage=yes",
    ]);
    expect(label.stderr).toBe("");
  });

  it("refuses Receipt deletes, admits Receipt creates (the CRD's CEL keeps the spec immutable)", async () => {
    const del = await kubectl(["delete", "receipt", "kept", "-n", ns, "--wait=false"]);
    expect(del.code).not.toBe(0);
    refusedForOutage(del.stderr, "receipts-delete.validate.vaultmesh.cloud");
    expect((await create(makeReceipt("during-outage", ns))).code).toBe(0);
  });

  it("admits Treaties, Tenants and FederationPeers (fail open: suspensions must go through)", async () => {
    const treaty = makeTreaty(`${hook.id}-pool`, { labels: hook.labels });
    const { status: _s, ...tenant } = makeTenant(`${hook.id}-t`, { labels: hook.labels });
    const peer = sample("vaultmesh-eu") as FederationPeer;
    peer.metadata = { name: `${hook.id}-peer`, labels: hook.labels };
    for (const o of [treaty, tenant, peer]) {
      const r = await create(o);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    cleanup.push(`treaty/${hook.id}-pool`, `tenant/${hook.id}-t`, `federationpeer/${hook.id}-peer`);
  });
});
