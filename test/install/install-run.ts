/**
 * The steps of the chart install test that act on a running install: server-side apply of a
 * sync wave and Argo CD's wait for its health, the sample objects retried while admission
 * refuses them, the Secrets the chart's values reference, and waits whose failure message
 * carries what explains it (requests RBAC refused, the pods' logs, the cluster's state).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import type { PodSupervisor } from "../../hack/install/pod-supervisor.ts";
import { parseManifests, type ManifestObject, type Wave } from "../../hack/install/waves.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { waitFor } from "../harness/kube.ts";
import {
  command,
  refusedRequests,
  RELEASE_NAMESPACE,
  tail,
  type InstallCluster,
} from "./install-env.ts";

/** The container ports of the rendered Deployments, with who uses them. */
export function containerPorts(objects: readonly ManifestObject[]): Map<number, string> {
  const ports = new Map<number, string>();
  for (const d of objects.filter((o) => o.kind === "Deployment")) {
    const spec = d.spec as {
      template: { spec: { containers: { name: string; ports?: { containerPort: number }[] }[] } };
    };
    for (const c of spec.template.spec.containers) {
      for (const p of c.ports ?? []) {
        ports.set(p.containerPort, `Deployment ${d.metadata.name}, container ${c.name}`);
      }
    }
  }
  return ports;
}

/** A running install: the dedicated cluster, the admin client and the pods run from the image. */
export class InstallRun {
  private readonly ic: InstallCluster;
  private readonly admin: KubeClient;
  private readonly supervisor: PodSupervisor;

  constructor(ic: InstallCluster, admin: KubeClient, supervisor: PodSupervisor) {
    this.ic = ic;
    this.admin = admin;
    this.supervisor = supervisor;
  }

  /** The pods' logs, for a failure message. */
  async podLogs(): Promise<string> {
    const parts: string[] = [];
    for (const h of this.supervisor.history) {
      const text = tail(await readFile(h.logFile, "utf8").catch(() => "(no log)"), 40);
      parts.push(`--- ${h.name}\n${text.replace(/^(.{600}).+$/gm, "$1…")}`);
    }
    for (const [name, why] of this.supervisor.failures) {
      parts.push(`--- ${name} did not start: ${why}`);
    }
    return parts.join("\n");
  }

  /** What the cluster shows of the install, for a failure message. */
  async clusterState(): Promise<string> {
    const table = await this.ic.kubectl([
      "get",
      "treaties,tenants,gpuworkloads,receipts,jobs,pods,leases",
      "-A",
      "-o",
      "wide",
    ]);
    const conds = await this.ic.kubectl([
      "get",
      "gpuworkloads,tenants,treaties,receipts",
      "-A",
      "-o",
      'jsonpath={range .items[*]}{.kind}/{.metadata.name}: {range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}); {end}{"\\n"}{end}',
    ]);
    const warnings = await this.ic.kubectl([
      "get",
      "events",
      "-A",
      "--field-selector=type=Warning",
    ]);
    return `--- cluster\n${table.stdout}${table.stderr}\n${conds.stdout}${conds.stderr}\n${warnings.stdout}`;
  }

