// The Helm chart installed the way Argo CD would sync it, on a dedicated control plane, with the
// product running FROM ITS IMAGE (issue 9, item 4): `helm template`, server-side apply wave by
// wave (argocd.argoproj.io/sync-wave), the Deployments' Pods run from the unpacked rootfs in
// their own mount/PID/UTS namespaces under chroot with the Pod's UID and read-only root, their
// ServiceAccount tokens from the TokenRequest API (ADR 0067). The webhooks are reached through
// their Service's ClusterIP (a loopback service CIDR and a userspace proxy, ADR 0066). The
// operator takes its Lease, the sample GPUWorkload completes and its Receipt is Verified and
// Timestamped; no request of the release's ServiceAccounts was refused (the chart's RBAC is all
// they have); uninstalling leaves the CRDs and the VaultMesh objects, Receipts among them, and
// nothing of the release.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { readImageConfig } from "../../hack/install/image-config.ts";
import { startPodSupervisor, type PodSupervisor } from "../../hack/install/pod-supervisor.ts";
import { startServiceProxy, type ServiceProxy } from "../../hack/install/service-proxy.ts";
import { parseManifests, syncWaves, withoutWave, type Wave } from "../../hack/install/waves.ts";
import type { Condition, FederationPeer, GPUWorkload, Receipt } from "../../crds/index.ts";
import { addCosignature, verifyCosignedCheckpoint } from "../../services/federation/cosignature.ts";
import { formatAddCheckpointRequest } from "../../services/federation/witness-protocol.ts";
import {
  COSIGNATURE_V1_ALG,
  formatCheckpoint,
  signNote,
  verifierKey,
} from "../../services/ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { EMPTY_ROOT } from "../../services/ledger/merkle.ts";
import {
  KubeClient,
  loadClusterAccess,
  Resources,
  type KubeObject,
} from "../../services/kube/index.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import { containerPorts, InstallRun } from "../install/install-run.ts";
import {
  buildScript,
  checkPortsFree,
  helmTemplate,
  inventory,
  machineLock,
  readAudit,
  refusedRequests,
  RELEASE_NAMESPACE as NS,
  startInstallCluster,
  startTsa,
  type InstallCluster,
  type TestTsa,
} from "../install/install-env.ts";

const log = (m: string): void => void process.stderr.write(`[install] ${m}\n`);
// Sync wave 1 (config/samples): the tenant (GPUWorkload admission wants it Ready), its
// namespace, the in-cluster treaty and the workload. The Akash treaty and the FederationPeer
// stay out: their endpoints are not on loopback, and nothing here may dial out.
const SAMPLES = [
  "namespace-tenant-acme.yaml",
  "treaty-in-cluster-a10g.yaml",
  "tenant-acme.yaml",
  "gpuworkload-train-llama-lora.yaml",
];
const WORKLOAD = { name: "train-llama-lora", namespace: "tenant-acme" };
const KEEP = "helm.sh/resource-policy";

let ic: InstallCluster | undefined;
let admin: KubeClient;
let pgServer: PostgresServer | undefined;
let db: TestDatabase | undefined;
let tsa: TestTsa | undefined;
let supervisor: PodSupervisor | undefined;
let proxy: ServiceProxy | undefined;
let install: InstallRun | undefined;
let workDir = "";
let runDir = "";
let waves: Wave[] = [];
let baseline = new Set<string>();
const times: Record<string, number> = {};
/** Set once the first test saw the Receipt Timestamped; the others check what it built. */
let installed = false;
let lock: { release(): void } | undefined;
const requireInstalled = (): void => {
  if (!installed) throw new Error("the install did not complete (see the first test's failure)");
};

const cond = (
  o: { status?: { conditions?: Condition[] } } | undefined,
  type: string,
): Condition | undefined => o?.status?.conditions?.find((c) => c.type === type);

