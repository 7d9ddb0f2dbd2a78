import { OperatorMetrics } from "./metrics.ts";

describe("operator metrics", () => {
  it("reports cached objects and API requests at scrape time", async () => {
    const m = new OperatorMetrics();
    let cached = 3;
    const counts = new Map([["POST jobs", 2]]);
    m.cachedObjectsFrom(() => cached);
    m.kubeRequestsFrom(counts);
    expect(await m.registry.metrics()).toMatch(/^vaultmesh_cached_objects 3$/m);
    cached = 10001;
    counts.set("PUT gpuworkloads/status", 5);
    const text = await m.registry.metrics();
    expect(text).toMatch(/^vaultmesh_cached_objects 10001$/m);
    expect(text).toMatch(/^vaultmesh_kube_requests\{verb="POST",resource="jobs"\} 2$/m);
    expect(text).toMatch(
      /^vaultmesh_kube_requests\{verb="PUT",resource="gpuworkloads\/status"\} 5$/m,
    );
  });
});
