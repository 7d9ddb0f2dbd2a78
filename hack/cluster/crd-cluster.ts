/**
 * The private control plane a dev tool starts when no `--kubeconfig` is given: a local cluster
 * with the CRDs applied and Established. Shared by the benches (bench/tenants.ts,
 * bench/bridge.ts) and the war-game's live mode (wargame/live-stack.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries, repoRoot, startCluster, type Cluster } from "./cluster.ts";

async function kubectl(bin: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ["ignore", "ignore", "inherit"] });
    p.on("exit", (c) =>
      c === 0 ? resolve() : reject(new Error(`kubectl ${args.join(" ")}: ${c}`)),
    );
  });
}

/**
 * Points KUBECONFIG at `kubeconfig` when given; otherwise starts a private cluster named `name`,
 * applies crds/generated and waits for it. Returns the cluster to stop, if one was started.
 */
export async function crdCluster(
  name: string,
  kubeconfig: string | undefined,
  log: (m: string) => void,
): Promise<Cluster | undefined> {
  if (kubeconfig) {
    process.env.KUBECONFIG = kubeconfig;
    return undefined;
  }
  log("starting a private control plane");
  const cluster = await startCluster({
    dir: mkdtempSync(join(tmpdir(), `vaultmesh-${name}-`)),
    name,
    lifeline: true,
  });
  process.env.KUBECONFIG = cluster.kubeconfig;
  const bin = join(await ensureBinaries(), "kubectl");
  const crds = join(repoRoot, "crds/generated");
  await kubectl(bin, ["apply", "--server-side", "-f", crds]);
  await kubectl(bin, ["wait", "--for=condition=Established", "-f", crds, "--timeout=60s"]);
  return cluster;
}