beforeAll(
  async () => {
    const t0 = Date.now();
    lock = await machineLock(join(tmpdir(), "vaultmesh-install-test.lock"), 20 * 60 * 1000);
    workDir = await mkdtemp(join(tmpdir(), "vaultmesh-install-"));
    // Volumes (Secrets, tokens) and the pods' overlays live on a tmpfs.
    runDir = await mkdtemp("/dev/shm/vaultmesh-install-");
    // VAULTMESH_TEST_IMAGE_DIR: an image already built (oci/ and rootfs/), e.g. while editing.
    const imageDir = process.env.VAULTMESH_TEST_IMAGE_DIR ?? join(repoRoot, ".cache/image");
    const [helm, built, cluster] = await Promise.allSettled([
      buildScript("hack/helm/build.sh", 30 * 60 * 1000),
      process.env.VAULTMESH_TEST_IMAGE_DIR
        ? Promise.resolve("")
        : buildScript("hack/image/build.sh", 30 * 60 * 1000),
      startInstallCluster(log),
    ]);
    // A started cluster is kept for afterAll to stop, whatever else failed.
    if (cluster.status === "fulfilled") ic = cluster.value;
    for (const r of [helm, built, cluster]) if (r.status === "rejected") throw r.reason;
    if (helm.status !== "fulfilled" || !ic) throw new Error("unreachable");
    admin = await KubeClient.create(await loadClusterAccess(ic.cluster.kubeconfig), {
      fieldManager: "vaultmesh-install-test",
    });
    pgServer = await startPostgres();
    db = await pgServer.createDatabase("install");
    tsa = await startTsa();
    const image = await readImageConfig(join(imageDir, "oci"));
    const rendered = await helmTemplate(
      helm.value,
      {
        namespace: { create: true },
        // One replica each: every pod shares the host's loopback, and two replicas of a
        // Deployment would bind the same container port (ADR 0066).
        operator: { replicas: 1 },
        webhook: { replicas: 1 },
        tsa: { url: tsa.url, caSecretRef: { name: "vaultmesh-tsa-ca", key: "ca.crt" } },
        // The witness key Secret is made by createReleaseSecrets (`remembrancer federation init`).
        federation: { enabled: true },
      },
      workDir,
      // VAULTMESH_TEST_CHART_VALUES: a values file layered on top, to try other settings.
      process.env.VAULTMESH_TEST_CHART_VALUES ? [process.env.VAULTMESH_TEST_CHART_VALUES] : [],
    );
    const objects = parseManifests(rendered);
    expect(withoutWave(objects)).toEqual([]);
    waves = syncWaves(objects);
    await checkPortsFree(containerPorts(objects));
    supervisor = startPodSupervisor({
      client: admin,
      namespace: NS,
      rootfs: join(imageDir, "rootfs"),
      image,
      apiserver: { host: "127.0.0.1", port: ic.cluster.apiserverPort },
      runDir,
      logDir: workDir,
      log,
    });
    proxy = startServiceProxy({
      client: admin,
      namespaces: [NS],
      backends: () => supervisor!.backends(),
      log,
    });
    install = new InstallRun(ic, admin, supervisor);
    baseline = await inventory(ic.kubectl);
    log(`set-up took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  },
  40 * 60 * 1000,
);

afterAll(async () => {
  await supervisor?.close();
  await proxy?.close();
  await ic?.stop();
  admin?.close();
  await tsa?.stop();
  await db?.drop();
  await pgServer?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
  lock?.release();
  if (workDir && !process.env.VAULTMESH_TEST_KEEP)
    await rm(workDir, { recursive: true, force: true });
}, 60000);

describe("the Helm chart, synced wave by wave and run from the image", () => {
  it(
    "completes the sample GPUWorkload with a Verified, Timestamped Receipt",
    async () => {
      const run = install!;
      const start = Date.now();
      for (const w of waves) {
        log(`wave ${w.wave}: ${w.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
        await run.apply(w.objects);
        if (w.objects.some((o) => o.kind === "Namespace" && o.metadata.name === NS)) {
          // What the platform's operator creates once the namespace exists (values reference them).
          await run.createReleaseSecrets({
            keysDir: join(workDir, "keys"),
            ledgerUrl: db!.url,
            tsaCaPem: tsa!.caPem,
          });
        }
        await proxy!.sync();
        await run.waitHealthy(w);
      }
      // The webhook server injects its CA into the configurations applied after it started.
      await run.wait(
        "the webhook configurations to carry the CA bundle",
        async () => {
          for (const kind of ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]) {
            const r = await ic!.kubectl([
              "get",
              kind,
              "-o",
              'jsonpath={range .items[*].webhooks[*]}{.clientConfig.caBundle}{"\\n"}{end}',
            ]);
            const bundles = r.stdout.split("\n").filter((l) => l !== "" || false);
            if (r.code !== 0 || bundles.length === 0 || bundles.some((b) => b === "")) return false;
          }
          return true;
        },
        60000,
      );
      times.webhooksReady = Date.now() - start;
      const denials = await run.applySamples(SAMPLES);

      const lease = await run.wait(
        "the operator's Lease",
        async () => {
          const l = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(
            Resources.Lease,
            "vaultmesh-operator",
            NS,
          );
          return l?.spec?.holderIdentity ? l : undefined;
        },
        60000,
      );
      const operatorPods = [...supervisor!.pods.keys()].filter((n) =>
        n.startsWith("vaultmesh-operator-"),
      );
      expect(operatorPods).toContain(lease.spec?.holderIdentity);

      const w = await run.wait(
        "the sample GPUWorkload to complete with a Receipt",
        async () => {
          const wl = await admin.get<GPUWorkload>(
            Resources.GPUWorkload,
            WORKLOAD.name,
            WORKLOAD.namespace,
          );
          return wl?.status?.receiptRef?.name && cond(wl, "Complete")?.status === "True"
            ? wl
            : undefined;
        },
        120000,
      );
      const receiptName = w.status?.receiptRef?.name ?? "";
      await run.wait(
        `Receipt ${receiptName} Verified`,
        async () => {
          const r = await admin.get<Receipt>(Resources.Receipt, receiptName, WORKLOAD.namespace);
          return cond(r, "Verified")?.status === "True" ? r : undefined;
        },
        60000,
      );
      times.verified = Date.now() - start;
      const stamped = await run.wait(
        `Receipt ${receiptName} Timestamped (published every 10 s, looked at again every 30 s)`,
        async () => {
          const r = await admin.get<Receipt>(Resources.Receipt, receiptName, WORKLOAD.namespace);
          const t = cond(r, "Timestamped");
          // NoTimestampAuthority is final: told of no time-stamping publisher, the operator
          // looks again only at the resync.
          return t?.status === "True" || t?.reason === "NoTimestampAuthority" ? r : undefined;
        },
        90000,
      );
      if (cond(stamped, "Timestamped")?.reason === "NoTimestampAuthority") {
        throw new Error(
          "Receipt Timestamped=False NoTimestampAuthority: the chart configures a TSA (tsa.url) but its operator Deployment does not set VAULTMESH_LEDGER_TIMESTAMPING=true",
        );
      }
      times.timestamped = Date.now() - start;
      expect(cond(stamped, "Verified")).toMatchObject({ status: "True", reason: "Proven" });
      expect(cond(stamped, "Timestamped")).toMatchObject({ status: "True", reason: "Stamped" });
      log(
        `first apply → webhooks serving ${(times.webhooksReady / 1000).toFixed(1)}s, Receipt Verified ${(times.verified / 1000).toFixed(1)}s, Timestamped ${(times.timestamped / 1000).toFixed(1)}s` +
          (denials.length ? ` (samples retried ${denials.length}×)` : ""),
      );
      installed = true;
    },
    15 * 60 * 1000,
  );

  it("runs every container from the image as its UID, with a read-only root and no capabilities", async () => {
    requireInstalled();
    const running = [...supervisor!.pods.values()];
    expect(
      running.map((p) => p.pod.metadata.name?.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")).sort(),
    ).toEqual(["vaultmesh-ledger", "vaultmesh-operator", "vaultmesh-webhook"]);
    for (const p of running) {
      const node = p.run
        .processes()
        .filter((x) => x.comm === "node" || x.comm.startsWith("MainThread"));
      expect(node.length).toBeGreaterThanOrEqual(1);
      for (const proc of node) {
        const status = await readFile(`/proc/${proc.pid}/status`, "utf8");
        expect(proc.uid).toBe(65532);
        expect(status).toMatch(/^CapEff:\s+0+$/m);
        expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
        // Its root is the image: /app/package.json is the image's, and "/" is mounted read-only.
        const pkg = JSON.parse(
          await readFile(`/proc/${proc.pid}/root/app/package.json`, "utf8"),
        ) as { name: string };
        expect(pkg.name).toBe("vaultmesh");
        const mounts = await readFile(`/proc/${proc.pid}/mountinfo`, "utf8");
        const root = mounts.split("\n").find((l) => l.split(" ")[4] === "/");
        expect(root?.split(" ")[5]?.split(",")).toContain("ro");
      }
    }
  });

  it("federation: the ledger's witness cosigns a FederationPeer's log with the operator's witness key", async () => {
    requireInstalled();
    // A peer log of our own making; its endpoint is a loopback port nothing listens on.
    const origin = "peer.install.test/log";
    const peerKey = generateEd25519();
    const peerSigner = ed25519Signer(peerKey.privateKeyPem);
    const note = signNote(
      formatCheckpoint({ origin, size: 0, root: EMPTY_ROOT, extensions: [] }),
      origin,
      peerSigner,
    );
    const [ledgerPort] = containerPorts(
      waves.flatMap((w) => w.objects).filter((o) => o.metadata.name === "vaultmesh-ledger"),
    ).keys();
    const push = () =>
      fetch(`http://127.0.0.1:${ledgerPort}/v1/witness/add-checkpoint`, {
        method: "POST",
        body: formatAddCheckpointRequest({ oldSize: 0, proof: [], note }),
      });
    // No FederationPeer pins it yet: unknown origin.
    expect((await push()).status).toBe(404);
    const witnessRaw = Buffer.from(
      ed25519Signer(generateEd25519().privateKeyPem).publicKey,
      "base64",
    );
    await admin.create(Resources.FederationPeer, {
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "FederationPeer",
      metadata: { name: "install-peer" },
      spec: {
        endpoint: "http://127.0.0.1:9",
        trustAnchor: {
          origin,
          keys: [{ keyId: "k1", algorithm: "Ed25519", publicKey: peerKey.publicKeyPem }],
          witnessKey: verifierKey(`${origin}/witness`, witnessRaw, COSIGNATURE_V1_ALG),
        },
        syncIntervalSeconds: 60,
      },
    });
    // The operator records the peer's pin in the ledger database; serve reads it per request.
    const line = await install!.wait(
      "the ledger's witness to cosign the FederationPeer's checkpoint",
      async () => {
        const r = await push();
        return r.status === 200 ? await r.text() : undefined;
      },
      60000,
    );
    // Cosigned with the key of the vaultmesh-witness-key Secret (the one the operator has).
    const witnessKey = ed25519Signer(await readFile(join(workDir, "keys", "witness.key"), "utf8"));
    const name = line.split(" ")[1]!;
    const checked = verifyCosignedCheckpoint(
      addCosignature(note, line),
      { origin, publicKeys: [peerSigner.publicKey] },
      [{ name, publicKey: witnessKey.publicKey }],
      new Date(),
    );
    expect(checked).toMatchObject({ ok: true, cosignatures: [{ name }] });
    // The operator has its witness key: the round runs (and finds nothing listening).
    const peer = await install!.wait(
      "the FederationPeer's first round",
      async () => {
        const fp = await admin.get<FederationPeer>(Resources.FederationPeer, "install-peer");
        return cond(fp, "Reachable") ? fp : undefined;
      },
      60000,
    );
    expect(cond(peer, "Reachable")?.status).toBe("False");
    expect(cond(peer, "Synced")?.reason).not.toBe("WitnessKeyMissing");
  });

  it("serves admission through the Service-based webhook configuration", async () => {
    requireInstalled();
    const bad = {
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "GPUWorkload",
      metadata: { name: "not-in-a-tenant", namespace: "default" },
      spec: {
        gpu: { type: "a10g", count: 1 },
        template: { image: "example.invalid/x:1", cpu: 1, memory: "1Gi" },
        maxPricePerHour: 1,
        routing: { strategy: "cheapest" },
        profile: "batch",
        maxRuntimeSeconds: 60,
      },
    };
    const r = await ic!.kubectl(["create", "-f", "-"], JSON.stringify(bad));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/admission webhook "[^"]+" denied the request/);
    expect(r.stderr).toContain("GPUWorkloads live in tenant namespaces");
    const svc = [...proxy!.forwarded.entries()].find(([k]) =>
      k.startsWith(`${NS}/vaultmesh-webhook:`),
    );
    expect(svc?.[1]).toBeGreaterThan(0);
    const conf = await ic!.kubectl(["get", "validatingwebhookconfigurations", "-o", "json"]);
    const services = (
      JSON.parse(conf.stdout) as {
        items: { webhooks: { clientConfig: { service?: { name: string }; url?: string } }[] }[];
      }
    ).items
      .flatMap((i) => i.webhooks)
      .map((h) => h.clientConfig.service?.name ?? h.clientConfig.url);
    expect(new Set(services)).toEqual(new Set(["vaultmesh-webhook"]));
  });

  it("needed no permission beyond the chart's RBAC (no request of its ServiceAccounts refused)", async () => {
    // Runs even when the install failed: a refused request is often why.
    if (!ic) throw new Error("the control plane did not start (see the set-up failure)");
    const events = await readAudit(ic.auditLog);
    const users = new Set(events.map((e) => e.user.username));
    expect(users).toContain(`system:serviceaccount:${NS}:vaultmesh-operator`);
    expect(users).toContain(`system:serviceaccount:${NS}:vaultmesh-webhook`);
    expect(await refusedRequests(ic.auditLog)).toEqual([]);
  });

  it(
    "uninstalls to the CRDs and the VaultMesh objects, Receipts kept, nothing of the release left",
    async () => {
      requireInstalled();
      const run = install!;
      // The workload goes first (its Receipt must outlive it), while the operator still runs.
      const del = await ic!.kubectl([
        "delete",
        "gpuworkload",
        WORKLOAD.name,
        "-n",
        WORKLOAD.namespace,
        "--timeout=60s",
      ]);
      expect(del.stderr).toBe("");
      // helm uninstall: every rendered object but those marked helm.sh/resource-policy: keep, in
      // reverse wave order (as Argo CD prunes).
      for (const w of [...waves].reverse()) {
        const gone = w.objects.filter((o) => o.metadata.annotations?.[KEEP] !== "keep");
        if (gone.length === 0) continue;
        const r = await ic!.kubectl(
          ["delete", "--ignore-not-found", "--wait=false", "-f", "-"],
          gone.map((o) => JSON.stringify(o)).join("\n"),
        );
        expect(r.stderr).toBe("");
      }
      await run.wait(
        `namespace ${NS} gone and every process stopped`,
        async () => {
          await supervisor!.sync();
          const ns = await admin.get(Resources.Namespace, NS);
          return ns === undefined && supervisor!.pods.size === 0;
        },
        120000,
      );
      const left = [...(await inventory(ic!.kubectl))].filter((o) => !baseline.has(o));
      const isKept = (o: string): boolean =>
        o.startsWith("CustomResourceDefinition.apiextensions.k8s.io ") ||
        /^\w+\.vaultmesh\.cloud /.test(o) ||
        // The tenant's namespace is the user's (config/samples) and holds the Receipts.
        / tenant-acme\//.test(o) ||
        o === "Namespace /tenant-acme" ||
        // The API server's own APIService for the CRDs' group, there as long as the CRDs are.
        o === "APIService.apiregistration.k8s.io /v1alpha1.vaultmesh.cloud";
      expect(left.filter((o) => !isKept(o))).toEqual([]);
      expect(left.filter((o) => o.startsWith("CustomResourceDefinition")).length).toBe(5);
      const receipts = left.filter((o) => o.startsWith("Receipt.vaultmesh.cloud "));
      expect(receipts.length).toBeGreaterThanOrEqual(1);
      const r = await admin.get<Receipt>(
        Resources.Receipt,
        receipts[0]?.split("/")[1] ?? "",
        WORKLOAD.namespace,
      );
      expect(cond(r, "Verified")?.status).toBe("True");
    },
    5 * 60 * 1000,
  );
});
