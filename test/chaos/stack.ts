/**
 * The chaos suite's stack: the whole product as separate OS processes on loopback, each of
 * which the fault schedule can kill and start again — its own control plane (etcd,
 * kube-apiserver, scheduler, controller-manager, kwok: hack/cluster), Postgres (ledger and
 * Arrakis data) and Redis (test/harness), stripe-mock behind a recorder, the development TSA,
 * the Discord stand-in and the provider simulator (hack/dev-stand-ins.ts), the admission
 * webhooks (`webhooks/main.ts local`), the ledger publisher (`remembrancer serve`) and two
 * operator replicas under leader election, configured as hack/dev.sh configures them.
 * The shared test control plane is never touched: this stack has its own.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { Treaty } from "../../crds/index.ts";
import {
  repoRoot,
  restartComponent,
  startCluster,
  type Cluster,
} from "../../hack/cluster/cluster.ts";
import { freePort } from "../../hack/cluster/ports.ts";
import {
  createKubeClient,
  Resources,
  type KubeClient,
  type KubeObject,
} from "../../services/kube/index.ts";
import { treaty } from "../builders/objects.ts";
import { startPostgres, type PostgresServer } from "../harness/postgres.ts";
import { startRedis, type RedisServer } from "../harness/redis.ts";
import { startStripeMock, type StripeMock } from "../harness/stripe-mock.ts";
import { ChaosProcess, httpGet, nodeLaunch, type UnexpectedExit } from "./processes.ts";
import { startStripeRecorder, type StripeRecorder } from "./stripe-recorder.ts";

const run = promisify(execFile);

/** The components the fault schedule kills (ADR 0073). */
export const FAULT_TARGETS = [
  "postgres",
  "redis",
  "tsa",
  "stripe-mock",
  "discord",
  "provider-sim",
  "webhook",
  "ledger-publisher",
  "operator-leader",
  "etcd",
  "kube-apiserver",
] as const;

/** A component the fault schedule can kill. */
export type FaultTarget = (typeof FAULT_TARGETS)[number];

/** Names of the two treaties: the tainted GPU pool and the provider simulator. */
export const POOL_TREATY = "chaos-pool";
export const SIM_TREATY = "chaos-sim";
const LEASE_NAMESPACE = "default";
const OPERATOR_IDS = ["chaos-operator-a", "chaos-operator-b"] as const;

