// Issue 4, "Done means": two operator processes; kill -9 the leader; the standby takes the
// Lease when it lapses and finishes the run — every workload completes with one Job and one
// receipt.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { GPUWorkload } from "../../crds/index.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { cond, snapshot, spawnOperator, type OperatorProcess } from "./operator-env.ts";

let env: OperatorTestEnv;
let ns = "";
let client: KubeClient;
const procs: OperatorProcess[] = [];
const treatyName = `le-pool-${Math.random().toString(36).slice(2, 8)}`;

type Lease = KubeObject & { spec?: { holderIdentity?: string | null } };
const holder = async (): Promise<string | undefined> =>
  (await client.get<Lease>(Resources.Lease, "vaultmesh-operator", ns))?.spec?.holderIdentity ??
  undefined;

beforeAll(async () => {
  env = await startOperatorTestEnv("op-le");
  ({ client, ns } = env);
  await env.treaty(treaty(treatyName).inCluster("a10g", 0.5).obj());
  env.track({
    async stop() {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
    },
  });
});

afterAll(() => env?.stop());

describe("leader election", () => {
  it("hands the run to the standby when the leader is killed", async () => {
    // Leader election on (the environment's default is off), over a Lease in the namespace.
    const opEnv = (id: string): Record<string, string> => ({
      ...env.operatorEnv(),
      VAULTMESH_LEADER_ELECT: "true",
      VAULTMESH_IDENTITY: id,
      VAULTMESH_LEASE_NAMESPACE: ns,
      VAULTMESH_LEASE_DURATION_SECONDS: "4",
      VAULTMESH_RENEW_DEADLINE_SECONDS: "3",
      VAULTMESH_RETRY_PERIOD_SECONDS: "0.5",
    });
    const byId = new Map<string, OperatorProcess>();
    for (const id of ["op-a", "op-b"]) {
      const p = spawnOperator(opEnv(id));
      procs.push(p);
      byId.set(id, p);
    }
    const first = await waitFor("a leader", holder, 30000);
    const leader = byId.get(first);
    expect(leader).toBeDefined();

    const names = Array.from({ length: 8 }, (_, i) => `le-${i}`);
    for (const n of names) {
      await client.create(Resources.GPUWorkload, gpuWorkload(n, ns).completeAfter("2s").obj());
    }
    await waitFor("the leader to place a workload", async () => {
      const s = await snapshot(client, ns);
      return s.jobs.length > 0;
    });
    leader?.kill("SIGKILL");
    await leader?.exited;

    const second = await waitFor(
      "the standby to take the lease",
      async () => {
        const h = await holder();
        return h && h !== first ? h : undefined;
      },
      30000,
    );
    expect(["op-a", "op-b"]).toContain(second);

    const done = await waitFor(
      "every workload to complete",
      async () => {
        const s = await snapshot(client, ns);
        const finished = s.workloads.filter(
          (w: GPUWorkload) => cond(w, "Complete")?.status === "True" && w.status?.receiptRef,
        );
        return finished.length === names.length ? s : undefined;
      },
      60000,
    );
    for (const w of done.workloads) {
      const uid = w.metadata.uid;
      const jobs = done.jobs.filter(
        (j) => j.metadata.labels?.["vaultmesh.cloud/workload-uid"] === uid,
      );
      const receipts = done.receipts.filter(
        (r) => r.metadata.labels?.["vaultmesh.cloud/workload-uid"] === uid,
      );
      expect([w.metadata.name, jobs.length, receipts.length]).toEqual([w.metadata.name, 1, 1]);
    }
    expect(byId.get(second)?.output()).toMatch(/became leader/);
  });
});
