// The admission server through app.inject: AdmissionReview fixtures in, responses out; bad
// input answered with 400/413/415 and a reason; metrics and the denial hook.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import type { GPUWorkload, Treaty } from "../crds/index.ts";
import { sample } from "../crds/test-helpers.ts";
import { controllerOf, makeReview, makeTenant } from "../test/builders/webhook-objects.ts";
import type { AdmissionReviewResponse } from "./admission.ts";
import { buildServer, resolveConfig } from "./app.ts";
import type { DenialRecord } from "./deps.ts";
import { MemoryLookups } from "./memory-lookups.ts";
import { WebhookMetrics } from "./metrics.ts";

/** An AdmissionReview fixture, typed as far as the tests touch it. */
interface Fixture {
  request: {
    uid: string;
    dryRun?: boolean;
    object: { metadata: { annotations?: Record<string, string> } };
  };
}

const fixture = (name: string): Fixture =>
  JSON.parse(
    readFileSync(new URL(`../test/fixtures/admission/${name}.json`, import.meta.url), "utf8"),
  ) as Fixture;

const lookups = new MemoryLookups();
const denials: DenialRecord[] = [];
const metrics = new WebhookMetrics();
let app: FastifyInstance;

beforeAll(async () => {
  const acme = makeTenant("acme", {
    plan: "pro",
    quotas: { maxGpus: 8 },
    allowedRegions: ["local", "us-west"],
  });
  lookups.add(acme, sample("in-cluster-a10g") as Treaty, sample("aurora-akash-001") as Treaty);
  lookups.add(sample("train-llama-lora") as GPUWorkload);
  lookups.nodes.push({ metadata: { name: "gpu-1", labels: { role: "gpu", "gpu-type": "a10g" } } });
  app = buildServer({
    lookups,
    metrics,
    clock: () => new Date("2026-06-01T00:00:00Z"),
    recordDenial: (d) => {
      denials.push(d);
    },
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

type Response = AdmissionReviewResponse["response"] & {
  status: { message: string; details: { causes: { field: string }[] } };
};

async function review(
  path: string,
  body: object,
): Promise<{ status: number; json: { response: Response; error?: string } }> {
  const res = await app.inject({ method: "POST", url: path, payload: body });
  return { status: res.statusCode, json: res.json<{ response: Response; error?: string }>() };
}

describe("admission routes", () => {
  it("allows a workload within quota, echoing the request uid", async () => {
    const body = fixture("gpuworkload-create");
    const { status, json } = await review("/validate/gpuworkloads", body);
    expect(status).toBe(200);
    expect(json).toMatchObject({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: body.request.uid, allowed: true },
    });
  });

  it("denies a workload over quota with a field path, a 403 status and causes", async () => {
    const { json } = await review(
      "/validate/gpuworkloads",
      fixture("gpuworkload-create-over-quota"),
    );
    expect(json.response.allowed).toBe(false);
    expect(json.response.status).toMatchObject({ code: 403, reason: "Forbidden" });
    expect(json.response.status.message).toMatch(
      /^spec\.gpu\.count: Forbidden: requests 16 GPUs but tenant acme already uses 1 of its 8/,
    );
    expect(json.response.status.details.causes[0]?.field).toBe("spec.gpu.count");
  });

  it("patches defaults from the tenant's plan as base64 JSON Patch", async () => {
    const { json } = await review(
      "/mutate/gpuworkloads",
      fixture("gpuworkload-create-no-defaults"),
    );
    expect(json.response).toMatchObject({ allowed: true, patchType: "JSONPatch" });
    const patch = JSON.parse(
      Buffer.from(json.response.patch ?? "", "base64").toString(),
    ) as unknown;
    expect(patch).toEqual([
      { op: "add", path: "/metadata/labels", value: { "vaultmesh.cloud/tenant": "acme" } },
      { op: "add", path: "/spec/routing", value: { strategy: "balanced" } },
      { op: "add", path: "/spec/profile", value: "batch" },
      { op: "add", path: "/spec/priority", value: 500 },
      { op: "add", path: "/spec/maxRuntimeSeconds", value: 43_200 },
    ]);
  });

  it("refuses a bare GPU pod", async () => {
    const { json } = await review("/validate/pods", fixture("pod-create-bare-gpu"));
    expect(json.response.allowed).toBe(false);
    expect(json.response.status.message).toContain("is not controlled by a Job");
  });

  it("refuses a tenant's GPU Job and admits the operator's, counted as gpu-job-guard", async () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "forged",
        namespace: "tenant-acme",
        ownerReferences: [controllerOf("GPUWorkload", "vaultmesh.cloud/v1alpha1", "train", "w")],
      },
      spec: {
        template: {
          spec: {
            containers: [{ name: "c", resources: { limits: { "nvidia.com/gpu": "1" } } }],
          },
        },
      },
    };
    const jobReview = (username: string): object =>
      makeReview({
        kind: "Job",
        group: "batch",
        version: "v1",
        resource: "jobs",
        namespace: "tenant-acme",
        object: job,
        username,
      });
    const denied = await review("/validate/jobs", jobReview("alice@acme.example"));
    expect(denied.json.response.allowed).toBe(false);
    expect(denied.json.response.status.message).toBe(
      "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]: Forbidden: the Job's pods would request 1 nvidia.com/gpu; GPU Jobs are created by the VaultMesh operator from a GPUWorkload (alice@acme.example may not create GPU Jobs): create a GPUWorkload instead",
    );
    const operator = "system:serviceaccount:vaultmesh-system:vaultmesh-operator";
    expect((await review("/validate/jobs", jobReview(operator))).json.response.allowed).toBe(true);
    const text = (await app.inject({ url: "/metrics" })).body;
    expect(text).toMatch(
      /vaultmesh_webhook_decisions_total\{policy="gpu-job-guard",decision="denied"\} [1-9]/,
    );
    expect(text).toMatch(
      /vaultmesh_webhook_decisions_total\{policy="gpu-job-guard",decision="allowed"\} [1-9]/,
    );
  });

  it("lets the operator's identity create GPU Jobs unless other creators are configured", () => {
    expect(resolveConfig().gpuJobCreators).toEqual([
      "system:serviceaccount:vaultmesh-system:vaultmesh-operator",
    ]);
    expect(resolveConfig({ operatorServiceAccount: "vaultmesh-admin" }).gpuJobCreators).toEqual([
      "vaultmesh-admin",
    ]);
    expect(resolveConfig({ gpuJobCreators: ["a", "b"] }).gpuJobCreators).toEqual(["a", "b"]);
  });

  it("refuses a tenant deleting a receipt, naming the operator", async () => {
    const { json } = await review("/validate/receipts", fixture("receipt-delete-by-tenant"));
    expect(json.response.allowed).toBe(false);
    expect(json.response.status.message).toContain(
      "system:serviceaccount:vaultmesh-system:vaultmesh-operator",
    );
  });

  it("warns when a treaty's quota drops below its usage", async () => {
    const { json } = await review("/validate/treaties", fixture("treaty-update-lower-quota"));
    expect(json.response.allowed).toBe(true);
    expect(json.response.warnings).toEqual([
      expect.stringContaining("maxConcurrentJobs 1 is below the 3 jobs running now"),
    ]);
  });

  it("allows an unexpected kind with a warning", async () => {
    const { json } = await review("/validate/treaties", fixture("configmap-unexpected-kind"));
    expect(json.response).toEqual({
      uid: "6a1f0d0e-0007-4c1e-9a8f-000000000007",
      allowed: true,
      warnings: [
        "webhook treaties.validate.vaultmesh.cloud does not handle kind ConfigMap; allowed without checks",
      ],
    });
  });
});

