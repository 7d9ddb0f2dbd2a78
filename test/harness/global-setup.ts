// One control plane per test run (issue 2): started here, shared by every integration test
// file through KUBECONFIG; tests isolate themselves by namespace. The CRDs are installed here
// once, so every test file can create VaultMesh objects.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ensureBinaries,
  repoRoot,
  startCluster,
  type Cluster,
} from "../../hack/cluster/cluster.ts";
import { startPostgres, type PostgresServer } from "./postgres.ts";

const run = promisify(execFile);

declare global {
  var __vaultmeshCluster: Cluster | undefined;
  var __vaultmeshPostgres: PostgresServer | undefined;
}

async function installCrds(kubectl: string): Promise<void> {
  const crds = join(repoRoot, "crds/generated");
  await run(kubectl, ["apply", "--server-side", "--force-conflicts", "-f", crds]);
  await run(kubectl, ["wait", "--for=condition=Established", "-f", crds, "--timeout=60s"]);
}

/** Starts the shared cluster and Postgres, unless VAULTMESH_TEST_KUBECONFIG names a running one to reuse. */
export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  if (process.env.VAULTMESH_TEST_KUBECONFIG) {
    process.env.KUBECONFIG = process.env.VAULTMESH_TEST_KUBECONFIG;
    process.env.VAULTMESH_KUBECTL ??= join(await ensureBinaries(), "kubectl");
  } else {
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
  }
  // One Postgres server per run too; each test file creates its own database in it.
  const [, pg] = await Promise.all([
    installCrds(process.env.VAULTMESH_KUBECTL),
    process.env.VAULTMESH_TEST_PG_URL ? undefined : startPostgres(),
  ]);
  if (pg) {
    globalThis.__vaultmeshPostgres = pg;
    process.env.VAULTMESH_TEST_PG_URL = pg.url;
  }
  process.stderr.write(`[cluster] global setup took ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
}
