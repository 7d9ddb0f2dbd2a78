// Issue 5: the GPUWorkload webhooks against the real apiserver — defaults from the tenant's
// plan, quota given current usage, every reason in one denial, tenant suspension, vault-law
// (an OPA policy compiled to wasm, stored in a ConfigMap) — each through kubectl, asserting on
// what the user sees.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import { makeTenant, makeTreaty, makeWorkload } from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";

let hook: TestWebhook;
let tenant = "";
let ns = "";
let region = "";
let pool = "";
let governed = "";

const wasm = readFileSync(new URL("../fixtures/vault-law/vault-law.wasm", import.meta.url));

async function apply(
  obj: object,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await kubectl(["apply", "-f", "-", ...args], YAML.stringify(obj));
}

async function create(
  obj: object,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await kubectl(["create", "-f", "-", ...args], YAML.stringify(obj));
}

beforeAll(async () => {
  hook = await startTestWebhook({ prefix: "gw" });
  tenant = hook.id;
  region = `r-${hook.id}`;
  pool = `${hook.id}-pool`;
  governed = `${hook.id}-akash`;
  ns = await createTenantNamespace(hook, tenant);
  const t = makeTenant(tenant, {
    plan: "starter",
    allowedRegions: [region],
    labels: hook.labels,
  });
  const { status, ...tenantSpec } = t;
  expect((await apply(tenantSpec)).stderr).toBe("");
  const statusPatch = JSON.stringify({ status });
  const patched = await kubectl([
    "patch",
    "tenant",
    tenant,
    "--subresource=status",
    "--type=merge",
    "-p",
    statusPatch,
  ]);
  expect(patched.stderr).toBe("");
  for (const treaty of [
    makeTreaty(pool, {
      regions: [region],
      pricing: [{ gpuType: "mi250x", usdPerHour: 1 }],
      labels: hook.labels,
    }),
    makeTreaty(governed, {
      provider: "akash",
      endpoint: "https://akash.example",
      regions: [region],
      pricing: [{ gpuType: "mi250x", usdPerHour: 2 }],
      vaultLaw: { policyRef: `configmap://${ns}/vault-law`, governance: "DAO vote #TEST-001" },
      labels: hook.labels,
    }),
  ]) {
    expect((await apply(treaty)).code).toBe(0);
  }
  const cm = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "vault-law", namespace: ns, labels: { "vaultmesh.cloud/vault-law": "true" } },
    binaryData: { "policy.wasm": wasm.toString("base64") },
  };
  expect((await apply(cm)).code).toBe(0);
  // The webhook's caches must hold what the decisions read.
  await waitFor("the webhook's caches to hold the tenant and treaties", async () =>
    Promise.resolve(
      hook.lookups.getTenant(tenant)?.status?.conditions?.[0]?.status === "True" &&
        hook.lookups.listTreaties().filter((x) => x.metadata.name?.startsWith(hook.id)).length ===
          2,
    ),
  );
  // And the apiserver must have picked up the configuration.
  await waitFor("the GPUWorkload webhook to be called", async () => {
    const r = await create(
      makeWorkload("probe", ns, { gpuType: "mi250x", count: 64 }),
      "--dry-run=server",
    );
    return r.stderr.includes("gpuworkloads.validate.vaultmesh.cloud");
  });
}, 120_000);

afterAll(async () => {
  await hook?.stop();
  await kubectl(["delete", "treaty", pool, governed, "--ignore-not-found", "--wait=false"]);
  await kubectl(["delete", "tenant", tenant, "--ignore-not-found", "--wait=false"]);
  if (ns) await deleteNamespace(ns);
});

const workload = (
  name: string,
  opts: Parameters<typeof makeWorkload>[2] = {},
): Record<string, unknown> => {
  const w = makeWorkload(name, ns, { gpuType: "mi250x", regions: [region], ...opts });
  // What a user writes: no profile, priority or runtime limit.
  const { profile: _p, ...spec } = w.spec;
  return { ...w, spec };
};

describe("GPUWorkload admission", () => {
  it("fills in the plan's defaults and the tenant label", async () => {
    expect((await create(workload("first"))).code).toBe(0);
    const got = await kubectl(["get", "gpuworkload", "first", "-n", ns, "-o", "json"]);
    const obj = JSON.parse(got.stdout) as {
      metadata: { labels: Record<string, string> };
      spec: { priority: number; maxRuntimeSeconds: number; profile: string };
    };
    expect(obj.metadata.labels["vaultmesh.cloud/tenant"]).toBe(tenant);
    // Plan starter (services/tenant-stack/workload-defaults.ts): priority 300, 4 hours.
    expect(obj.spec).toMatchObject({ priority: 300, maxRuntimeSeconds: 14_400, profile: "batch" });
  });

  it("refuses a request that does not fit the quota given current usage", async () => {
    await waitFor("the first workload in the webhook's cache", async () =>
      Promise.resolve(hook.lookups.listWorkloads(ns).length === 1),
    );
    const r = await create(workload("too-big", { count: 4 }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `admission webhook "gpuworkloads.validate.vaultmesh.cloud" denied the request: spec.gpu.count: Forbidden: requests 4 GPUs but tenant ${tenant} already uses 1 of its 4 (plan starter); 3 available`,
    );
  });

  it("lists every reason in one denial", async () => {
    const r = await create(
      workload("everything-wrong", { count: 5, regions: [region, "mars"], treatyRef: governed }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec.gpu.count: Forbidden: requests 5 GPUs");
    expect(r.stderr).toContain(
      `spec.regions[1]: Forbidden: region mars is not allowed for tenant ${tenant}`,
    );
    expect(r.stderr).toContain(
      `spec.routing.treatyRef.name: Forbidden: vault-law of treaty ${governed}: treaty ${governed} allows at most 4 GPUs per workload, requested 5`,
    );
  });

  it("admits a workload the treaty's vault-law allows", async () => {
    const r = await create(workload("pinned", { treatyRef: governed }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("admits with a warning when no treaty offers the GPU type yet", async () => {
    const r = await create(workload("waiting", { gpuType: "h200" }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Warning: no treaty offers h200");
  });

  it("refuses new workloads of a suspended tenant", async () => {
    expect(
      (
        await kubectl([
          "patch",
          "tenant",
          tenant,
          "--type=merge",
          "-p",
          '{"spec":{"suspended":true}}',
        ])
      ).code,
    ).toBe(0);
    await waitFor("the suspension in the webhook's cache", async () =>
      Promise.resolve(hook.lookups.getTenant(tenant)?.spec.suspended === true),
    );
    const r = await create(workload("after-suspension"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`metadata.namespace: Forbidden: tenant ${tenant} is suspended`);
    // Metadata-only updates still pass: the operator must be able to clean up.
    const labelled = await kubectl(["label", "gpuworkload", "first", "-n", ns, "cleanup=yes"]);
    expect(labelled.code).toBe(0);
  });
});