describe("bad input", () => {
  it.each([
    ["malformed-missing-uid", /request\.uid/],
    ["malformed-v1beta1", /apiVersion/],
  ])("%s → 400 with the reason", async (name, want) => {
    const { status, json } = await review("/validate/treaties", fixture(name));
    expect(status).toBe(400);
    expect(json.error).toMatch(want);
    expect(JSON.stringify(json)).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it("invalid JSON → 400", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/validate/treaties",
      headers: { "content-type": "application/json" },
      payload: "{nope",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.any(String) });
  });

  it("a non-JSON content type → 415", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/validate/treaties",
      headers: { "content-type": "text/plain" },
      payload: "hi",
    });
    expect(res.statusCode).toBe(415);
  });

  it("an oversized body → 413", async () => {
    const small = buildServer({ lookups }, { bodyLimit: 1024 });
    const body = fixture("gpuworkload-create");
    body.request.object.metadata.annotations = { pad: "x".repeat(2048) };
    const res = await small.inject({
      method: "POST",
      url: "/validate/gpuworkloads",
      payload: body,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: "request body is larger than 1024 bytes" });
    await small.close();
  });

  it("a failing lookup → 500 without details, so the entry's failurePolicy decides", async () => {
    const broken = new MemoryLookups();
    broken.listTreaties = () => {
      throw new Error("cache exploded at /secret/path");
    };
    const b = buildServer({ lookups: broken });
    const res = await b.inject({
      method: "POST",
      url: "/validate/gpuworkloads",
      payload: fixture("gpuworkload-create"),
    });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain("exploded");
    await b.close();
  });
});

