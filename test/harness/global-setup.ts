// One control plane per test run (issue 2): started here, shared by every integration test
// file through KUBECONFIG; tests isolate themselves by namespace.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries, startCluster, type Cluster } from "../../hack/cluster/cluster.ts";

declare global {
  var __vaultmeshCluster: Cluster | undefined;
}

/** Starts the shared cluster, unless VAULTMESH_TEST_KUBECONFIG names a running one to reuse. */
export default async function globalSetup(): Promise<void> {
  if (process.env.VAULTMESH_TEST_KUBECONFIG) {
    process.env.KUBECONFIG = process.env.VAULTMESH_TEST_KUBECONFIG;
    process.env.VAULTMESH_KUBECTL ??= join(await ensureBinaries(), "kubectl");
    return;
  }
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "vaultmesh-test-cluster-"));
  const cluster = await startCluster({
    dir,
    name: "test",
    lifeline: true,
    log: (m) => process.stderr.write(`[cluster] ${m}\n`),
  });
  globalThis.__vaultmeshCluster = cluster;
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.VAULTMESH_KUBECTL = join(cluster.binDir, "kubectl");
  process.stderr.write(`[cluster] global setup took ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
}
