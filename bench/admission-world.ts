/**
 * The world the admission benchmark decides in: one tenant on the pro plan with 40 live
 * workloads, 24 treaties (one governed by the test vault-law policy), and the Job chain the GPU
 * pod guard walks. Shared by the in-process phase and the server child, so both decide the
 * same requests against the same data.
 */
import { tenantNamespace } from "../crds/domain/tenancy.ts";
import { readFileSync } from "node:fs";
import type { Treaty } from "../crds/index.ts";
import {
  makeJob,
  makePod,
  makeReview,
  makeTenant,
  makeTreaty,
  makeWorkload,
} from "../test/builders/webhook-objects.ts";
import { MemoryLookups } from "../webhooks/memory-lookups.ts";

/** Namespace of the benchmark tenant. */
export const BENCH_TENANT = "bench";
export const BENCH_NS = tenantNamespace(BENCH_TENANT);
/** The Job (and its GPUWorkload) that bench pods claim as their controller. */
export const BENCH_JOB = { name: "bench-job", uid: "0b0e0000-0000-4000-8000-0000000000a1" };
export const BENCH_WORKLOAD = {
  name: "bench-workload",
  uid: "0b0e0000-0000-4000-8000-0000000000b1",
};

const wasm = new Uint8Array(
  readFileSync(new URL("../test/fixtures/vault-law/vault-law.wasm", import.meta.url)),
);

/**
 * Lookups holding the benchmark world; `podNamespaces` get the bench Job and its GPUWorkload too
 * (the end-to-end phase sends its pods from namespaces of its own).
 */
export function benchLookups(podNamespaces: readonly string[] = []): MemoryLookups {
  const l = new MemoryLookups();
  l.add(
    makeTenant(BENCH_TENANT, {
      plan: "pro",
      quotas: { maxGpus: 1000, maxConcurrentWorkloads: 1000 },
    }),
  );
  const regions = ["us-west", "us-east", "eu-west", "local"];
  for (let i = 0; i < 23; i++) {
    const t: Treaty = makeTreaty(`pool-${i}`, {
      provider: i % 2 === 0 ? "in-cluster" : "akash",
      ...(i % 2 === 0
        ? {}
        : { endpoint: "https://akash.example", vaultLaw: { governance: "vote" } }),
      regions: [regions[i % regions.length] ?? "local"],
      pricing: [{ gpuType: i % 3 === 0 ? "a10g" : "h100", usdPerHour: 1 + i / 10 }],
    });
    l.add(t);
  }
  l.add(
    makeTreaty("governed", {
      provider: "akash",
      endpoint: "https://akash.example",
      regions: ["us-west"],
      pricing: [{ gpuType: "a10g", usdPerHour: 0.9 }],
      vaultLaw: { policyRef: "configmap://vaultmesh-system/law", governance: "DAO vote #1" },
    }),
  );
  l.modules.set("vaultmesh-system/law/policy.wasm", wasm);
  for (let i = 0; i < 40; i++)
    l.add(makeWorkload(`w-${i}`, BENCH_NS, { count: 1, uid: `uid-${i}` }));
  for (const ns of [BENCH_NS, ...podNamespaces]) {
    l.add(makeWorkload(BENCH_WORKLOAD.name, ns, { count: 1, uid: BENCH_WORKLOAD.uid }));
    l.addJob(makeJob(BENCH_JOB.name, ns, BENCH_JOB.uid, BENCH_WORKLOAD));
  }
  return l;
}

/** A GPUWorkload CREATE review the validating webhook allows (vault-law evaluated once). */
export function workloadReview(i: number): Record<string, unknown> {
  return makeReview({
    kind: "GPUWorkload",
    resource: "gpuworkloads",
    namespace: BENCH_NS,
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    object: makeWorkload(`new-${i}`, BENCH_NS, { count: 2, regions: ["us-west"] }),
  });
}

/** A GPU pod of the bench Job: what the pod guard sees from the Job controller. */
export function benchPod(name: string): Record<string, unknown> {
  return makePod(name, BENCH_NS, { gpus: 1, tolerateGpu: true, job: BENCH_JOB });
}

/** A Pod CREATE review of {@link benchPod}. */
export function podReview(i: number): Record<string, unknown> {
  return makeReview({
    kind: "Pod",
    group: "",
    version: "v1",
    resource: "pods",
    namespace: BENCH_NS,
    uid: `00000000-0000-4000-9000-${String(i).padStart(12, "0")}`,
    object: benchPod(`p-${i}`),
  });
}