describe("observability", () => {
  it("serves /healthz and /readyz from the lookups' readiness", async () => {
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    let ready = false;
    const l = new MemoryLookups();
    l.ready = () => ready;
    const b = buildServer({ lookups: l });
    expect((await b.inject({ url: "/readyz" })).statusCode).toBe(503);
    ready = true;
    expect((await b.inject({ url: "/readyz" })).statusCode).toBe(200);
    await b.close();
  });

  it("lists every reason on /readyz while not ready", async () => {
    const l = new MemoryLookups();
    l.ready = () => false;
    let reasons = ["certificate: secret ns/tls: 403 forbidden"];
    const b = buildServer({ lookups: l }, { readiness: () => reasons });
    const res = await b.inject({ url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: "not ready",
      reasons: ["caches not synced", "certificate: secret ns/tls: 403 forbidden"],
    });
    l.ready = () => true;
    reasons = [];
    expect((await b.inject({ url: "/readyz" })).json()).toEqual({ status: "ready" });
    await b.close();
  });

  it("exports decision time and outcomes per policy", async () => {
    const text = (await app.inject({ url: "/metrics" })).body;
    expect(text).toMatch(
      /vaultmesh_webhook_decision_duration_seconds_bucket\{le="0.0001",policy="gpuworkload"\} \d+/,
    );
    expect(text).toMatch(
      /vaultmesh_webhook_decisions_total\{policy="gpuworkload",decision="denied"\} [1-9]/,
    );
    expect(text).toMatch(/vaultmesh_webhook_rejected_requests_total\{reason="malformed"\} [1-9]/);
  });

  it("records denials, except dry runs", async () => {
    denials.length = 0;
    const dry = fixture("pod-create-bare-gpu");
    dry.request.dryRun = true;
    await review("/validate/pods", dry);
    await review("/validate/pods", fixture("pod-create-bare-gpu"));
    await new Promise((r) => setImmediate(r)); // the hook runs off the response path
    expect(denials).toEqual([
      expect.objectContaining({
        webhook: "pods.gpu-guard.vaultmesh.cloud",
        policy: "gpu-pod-guard",
        path: "/validate/pods",
        group: "",
        version: "v1",
        kind: "Pod",
        name: "sneaky",
        namespace: "tenant-acme",
      }),
    ]);
  });
});
