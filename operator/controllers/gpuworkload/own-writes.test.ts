import type { GPUWorkload } from "../../../crds/index.ts";
import { KubeClient } from "../../../services/kube/index.ts";
import { GPUWorkloadReconciler, type GPUWorkloadDeps } from "./gpuworkload-reconciler.ts";

// The reconciler keeps a copy of its own last status write until the cache catches up; the
// copy must go once the cache shows a newer version or the deletion, without a reconcile.
describe("copies of own writes", () => {
  const wl = (rv: string): GPUWorkload =>
    ({
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "GPUWorkload",
      metadata: {
        name: "w",
        namespace: "ns",
        uid: "u",
        resourceVersion: rv,
        managedFields: [{ manager: "vaultmesh-operator" }],
      },
      spec: { gpu: { type: "a10g", count: 1 }, template: { image: "i" } },
      status: { observedGeneration: 1 },
    }) as unknown as GPUWorkload;

  async function reconcilerAfterWrite(): Promise<GPUWorkloadReconciler> {
    let cached = wl("1");
    const client = await KubeClient.create({
      server: "http://127.0.0.1:1",
      tls: {},
      headers: () => Promise.resolve({}),
      source: "test",
    });
    // The status write answers version 2, as the API server would.
    client.request = (() => Promise.resolve(wl("2"))) as never;
    const r = new GPUWorkloadReconciler({
      client,
      workloads: {
        get: () => cached,
        list: () => [cached],
        byIndex: () => [],
        hasSynced: () => true,
      },
    } as unknown as GPUWorkloadDeps);
    await (r as unknown as { save(req: unknown, w: GPUWorkload, s: unknown): Promise<void> }).save(
      { key: "ns/w", name: "w", namespace: "ns" },
      cached,
      { observedGeneration: 2 },
    );
    cached = wl("1");
    return r;
  }

  it("keeps the copy while the cache shows the overwritten version, stripped of bookkeeping", async () => {
    const r = await reconcilerAfterWrite();
    expect(r.pendingWrites()).toBe(1);
    r.observed("ns/w", "1", false); // a late event of the version we overwrote
    expect(r.pendingWrites()).toBe(1);
    const kept = (r as unknown as { written: Map<string, { obj: GPUWorkload }> }).written.get(
      "ns/w",
    );
    expect(kept?.obj.metadata.resourceVersion).toBe("2");
    expect(kept?.obj.metadata.managedFields).toBeUndefined();
  });

  it("drops it when the cache catches up", async () => {
    const r = await reconcilerAfterWrite();
    r.observed("ns/w", "2", false);
    expect(r.pendingWrites()).toBe(0);
  });

  it("drops it when the workload is deleted", async () => {
    const r = await reconcilerAfterWrite();
    r.observed("ns/other", "9", false);
    expect(r.pendingWrites()).toBe(1);
    r.observed("ns/w", "1", true);
    expect(r.pendingWrites()).toBe(0);
  });
});
