/**
 * Shared set-up of the operator integration tests: a ledger on a private Postgres, the
 * operator in-process (a Manager with the Treaty and GPUWorkload controllers, scoped to the
 * test's namespace and treaty label; both from hack/in-process-operator.ts) or as child
 * processes of operator/main.ts that a test can kill -9, and small readers of cluster state.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Condition, GPUWorkload, Receipt, Treaty } from "../../crds/index.ts";
import type { LocalLedger } from "../../hack/in-process-operator.ts";
import type { Job } from "../../operator/shared/kube-types.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";

/** A ledger on a fresh database, with its signing key on disk for operator processes. */
export type TestLedger = LocalLedger;

// The ledger, client and in-process operator are a dev tool's as much as the tests' (the
// war-game's live mode runs the same operator): they live in hack/in-process-operator.ts.
export {
  localKubeClient as testClient,
  startInProcessOperator,
  startLocalLedger as startTestLedger,
} from "../../hack/in-process-operator.ts";

/** An operator child process (node_modules/.bin/node operator/main.ts). */
export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with the exit code or signal once it exited. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns operator/main.ts with the environment the tests scope it by. */
export function spawnOperator(env: Record<string, string>): OperatorProcess {
  const child = spawn("node_modules/.bin/node", ["operator/main.ts"], {
    env: { ...process.env, VAULTMESH_HTTP_ADDR: "127.0.0.1:0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) =>
    child.on("exit", (code, sig) => r(code ?? sig ?? "unknown")),
  );
  return { child, output: () => out, exited, kill: (s = "SIGKILL") => void child.kill(s) };
}

/** Reads every GPUWorkload, Job and Receipt of a namespace. */
export async function snapshot(
  client: KubeClient,
  namespace: string,
): Promise<{ workloads: GPUWorkload[]; jobs: Job[]; receipts: Receipt[] }> {
  const [w, j, r] = await Promise.all([
    client.list<GPUWorkload>(Resources.GPUWorkload, { namespace }),
    client.list<Job>(Resources.Job, { namespace }),
    client.list<Receipt>(Resources.Receipt, { namespace }),
  ]);
  return { workloads: w.items, jobs: j.items, receipts: r.items };
}

/** Creates a Treaty with the test's label (so only the test's operator sees it). */
export async function createTreaty(client: KubeClient, t: Treaty, label: string): Promise<Treaty> {
  const [k, v] = label.split("=");
  return await client.create(Resources.Treaty, {
    ...t,
    metadata: { ...t.metadata, labels: { ...(t.metadata.labels ?? {}), [k ?? "test"]: v ?? "" } },
  });
}

/** The condition `type` of a workload. */
export function cond(w: GPUWorkload | undefined, type: string): Condition | undefined {
  return w?.status?.conditions?.find((c) => c.type === type);
}