  /** waitFor whose error carries the refused requests, the pods' logs and the cluster's state. */
  async wait<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
    try {
      return await waitFor(what, fn, ms);
    } catch (err) {
      const refused = await refusedRequests(this.ic.auditLog);
      const rbac = refused.length
        ? `\n--- refused by RBAC (the chart grants no such verb):\n${refused.join("\n")}`
        : "";
      throw new Error(
        `${(err as Error).message}${rbac}\n${await this.podLogs()}\n${await this.clusterState()}`,
      );
    }
  }

  /** Server-side apply, as Argo CD syncs with ServerSideApply=true. */
  async apply(objects: readonly ManifestObject[]): Promise<void> {
    const r = await this.ic.kubectl(
      [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=vaultmesh-install-test",
        "-f",
        "-",
      ],
      objects.map((o) => JSON.stringify(o)).join("\n"),
    );
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr || r.stdout}`);
  }

  /** What Argo CD waits for before the next wave: CRDs established, Deployments' pods ready. */
  async waitHealthy(w: Wave): Promise<void> {
    const crds = w.objects.filter((o) => o.kind === "CustomResourceDefinition");
    if (crds.length > 0) {
      const r = await this.ic.kubectl([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        ...crds.map((c) => `crd/${c.metadata.name}`),
      ]);
      if (r.code !== 0) throw new Error(`CRDs not established: ${r.stderr}`);
    }
    for (const d of w.objects.filter((o) => o.kind === "Deployment")) {
      const spec = d.spec as {
        replicas?: number;
        selector: { matchLabels: Record<string, string> };
      };
      const want = spec.replicas ?? 1;
      const labels = spec.selector.matchLabels;
      await this.wait(
        `Deployment ${d.metadata.name}: ${want} pod(s) running from the image and ready`,
        async () => {
          await this.supervisor.sync();
          const mine = [...this.supervisor.pods.values()].filter((p) =>
            Object.entries(labels).every(([k, v]) => p.pod.metadata.labels?.[k] === v),
          );
          return mine.length === want && mine.every((p) => p.ready);
        },
        90000,
      );
    }
  }

  /**
   * Applies sample files of config/samples (sync wave 1), retried like an Argo CD sync while
   * admission refuses them; returns the refusals seen.
   */
  async applySamples(files: readonly string[]): Promise<string[]> {
    const objects: ManifestObject[] = [];
    for (const f of files) {
      objects.push(...parseManifests(await readFile(join(repoRoot, "config/samples", f), "utf8")));
    }
    const denials: string[] = [];
    await this.wait(
      "the samples to be admitted",
      async () => {
        try {
          await this.apply(objects);
          return true;
        } catch (err) {
          denials.push((err as Error).message);
          return false;
        }
      },
      90000,
    );
    return denials;
  }

  /**
   * Creates the Secrets the test's values reference, as an operator of the platform would
   * before the Deployments' wave: the ledger URL, the signing keys (`remembrancer keygen`) and
   * the TSA's CA.
   */
  async createReleaseSecrets(opts: {
    readonly keysDir: string;
    readonly ledgerUrl: string;
    readonly tsaCaPem: string;
  }): Promise<void> {
    const kg = await command(join(repoRoot, "node_modules/.bin/node"), [
      join(repoRoot, "bin/remembrancer.js"),
      "keygen",
      "--dir",
      opts.keysDir,
    ]);
    if (kg.code !== 0) throw new Error(`remembrancer keygen: ${kg.stderr}`);
    const secret = async (name: string, files: Record<string, string>): Promise<void> => {
      await this.admin.create(Resources.Secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: RELEASE_NAMESPACE },
        stringData: files,
      });
    };
    const keyFiles: Record<string, string> = {};
    for (const f of await readdir(opts.keysDir)) {
      keyFiles[f] = await readFile(join(opts.keysDir, f), "utf8");
    }
    await secret("vaultmesh-ledger", { url: opts.ledgerUrl });
    await secret("vaultmesh-signing-key", { "ed25519.key": keyFiles["ed25519.key"] ?? "" });
    await secret("vaultmesh-ledger-keys", keyFiles);
    await secret("vaultmesh-tsa-ca", { "ca.crt": opts.tsaCaPem });
    // The witness key of federation.enabled (ADR 0094), made the documented way: `federation
    // init` writes witness.key beside the log key (after the ledger keys were read, so it is
    // in its own Secret only).
    const init = await command(join(repoRoot, "node_modules/.bin/node"), [
      join(repoRoot, "bin/remembrancer.js"),
      "federation",
      "init",
      "--key-dir",
      opts.keysDir,
    ]);
    if (init.code !== 0) throw new Error(`remembrancer federation init: ${init.stderr}`);
    await secret("vaultmesh-witness-key", {
      "witness.key": await readFile(join(opts.keysDir, "witness.key"), "utf8"),
    });
  }
}