/** A running stack. */
export interface ChaosStack {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly client: KubeClient;
  /** Superuser URL of the database holding the ledger and the Arrakis schema. */
  readonly dbUrl: string;
  readonly keyDir: string;
  /** JSON-lines file of what stripe-mock answered. */
  readonly stripeLog: string;
  /** The Discord stand-in's log (one JSON line per request). */
  readonly discordLog: string;
  /** Processes of ours that exited without being killed. */
  readonly exits: UnexpectedExit[];
  /** /readyz URLs of our servers (operators, webhooks, ledger publisher). */
  readonly readyzUrls: readonly string[];
  /** /metrics URLs of our servers, by Prometheus job (operator ×2, webhooks, ledger). */
  readonly metricsTargets: readonly { readonly job: string; readonly url: string }[];
  /** The development TSA and its CA certificate (PEM file). */
  readonly tsaUrl: string;
  readonly tsaCaFile: string;
  /** Kills a component (SIGKILL; Postgres: immediate stop; stripe-mock: stop). */
  kill(target: FaultTarget): Promise<void>;
  /** Starts a killed component again and waits until its process serves. */
  restore(target: FaultTarget): Promise<void>;
  /** Identity of the operator replica holding the Lease, if any. */
  leader(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  readonly log?: (msg: string) => void;
  /** Lease timings of the operators (short in the short form). */
  readonly lease?: { duration: number; renewDeadline: number; retryPeriod: number };
}

async function waitUntil(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`chaos stack: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function kubectlIn(bin: string, kubeconfig: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, ["--kubeconfig", kubeconfig, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Treaties: the tainted GPU pool and the provider simulator (token from a Secret). */
function treaties(simUrl: string): Treaty[] {
  // The pool costs more than the provider: unpinned workloads go to the provider first.
  const pool = treaty(POOL_TREATY).inCluster("a10g", 2.5).obj();
  const sim = treaty(SIM_TREATY).external("akash", simUrl, 0.85).regions("us-west").obj();
  sim.spec.credentialsSecretRef = {
    name: "chaos-provider",
    namespace: "vaultmesh-system",
    key: "token",
  };
  return [pool, sim];
}

/** Starts every component and waits until the treaties are Ready and webhooks registered. */
export async function startStack(opts: StackOptions = {}): Promise<ChaosStack> {
  const log = opts.log ?? (() => {});
  const lease = opts.lease ?? { duration: 6, renewDeadline: 4, retryPeriod: 1 };
  const dir = await mkdtemp(join(tmpdir(), "vaultmesh-chaos-"));
  const logs = join(dir, "logs");
  await mkdir(logs, { recursive: true });
  const exits: UnexpectedExit[] = [];
  const procs = new Map<string, ChaosProcess>();
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.values()) await p.stop();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    // VAULTMESH_CHAOS_KEEP=1 keeps the logs and records for a post-mortem.
    if (process.env.VAULTMESH_CHAOS_KEEP === "1") log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };
  try {
    const t0 = Date.now();
    const secrets = join(dir, "secrets");
    await mkdir(secrets, { recursive: true, mode: 0o700 });
    const providerToken = `chaos-provider-${Math.random().toString(36).slice(2)}`;
    await writeFile(join(secrets, "provider-token"), providerToken);
    await writeFile(join(secrets, "discord-token"), "chaos-bot-token");
    await writeFile(join(secrets, "stripe-key"), "sk_test_vaultmeshchaos");
    const keyDir = join(dir, "keys");
    const tsaDir = join(dir, "tsa");
    const ports = {
      tsa: await freePort(),
      discord: await freePort(),
      sim: await freePort(),
      webhook: await freePort(),
      ledger: await freePort(),
      opA: await freePort(),
      opB: await freePort(),
    };
    // The control plane and the services come up in parallel (as in hack/dev.sh).
    const clusterP: Promise<Cluster> = startCluster({
      dir: join(dir, "cluster"),
      name: "chaos",
      lifeline: true,
      log,
    });
    const pgP: Promise<PostgresServer> = startPostgres({
      dedicated: true,
      settings: { fsync: "off", max_connections: "100" },
    });
    const redisP: Promise<RedisServer> = startRedis();
    const stripeP: Promise<StripeMock> = startStripeMock();
    await run("node_modules/.bin/node", ["bin/remembrancer.js", "keygen", "--dir", keyDir], {
      cwd: repoRoot,
    });
    const add = (p: ChaosProcess): ChaosProcess => {
      procs.set(p.name, p);
      return p;
    };
    add(
      new ChaosProcess(
        "tsa",
        nodeLaunch(
          "tsa",
          ["bin/remembrancer.js", "tsa", "serve", "--port", String(ports.tsa), "--dir", tsaDir],
          join(logs, "tsa.log"),
          {},
        ),
        exits,
      ),
    );
    const standIn = (only: string, file: string, port: string, portFlag: string): ChaosProcess =>
      new ChaosProcess(
        only,
        nodeLaunch(
          only,
          [
            "hack/dev-stand-ins.ts",
            "--only",
            only,
            "--out",
            join(dir, `${only}.env`),
            "--token-file",
            join(secrets, "provider-token"),
            portFlag,
            port,
          ],
          join(logs, file),
          {},
        ),
        exits,
      );
    add(standIn("discord", "discord.log", String(ports.discord), "--discord-port"));
    add(standIn("provider-sim", "provider-sim.log", String(ports.sim), "--provider-port"));
    const [pgServer, redis, stripe] = await Promise.all([pgP, redisP, stripeP]);
    cleanups.push(
      () => pgServer.stop(),
      () => redis.stop(),
    );
    let stripeMock: StripeMock | undefined = stripe;
    cleanups.push(() => stripeMock?.stop() ?? Promise.resolve());
    const stripeLog = join(dir, "stripe-requests.jsonl");
    const recorder: StripeRecorder = await startStripeRecorder(stripe.port, stripeLog);
    cleanups.push(() => recorder.close());
    const db = await pgServer.createDatabase("chaos");
    // The tenant data's application role, as hack/dev-services.sh creates it.
    const admin = new pg.Client({ connectionString: pgServer.url });
    await admin.connect();
    try {
      await admin.query(
        "CREATE ROLE arrakis_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
      );
    } finally {
      await admin.end();
    }
    const appUrl = new URL(db.url);
    appUrl.username = "arrakis_app";
    const tsaUrl = `http://127.0.0.1:${ports.tsa}`;
    await waitUntil(
      "the TSA",
      async () => (await httpGet(`${tsaUrl}/tsa-ca.crt`)).status === 200,
      30_000,
    );
    add(
      new ChaosProcess(
        "ledger-publisher",
        nodeLaunch(
          "ledger-publisher",
          [
            "bin/remembrancer.js",
            "serve",
            "--port",
            String(ports.ledger),
            "--db",
            db.url,
            "--key-dir",
            keyDir,
            "--tsa",
            tsaUrl,
            "--tsa-ca",
            join(tsaDir, "tsa-ca.crt"),
            "--publish-every",
            "1",
          ],
          join(logs, "ledger-publisher.log"),
          {},
        ),
        exits,
      ),
    );
    const cluster = await clusterP;
    const kubeconfig = cluster.kubeconfig;
    const kubectl = join(cluster.binDir, "kubectl");
    const cp = new Map<string, ChaosProcess>();
    for (const name of [
      "etcd",
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kwok",
    ]) {
      const pid = cluster.pids[name] ?? -1;
      const spec = cluster.specs[name];
      if (!spec) throw new Error(`chaos stack: cluster has no ${name}`);
      cp.set(
        name,
        add(
          new ChaosProcess(name, () => restartComponent(cluster, name), exits, {
            pid,
            log: spec.log,
          }),
        ),
      );
    }
    cleanups.push(() => cluster.stop());
    const crds = join(repoRoot, "crds/generated");
    await kubectlIn(kubectl, kubeconfig, ["apply", "--server-side", "-f", crds]);
    await kubectlIn(kubectl, kubeconfig, [
      "wait",
      "--for=condition=Established",
      "-f",
      crds,
      "--timeout=60s",
    ]);
    const client = await createKubeClient({
      kubeconfig,
      fieldManager: "vaultmesh-chaos",
      timeoutMs: 5000,
    });
    cleanups.push(() => Promise.resolve(client.close()));
    await client.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "vaultmesh-system" },
    });
    await client.create(Resources.Secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "chaos-provider", namespace: "vaultmesh-system" },
      stringData: { token: providerToken },
    } as never);
    const simUrl = `http://127.0.0.1:${ports.sim}`;
    for (const t of treaties(simUrl)) await client.create(Resources.Treaty, t);

    const ledgerEnv = {
      KUBECONFIG: kubeconfig,
      VAULTMESH_LEDGER_URL: db.url,
      VAULTMESH_SIGNING_KEY_FILE: join(keyDir, "ed25519.key"),
    };
    add(
      new ChaosProcess(
        "webhook",
        nodeLaunch(
          "webhook",
          [
            "webhooks/main.ts",
            "local",
            "--name",
            `chaos-${ports.webhook}`,
            "--port",
            String(ports.webhook),
            "--operator-service-account",
            "vaultmesh-admin",
          ],
          join(logs, "webhook.log"),
          { ...ledgerEnv, VAULTMESH_RECORD_DENIALS: "true" },
        ),
        exits,
      ),
    );
    const operatorEnv = (id: string, port: number): NodeJS.ProcessEnv => ({
      ...ledgerEnv,
      VAULTMESH_IDENTITY: id,
      VAULTMESH_LEADER_ELECT: "true",
      VAULTMESH_LEASE_NAMESPACE: LEASE_NAMESPACE,
      VAULTMESH_LEASE_DURATION_SECONDS: String(lease.duration),
      VAULTMESH_RENEW_DEADLINE_SECONDS: String(lease.renewDeadline),
      VAULTMESH_RETRY_PERIOD_SECONDS: String(lease.retryPeriod),
      POD_NAMESPACE: "vaultmesh-system",
      VAULTMESH_HTTP_ADDR: `127.0.0.1:${port}`,
      VAULTMESH_LEDGER_TIMESTAMPING: "true",
      VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS: "1000",
      VAULTMESH_PROVIDER_POLL_MS: "1000",
      VAULTMESH_TENANT_DB_URL: appUrl.toString(),
      VAULTMESH_TENANT_DB_MIGRATE_URL: db.url,
      VAULTMESH_REDIS_URL: redis.url,
      VAULTMESH_STRIPE_API_KEY_FILE: join(secrets, "stripe-key"),
      VAULTMESH_STRIPE_API_BASE: recorder.url,
      VAULTMESH_STRIPE_PLAN_PRICES: JSON.stringify({
        starter: "price_starter",
        pro: "price_pro",
        enterprise: "price_enterprise",
      }),
      VAULTMESH_STRIPE_GPU_SECONDS_PRICE: "price_gpu_seconds",
      VAULTMESH_DISCORD_TOKEN_FILE: join(secrets, "discord-token"),
      VAULTMESH_DISCORD_APPLICATION_ID: "123456789012345678",
      VAULTMESH_DISCORD_API: `http://127.0.0.1:${ports.discord}/api`,
      LOG_LEVEL: "info",
    });
    const opArgs = ["--max-semi-space-size=2", "operator/main.ts"];
    const operators = new Map<string, ChaosProcess>();
    for (const [i, id] of OPERATOR_IDS.entries()) {
      const port = i === 0 ? ports.opA : ports.opB;
      operators.set(
        id,
        add(
          new ChaosProcess(
            id,
            nodeLaunch(id, opArgs, join(logs, `${id}.log`), operatorEnv(id, port)),
            exits,
          ),
        ),
      );
    }
    const readyzUrls = [
      `http://127.0.0.1:${ports.opA}/readyz`,
      `http://127.0.0.1:${ports.opB}/readyz`,
      `https://127.0.0.1:${ports.webhook}/readyz`,
      `http://127.0.0.1:${ports.ledger}/readyz`,
    ];
    await waitUntil(
      "the webhook configurations",
      async () =>
        (
          await kubectlIn(kubectl, kubeconfig, [
            "get",
            "mutatingwebhookconfigurations",
            "-o",
            "name",
          ])
        ).trim() !== "",
      90_000,
    );
    await waitUntil(
      "both treaties Ready",
      async () => {
        const ts = await client.list<Treaty>(Resources.Treaty);
        return (
          ts.items.length === 2 &&
          ts.items.every((t) =>
            t.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          )
        );
      },
      90_000,
    );
    log(`chaos stack up in ${((Date.now() - t0) / 1000).toFixed(1)}s (${dir})`);

    const leader = async (): Promise<string | undefined> => {
      const l = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(
        Resources.Lease,
        "vaultmesh-operator",
        LEASE_NAMESPACE,
      );
      return l?.spec?.holderIdentity;
    };
    let killedLeader: ChaosProcess | undefined;
    const killers: Record<FaultTarget, () => Promise<void>> = {
      postgres: () => pgServer.crash(),
      redis: () => redis.crash(),
      "stripe-mock": async () => {
        await stripeMock?.stop();
        stripeMock = undefined;
      },
      "operator-leader": async () => {
        const id = await leader();
        killedLeader = operators.get(id ?? "") ?? operators.get(OPERATOR_IDS[0]);
        await killedLeader?.kill();
      },
      tsa: () => procs.get("tsa")!.kill(),
      discord: () => procs.get("discord")!.kill(),
      "provider-sim": () => procs.get("provider-sim")!.kill(),
      webhook: () => procs.get("webhook")!.kill(),
      "ledger-publisher": () => procs.get("ledger-publisher")!.kill(),
      etcd: () => cp.get("etcd")!.kill(),
      "kube-apiserver": () => cp.get("kube-apiserver")!.kill(),
    };
    const startProc = (name: string): Promise<void> => {
      procs.get(name)?.start();
      return Promise.resolve();
    };
    const restorers: Record<FaultTarget, () => Promise<void>> = {
      postgres: () => pgServer.restart(),
      redis: () => redis.restart(),
      "stripe-mock": async () => {
        stripeMock = await startStripeMock({ port: stripe.port });
      },
      "operator-leader": () => {
        killedLeader?.start();
        killedLeader = undefined;
        return Promise.resolve();
      },
      tsa: () => startProc("tsa"),
      discord: () => startProc("discord"),
      "provider-sim": () => startProc("provider-sim"),
      webhook: () => startProc("webhook"),
      "ledger-publisher": () => startProc("ledger-publisher"),
      etcd: () => startProc("etcd"),
      "kube-apiserver": () => startProc("kube-apiserver"),
    };
    return {
      dir,
      kubeconfig,
      kubectl,
      client,
      dbUrl: db.url,
      keyDir,
      stripeLog,
      discordLog: join(logs, "discord.log"),
      exits,
      readyzUrls,
      metricsTargets: [
        { job: "operator", url: `http://127.0.0.1:${ports.opA}/metrics` },
        { job: "operator", url: `http://127.0.0.1:${ports.opB}/metrics` },
        { job: "webhooks", url: `https://127.0.0.1:${ports.webhook}/metrics` },
        { job: "ledger", url: `http://127.0.0.1:${ports.ledger}/metrics` },
      ],
      tsaUrl,
      tsaCaFile: join(tsaDir, "tsa-ca.crt"),
      kill: (t) => killers[t](),
      restore: (t) => restorers[t](),
      leader,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
