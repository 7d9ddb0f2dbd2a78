import { describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import type { KubeClient, KubeObject } from "../kube/index.ts";
import { ProblemReason } from "./problem.ts";
import {
  CachedTenantReads,
  NAMESPACE_INDEX,
  TenantAccess,
  type ReadCache,
} from "./tenant-reads.ts";

/** An informer cache over fixed objects, indexed by namespace like the bridge's. */
function cache<T extends KubeObject>(objs: T[], synced = true): ReadCache<T> {
  return {
    hasSynced: () => synced,
    get: (name, ns) => objs.find((o) => o.metadata?.name === name && o.metadata.namespace === ns),
    byIndex: (index, value) => {
      if (index !== NAMESPACE_INDEX) throw new Error(`no index ${index}`);
      return objs.filter((o) => o.metadata?.namespace === value);
    },
  };
}
const workload = (ns: string, name: string): GPUWorkload =>
  ({ metadata: { name, namespace: ns }, spec: {} }) as unknown as GPUWorkload;
const receipt = (ns: string, digest: string): Receipt =>
  ({ metadata: { name: digest, namespace: ns }, spec: { digest } }) as unknown as Receipt;

/** Every tenant's API identity may read in its own namespace, except those in `denied`. */
function kube(denied: string[] = []): KubeClient {
  let user = "";
  const c = {
    withHeaders(h: Record<string, string>) {
      user = h["Impersonate-User"] ?? "";
      return c;
    },
    request: () =>
      Promise.resolve({ status: { allowed: !denied.some((t) => user.endsWith(`:${t}`)) } }),
  };
  return c as unknown as KubeClient;
}

const objs = {
  workloads: [workload("tenant-acme", "train"), workload("tenant-beta", "train")],
  receipts: [receipt("tenant-acme", "sha256:a"), receipt("tenant-beta", "sha256:b")],
};

describe("CachedTenantReads", () => {
  it("shows a tenant only its own namespace's workloads and receipts", async () => {
    const reads = new CachedTenantReads(
      new TenantAccess(kube()),
      cache(objs.workloads),
      cache(objs.receipts),
    );
    expect((await reads.workloads("acme")).map((w) => w.metadata.namespace)).toEqual([
      "tenant-acme",
    ]);
    expect((await reads.workload("beta", "train"))?.metadata.namespace).toBe("tenant-beta");
    expect(await reads.workload("gamma", "train")).toBeUndefined();
    expect(await reads.receipt("acme", "sha256:b")).toBeUndefined();
    expect((await reads.receipt("beta", "sha256:b"))?.spec.digest).toBe("sha256:b");
  });

  it("refuses a tenant whose identity may not read (403), and answers 503 before the sync", async () => {
    const denied = new CachedTenantReads(
      new TenantAccess(kube(["acme"])),
      cache(objs.workloads),
      cache(objs.receipts),
    );
    await expect(denied.workloads("acme")).rejects.toMatchObject({ problem: { status: 403 } });
    await expect(denied.receipts("acme")).rejects.toMatchObject({ problem: { status: 403 } });
    const early = new CachedTenantReads(
      new TenantAccess(kube()),
      cache(objs.workloads, false),
      cache(objs.receipts, false),
    );
    await expect(early.workloads("acme")).rejects.toMatchObject({
      problem: { status: 503, reason: ProblemReason.DependencyUnavailable },
    });
  });
});
