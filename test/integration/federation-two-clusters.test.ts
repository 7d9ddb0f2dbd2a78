// Issue 11 "Done means": two control planes (the shared one and a second beside it), two
// operators (operator/main.ts processes) and two ledgers (two databases, two proof APIs from
// `remembrancer serve` with their witness endpoints), peered both ways with FederationPeers.
// Both ledgers keep appending receipts while they sync; both peers reach Synced; both ledgers
// hold the same FederationSynced receipt digest (each signed by its own node) with a Receipt
// resource on each cluster; and `kubectl get fedpeer` shows the columns filled.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { repoRoot, startCluster, type Cluster } from "../../hack/cluster/cluster.ts";
import type { Condition, FederationPeer, Receipt } from "../../crds/index.ts";
import { COSIGNATURE_V1_ALG, verifierKey } from "../../services/ledger/checkpoint.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { KubeClient, Resources } from "../../services/kube/index.ts";
import { federationPeer } from "../builders/objects.ts";
import { kubeConfig, waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import { spawnOperator, type OperatorProcess } from "./operator-env.ts";
import * as k8s from "@kubernetes/client-node";

const run = promisify(execFile);
// A second control plane, two operators, two proof APIs and syncs every 10 s on 2 shared cores.
jest.setTimeout(300_000);

const RUN = Math.random().toString(36).slice(2, 8);
const LABEL = "vaultmesh.cloud/test-run";
const NAMESPACE = `fed-${RUN}`;
const kubectlBin = (): string => process.env.VAULTMESH_KUBECTL ?? "kubectl";

/** One federated install: a cluster, a ledger, its proof API and its operator. */
interface Side {
  readonly name: "a" | "b";
  readonly dir: string;
  readonly kubeconfig: string;
  readonly client: KubeClient;
  readonly db: TestDatabase;
  readonly pool: pg.Pool;
  /** The test's own handle on the ledger, to append receipts while the operators sync. */
  readonly ledger: Ledger;
  readonly origin: string;
  readonly logKeyPem: string;
  readonly logPublicPem: string;
  readonly logKeyId: string;
  readonly witnessVkey: string;
  serve?: ChildProcess;
  serveOut: string;
  url?: string;
  operator?: OperatorProcess;
}

let second: Cluster;
/** The development TSA (`remembrancer tsa serve`): the proof bundles carry RFC 3161 tokens. */
const tsa: { url: string; ca: string; child?: ChildProcess; out: string } = {
  url: "",
  ca: "",
  out: "",
};
let server: PostgresServer;
const sides: Side[] = [];
let appending = true;
let appender: Promise<void> | undefined;

async function openSide(name: "a" | "b", kubeconfig: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `vaultmesh-fed-${name}-`));
  // Ed25519 (log and receipts) and OpenPGP (published tree heads) keys and a trust bundle
  // naming the origin derived from the new Ed25519 key, as an operator of the ledger makes them.
  const keygen = await remembrancer(["keygen", "--dir", join(dir, "keys")]);
  expect(keygen).toMatchObject({ code: 0 });
  const logKeyPem = readFileSync(join(dir, "keys", "ed25519.key"), "utf8");
  const witness = generateEd25519();
  writeFileSync(join(dir, "witness.pem"), witness.privateKeyPem, { mode: 0o600 });
  const db = await server.createDatabase(`fed_${name}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined); // an idle client may meet the teardown's drop
  const signer = ed25519Signer(logKeyPem);
  // Genesis here records the origin (derived from the log key, distinct per install).
  const ledger = await Ledger.open({
    pool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    signer,
  });
  await ledger.append({ type: "test.genesis", subject: `side-${name}`, payload: { side: name } });
  const origin = ledger.origin!;
  const trust = JSON.parse(readFileSync(join(dir, "keys", "trust.json"), "utf8")) as {
    origin?: string;
  };
  expect(trust.origin).toBe(origin);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    name,
    dir,
    kubeconfig,
    client: await KubeClient.create(kc, { fieldManager: "vaultmesh-test" }),
    db,
    pool,
    ledger,
    origin,
    logKeyPem,
    logPublicPem: readFileSync(join(dir, "keys", "ed25519.pub"), "utf8"),
    logKeyId: signer.keyId,
    witnessVkey: verifierKey(
      `${origin}/witness`,
      Buffer.from(ed25519Signer(witness.privateKeyPem).publicKey, "base64"),
      COSIGNATURE_V1_ALG,
    ),
    serveOut: "",
  };
}

/** Starts `remembrancer tsa serve` in `dir`/tsa. */
async function startTsa(dir: string): Promise<void> {
  const child = spawn(
    "node_modules/.bin/node",
    ["bin/remembrancer.js", "tsa", "serve", "--port", "0", "--dir", join(dir, "tsa")],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  tsa.child = child;
  child.stdout?.on("data", (d: Buffer) => (tsa.out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (tsa.out += d.toString()));
  const m = await waitFor("remembrancer tsa serve", () => {
    if (child.exitCode !== null) throw new Error(`tsa exited: ${tsa.out}`);
    return Promise.resolve(/TSA listening on (\S+)\n[\s\S]*CA (\S+)/.exec(tsa.out) ?? undefined);
  });
  tsa.url = m[1]!;
  tsa.ca = m[2]!;
}

/** `remembrancer serve` over the side's database, witnessing `peer`, taking its proposals. */
async function startServe(side: Side, peer: Side): Promise<void> {
  const peerLogVkey = verifierKey(
    peer.origin,
    Buffer.from(ed25519Signer(peer.logKeyPem).publicKey, "base64"),
  );
  writeFileSync(join(side.dir, "trust.txt"), `# peer ${peer.name}\n${peerLogVkey}\n`);
  const child = spawn(
    "node_modules/.bin/node",
    [
      "bin/remembrancer.js",
      "serve",
      "--port",
      "0",
      "--db",
      side.db.url,
      "--key-dir",
      join(side.dir, "keys"),
      "--publish-every",
      "5",
      "--tsa",
      tsa.url,
      "--witness-trust",
      join(side.dir, "trust.txt"),
      "--witness-key",
      join(side.dir, "witness.pem"),
    ],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOG_LEVEL: "warn" },
    },
  );
  side.serve = child;
  child.stdout?.on("data", (d: Buffer) => (side.serveOut += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (side.serveOut += d.toString()));
  const m = await waitFor(
    `remembrancer serve of side ${side.name}`,
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited: ${side.serveOut}`);
      return Promise.resolve(
        /witness (\S+) at (http:\/\/\S+)\/v1\/witness\/add-checkpoint/.exec(side.serveOut) ??
          undefined,
      );
    },
    60_000,
  );
  // The witness vkey the peer pins is the one serve prints: the same key the operator cosigns with.
  expect(m[1]).toBe(side.witnessVkey);
  side.url = m[2]!;
}

function startOperatorOf(side: Side): void {
  side.operator = spawnOperator({
    KUBECONFIG: side.kubeconfig,
    VAULTMESH_LEDGER_URL: side.db.url,
    VAULTMESH_SIGNING_KEY_FILE: join(side.dir, "keys", "ed25519.key"),
    VAULTMESH_WITNESS_KEY_FILE: join(side.dir, "witness.pem"),
    VAULTMESH_LEADER_ELECT: "false",
    // Only this test's objects: its namespace (Receipts), its peers, no treaties, no tenants.
    VAULTMESH_WATCH_NAMESPACE: NAMESPACE,
    POD_NAMESPACE: NAMESPACE,
    VAULTMESH_TREATY_SELECTOR: `${LABEL}=none-${RUN}`,
    VAULTMESH_FEDERATION_SELECTOR: `${LABEL}=fed-${RUN}`,
    VAULTMESH_TENANT_CONTROLLER: "false",
    VAULTMESH_IDENTITY: `fed-${side.name}-${RUN}`,
  });
}

function peerOf(side: Side, peer: Side): FederationPeer {
  return federationPeer(`peer-${peer.name}-${RUN}`)
    .labels({ [LABEL]: `fed-${RUN}` })
    .endpoint(peer.url!)
    .origin(peer.origin)
    .logKey(peer.logKeyId, peer.logPublicPem)
    .witnessKey(peer.witnessVkey)
    .syncEvery(10)
    .obj();
}

const condOf = (p: FederationPeer | undefined, type: string): Condition | undefined =>
  p?.status?.conditions?.find((c) => c.type === type);

async function kubectlOn(side: Side, args: string[]): Promise<string> {
  const { stdout } = await run(kubectlBin(), ["--kubeconfig", side.kubeconfig, ...args]);
  return stdout;
}

/** The digests of the FederationSynced Receipt resources in the test namespace of `side`. */
async function federationReceiptDigests(side: Side): Promise<Map<string, Receipt>> {
  const list = await side.client.list<Receipt>(Resources.Receipt, { namespace: NAMESPACE });
  return new Map(
    list.items.filter((r) => r.spec.type === "FederationSynced").map((r) => [r.spec.digest, r]),
  );
}

/** Runs the remembrancer CLI; never throws on a non-zero exit. */
async function remembrancer(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      "node_modules/.bin/node",
      ["bin/remembrancer.js", ...args],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

/** `kubectl get fedpeer NAME` on `side` shows every default column filled. */
async function expectColumnsFilled(side: Side, name: string): Promise<void> {
  const out = await kubectlOn(side, ["get", "fedpeer", name]);
  const [header = "", row = ""] = out.trim().split("\n");
  const cols = header.trim().split(/\s{2,}/);
  const cells = row.trim().split(/\s+/);
  const cell = (c: string): string | undefined => cells[cols.indexOf(c)];
  expect(cols).toEqual([
    "NAME",
    "REACHABLE",
    "CONSISTENT",
    "SYNCED",
    "PEER SIZE",
    "LOCAL SIZE",
    "LAST SYNC",
    "AGE",
  ]);
  expect(cell("REACHABLE")).toBe("True");
  expect(cell("CONSISTENT")).toBe("True");
  expect(cell("SYNCED")).toBe("True");
  expect(Number(cell("PEER SIZE"))).toBeGreaterThan(0);
  expect(Number(cell("LOCAL SIZE"))).toBeGreaterThan(0);
  expect(cell("LAST SYNC")).toMatch(/^\d+[smh]/);
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-fed-cluster-"));
  const shared = process.env.KUBECONFIG ?? "";
  const crds = join(repoRoot, "crds/generated");
  [second, server] = await Promise.all([
    startCluster({ dir, name: "fed-b", nodePools: false }),
    startPostgres(),
  ]);
  await run(kubectlBin(), [
    "--kubeconfig",
    second.kubeconfig,
    "apply",
    "--server-side",
    "-f",
    crds,
  ]);
  await run(kubectlBin(), [
    "--kubeconfig",
    second.kubeconfig,
    "wait",
    "--for=condition=Established",
    "-f",
    crds,
    "--timeout=60s",
  ]);
  expect(kubeConfig().getCurrentCluster()?.server).not.toBe(
    `https://127.0.0.1:${second.apiserverPort}`,
  );
  await startTsa(dir);
  sides.push(await openSide("a", shared), await openSide("b", second.kubeconfig));
  const [a, b] = sides as [Side, Side];
  expect(a.origin).not.toBe(b.origin);
  for (const s of sides) {
    await s.client.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE },
    });
  }
  await Promise.all([startServe(a, b), startServe(b, a)]);
  startOperatorOf(a);
  startOperatorOf(b);
  await a.client.create(Resources.FederationPeer, peerOf(a, b));
  await b.client.create(Resources.FederationPeer, peerOf(b, a));
  // Both ledgers keep growing while the operators sync.
  appender = (async () => {
    for (let n = 0; appending; n++) {
      for (const s of sides) {
        await s.ledger.append({ type: "test.tick", subject: `side-${s.name}`, payload: { n } });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
});

afterAll(async () => {
  appending = false;
  await appender?.catch(() => undefined);
  for (const s of sides) {
    s.operator?.kill("SIGTERM");
    await s.operator?.exited;
    s.serve?.kill("SIGTERM");
    if (s.serve && s.serve.exitCode === null) {
      await new Promise((r) => s.serve!.once("exit", r));
    }
  }
  const a = sides[0];
  if (a) {
    await a.client
      .delete(Resources.FederationPeer, { name: `peer-b-${RUN}` })
      .catch(() => undefined);
    await a.client.delete(Resources.Namespace, { name: NAMESPACE }).catch(() => undefined);
  }
  for (const s of sides) {
    s.client.close();
    await s.ledger.flush().catch(() => undefined);
    await s.pool.end().catch(() => undefined);
    await s.db.drop().catch(() => undefined);
    rmSync(s.dir, { recursive: true, force: true });
  }
  tsa.child?.kill("SIGTERM");
  await second?.stop();
  await server?.stop();
});

describe("two federated installs", () => {
  it("sync both ways, agree on one federation receipt and show it in kubectl", async () => {
    const [a, b] = sides as [Side, Side];
    const diag = (): string =>
      sides.map((s) => `--- operator ${s.name}:\n${s.operator?.output().slice(-3000)}`).join("\n");
    const synced = async (s: Side, peerName: string): Promise<FederationPeer> =>
      await waitFor(
        `FederationPeer ${peerName} Synced=True on side ${s.name}`,
        async () => {
          const p = await s.client.get<FederationPeer>(Resources.FederationPeer, peerName);
          if (condOf(p, "Synced")?.status === "True") return p;
          if (s.operator && s.operator.child.exitCode !== null) {
            throw new Error(`operator ${s.name} exited:\n${diag()}`);
          }
          return undefined;
        },
        120_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${diag()}`);
      });
    const [pa, pb] = await Promise.all([synced(a, `peer-b-${RUN}`), synced(b, `peer-a-${RUN}`)]);
    for (const [p, peer] of [
      [pa, b],
      [pb, a],
    ] as const) {
      expect(condOf(p, "Reachable")?.status).toBe("True");
      expect(condOf(p, "Consistent")?.status).toBe("True");
      expect(condOf(p, "Ready")?.status).toBe("True");
      expect(p.status?.peerTreeSize).toBeGreaterThan(0);
      expect(p.status?.localTreeSize).toBeGreaterThan(0);
      expect(p.status?.mergedRoot).toMatch(/^[0-9a-f]{64}$/);
      expect(p.status?.lastSyncTime).toBeDefined();
      // The checkpoint we trust is one the peer's ledger really issued.
      const head = await peer.ledger.treeHead(p.status!.peerTreeSize!);
      expect(head?.rootHash).toBe(p.status?.peerRoot);
    }

    // One FederationSynced digest in both ledgers, each entry signed by its own node, with a
    // Receipt resource on each cluster.
    const digest = await waitFor(
      "a FederationSynced Receipt with the same digest on both clusters",
      async () => {
        const [da, db] = await Promise.all([
          federationReceiptDigests(a),
          federationReceiptDigests(b),
        ]);
        return [...da.keys()].find((d) => db.has(d));
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${diag()}`);
    });
    const [ea, eb] = await Promise.all([
      a.ledger.getByDigest(digest),
      b.ledger.getByDigest(digest),
    ]);
    expect(ea?.receipt.type).toBe("FederationSynced");
    expect(eb?.receipt.type).toBe("FederationSynced");
    expect(ea?.receipt.payload).toEqual(eb?.receipt.payload);
    expect(ea?.receipt.signatures.map((s) => s.keyId)).toEqual([a.logKeyId]);
    expect(eb?.receipt.signatures.map((s) => s.keyId)).toEqual([b.logKeyId]);
    const payload = ea?.receipt.payload as { merge: { root: string } };
    expect(payload.merge.root).toMatch(/^[0-9a-f]{64}$/);

    // Each cluster's Receipt controller checks its view against its own ledger.
    for (const s of [a, b]) {
      await waitFor(`the FederationSynced Receipt Verified on side ${s.name}`, async () => {
        const r = (await federationReceiptDigests(s)).get(digest);
        return r?.status?.conditions?.some((c) => c.type === "Verified" && c.status === "True");
      });
    }

    // The seed's file deliverable: the dual-signed receipt with both proof bundles, verified
    // offline by the CLI.
    const file = join(a.dir, "federation-receipt.json");
    const exported = await remembrancer([
      "federation",
      "export",
      "--db",
      a.db.url,
      "--key-dir",
      join(a.dir, "keys"),
      "--tsa",
      tsa.url,
      "--digest",
      digest,
      "--peer",
      b.url!,
      "--out",
      file,
    ]);
    expect(exported).toMatchObject({ code: 0 });
    const verified = await remembrancer([
      "federation",
      "verify",
      file,
      "--trust",
      join(a.dir, "keys", "trust.json"),
      "--trust",
      join(b.dir, "keys", "trust.json"),
      "--trust",
      tsa.ca,
    ]);
    expect(verified.stdout).toContain(`✅ Federation sync verified: ${digest}`);
    expect(verified.stdout).not.toContain("keys were taken from the file");
    expect(verified.code).toBe(0);

    // kubectl's columns are filled on both clusters.
    await expectColumnsFilled(a, `peer-b-${RUN}`);
    await expectColumnsFilled(b, `peer-a-${RUN}`);
  });
});
