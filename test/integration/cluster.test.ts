// Issue 2: the local control plane can run twice at once, cleans up after itself, and a
// component that fails to start stops everything with its log tail in the error.
import { describe, expect, it } from "@jest/globals";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { startCluster } from "../../hack/cluster/cluster.ts";
import { groupAlive } from "../../hack/cluster/process.ts";
import { kubeConfig } from "../harness/kube.ts";

describe("a second local control plane", () => {
  it("runs beside the shared one on its own ports and leaves no process behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vaultmesh-second-"));
    const second = await startCluster({ dir, name: "second", nodePools: false });
    try {
      const shared = kubeConfig().getCurrentCluster()?.server;
      expect(shared).toBeDefined();
      expect(`https://127.0.0.1:${second.apiserverPort}`).not.toBe(shared);
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(second.kubeconfig);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: "only-in-second" } } });
      const sharedCore = kubeConfig().makeApiClient(k8s.CoreV1Api);
      await expect(sharedCore.readNamespace({ name: "only-in-second" })).rejects.toThrow(
        /404|not found/i,
      );
    } finally {
      await second.stop();
    }
    for (const pid of Object.values(second.pids)) expect(groupAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it("stops every started component and reports the failing one's log tail", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vaultmesh-broken-"));
    const err = await startCluster({
      dir,
      name: "broken",
      nodePools: false,
      extraArgs: { "kube-apiserver": ["--no-such-flag=1"] },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /kube-apiserver exited during start-up; last lines of .*kube-apiserver\.log/,
    );
    expect(err?.message).toContain("unknown flag: --no-such-flag");
    // etcd was started before the apiserver failed: it must be gone too.
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(join(dir, "logs/etcd.log"), "utf8").length).toBeGreaterThan(0);
    const { execFileSync } = await import("node:child_process");
    const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(ps).not.toContain(join(dir, "etcd"));
  });
});
