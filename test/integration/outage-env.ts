/**
 * Shared pieces of the per-dependency outage tests (issue 10, test/integration/outage-*.test.ts):
 * reading an operator child process's /readyz and /healthz, asserting it is still alive, timing
 * an outage and its recovery (printed as one JSON line per figure, and appended to the file
 * `VAULTMESH_OUTAGE_FIGURES` names, for docs/operations.md — never asserted), and appending a
 * completion receipt to a tenant's namespace as the GPUWorkload controller would, and a TCP
 * proxy that can be taken away (connection refused) and brought back on the same port: the
 * network path to a third party that keeps its state while we cannot reach it. The tenant
 * outage tests (Discord, Stripe, Redis) share their set-up: {@link startOutageTenantEnv}.
 */
import { appendFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Receipt, TenantSpec } from "../../crds/index.ts";
import { costMicros, type CompletionPayload } from "../../crds/domain/index.ts";
import { receiptResource } from "../../operator/controllers/gpuworkload/completion-receipt.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { makeWorkload } from "../builders/webhook-objects.ts";
import { waitFor } from "../harness/kube.ts";
import type { TestWebhook } from "../harness/webhook.ts";
import { testClient, type OperatorProcess } from "./operator-env.ts";
import { deleteWorkload, scopeNamespace, startWorkloadAdmission } from "./tenant-admission-env.ts";
import {
  isReady,
  makeTenant,
  spawnTenantOperator,
  startTenantTestStack,
  waitForTenant,
  type TenantTestStack,
} from "./tenant-env.ts";

/** A GET without keep-alive (no socket outlives the test). */
export function getText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** The port of an operator child process's /metrics /healthz /readyz server. */
export async function operatorHttpPort(op: OperatorProcess): Promise<number> {
  return await waitFor(
    "the operator's HTTP port",
    () => {
      const m = /"port":(\d+)[^\n]*serving \/metrics/.exec(op.output());
      return Promise.resolve(m ? Number(m[1]) : undefined);
    },
    60_000,
  );
}

/** Waits until the operator's /readyz body matches `re`; returns the body. */
export async function waitForReadyz(port: number, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return await waitFor(
    `/readyz to match ${String(re)}`,
    async () => {
      const r = await getText(port, "/readyz");
      return re.test(r.body) ? r.body : undefined;
    },
    timeoutMs,
  );
}

/**
 * The process is still running, never printed Node's "Unhandled 'error' event", and its
 * liveness endpoint answers ok (a dependency outage must not fail liveness).
 */
export async function expectAlive(op: OperatorProcess, port?: number): Promise<void> {
  if (op.child.exitCode !== null || op.child.signalCode !== null) {
    throw new Error(
      `the operator exited (${op.child.exitCode ?? op.child.signalCode}):\n${tail(op)}`,
    );
  }
  if (/Unhandled 'error' event|unhandledRejection|Uncaught/.test(op.output())) {
    throw new Error(`the operator printed an unhandled error:\n${tail(op)}`);
  }
  if (port !== undefined) {
    const h = await getText(port, "/healthz").catch((err: unknown) => {
      throw new Error(`the operator does not answer /healthz (${String(err)}):\n${tail(op)}`);
    });
    if (h.status !== 200) throw new Error(`/healthz answered ${h.status}: ${h.body}`);
  }
}

/** `vaultmesh_reconcile_errors_total{controller}` of an operator process. */
export async function reconcileErrors(port: number, controller: string): Promise<number> {
  const m = new RegExp(
    `^vaultmesh_reconcile_errors_total\\{controller="${controller}"\\} (\\d+)`,
    "m",
  ).exec((await getText(port, "/metrics")).body);
  return m ? Number(m[1]) : 0;
}

/**
 * Holds an outage until `controller` has failed `n` more reconciles (so the retries have backed
 * off the way a real outage makes them) — a condition, not a sleep.
 */
export async function waitForRetries(port: number, controller: string, n: number): Promise<void> {
  const from = await reconcileErrors(port, controller);
  await waitFor(
    `${n} failed ${controller} reconciles`,
    async () => (await reconcileErrors(port, controller)) >= from + n,
    120_000,
  );
}

const tail = (op: OperatorProcess): string => op.output().split("\n").slice(-30).join("\n");

/** Times one outage: when the dependency went away and when it was back. */
export class OutageClock {
  readonly dependency: string;
  #down = 0;
  #back = 0;
  constructor(dependency: string) {
    this.dependency = dependency;
  }
  /** The dependency just went away. */
  down(): void {
    this.#down = Date.now();
  }
  /** The dependency answers again. */
  back(): void {
    this.#back = Date.now();
  }
  /**
   * Prints (and appends to `VAULTMESH_OUTAGE_FIGURES`) how long the outage lasted and how long
   * after the dependency's return `what` happened. A figure for docs/operations.md, never an
   * assertion.
   */
  recovered(what: string, extra: Record<string, unknown> = {}): number {
    const recoveryMs = Date.now() - this.#back;
    const line = JSON.stringify({
      dependency: this.dependency,
      what,
      outageMs: this.#back - this.#down,
      recoveryMs,
      ...extra,
    });
    process.stderr.write(`[outage] ${line}\n`);
    const file = process.env.VAULTMESH_OUTAGE_FIGURES;
    if (file) appendFileSync(file, `${line}\n`);
    return recoveryMs;
  }
}

/**
 * Appends a completion receipt for a made-up workload `name` of `namespace` to the stack's
 * ledger and creates its Receipt resource (what the GPUWorkload controller does when a
 * workload finishes): the Tenant controller then meters it to Stripe and announces it in
 * Discord. Returns the Receipt.
 */
export async function addCompletionReceipt(
  stack: TenantTestStack,
  client: KubeClient,
  namespace: string,
  name: string,
  gpuSeconds: number,
): Promise<Receipt> {
  const uid = crypto.randomUUID();
  const payload: CompletionPayload = {
    workloadUid: uid,
    namespace,
    name,
    attempt: 1,
    outcome: "Succeeded",
    treaty: "pool",
    provider: "in-cluster",
    region: "local",
    gpuType: "a10g",
    gpuCount: 1,
    pricePerHour: 1.2,
    jobName: `${name}-a1`,
    startTime: new Date(Date.now() - gpuSeconds * 1000).toISOString(),
    completionTime: new Date().toISOString(),
    provisionSeconds: 1,
    gpuSeconds,
    costMicroUsd: costMicros(gpuSeconds, 1.2),
  };
  const appended = await stack.ledger.ledger.append({
    type: "WorkloadCompleted",
    subject: { apiVersion: "vaultmesh.cloud/v1alpha1", kind: "GPUWorkload", namespace, name, uid },
    payload,
  });
  const workload = makeWorkload(name, namespace);
  workload.metadata.uid = uid;
  return await client.create(
    Resources.Receipt,
    receiptResource(workload, appended.receipt, payload),
  );
}

/** A loopback TCP proxy to a server that can be stopped and started on the same port. */
export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Refuses new connections and cuts the open ones (resets them). */
  stop(): Promise<void>;
  /** Accepts connections again on the same port. */
  start(): Promise<void>;
}

/** Starts a TCP proxy on a free loopback port forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const track = (s: Socket): void => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const srv = createServer((client) => {
      const upstream = connect({ host: "127.0.0.1", port: targetPort });
      track(client);
      track(upstream);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => resolve());
    });
    const addr = srv.address();
    port = typeof addr === "object" && addr !== null ? addr.port : port;
    server = srv;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    async stop() {
      const srv = server;
      server = undefined;
      for (const s of open) s.resetAndDestroy();
      await new Promise<void>((r) => (srv ? srv.close(() => r()) : r()));
    },
    start: listen,
  };
}

/** What a tenant outage test runs against: the stack, a Tenant operator child, its tenants. */
export interface OutageTenantEnv {
  readonly stack: TenantTestStack;
  readonly client: KubeClient;
  /** The operator/main.ts child running the Tenant controller. */
  readonly op: OperatorProcess;
  /** Its HTTP port (/metrics, /readyz, /healthz). */
  readonly port: number;
  /** The GPUWorkload admission webhooks, scoped to the first tenant's namespace, if asked for. */
  readonly hook: TestWebhook | undefined;
  /** The name of this file's tenant `suffix` (`<stack id>-<suffix>`). */
  name(suffix: string): string;
  /** Deletes the workload, the tenants (waiting until they are gone), the operator, the stack. */
  stop(): Promise<void>;
}

/** Options of {@link startOutageTenantEnv}. */
export interface OutageTenantOpts {
  /** Tenants created before the test, each Ready: name suffix → spec overrides. */
  readonly ready: Readonly<Record<string, Partial<TenantSpec>>>;
  /** Suffixes of tenants the test creates itself; deleted at stop like the others. */
  readonly later?: readonly string[];
  /** Extra environment of the operator child (e.g. a recorder in front of stripe-mock). */
  readonly operatorEnv?: (stack: TenantTestStack) => Promise<Record<string, string>>;
  /** Starts the admission webhooks; the workload named here is deleted at stop. */
  readonly admission?: { readonly workload: string };
}

/**
 * Starts a tenant stack, an operator child running the Tenant controller, and the `ready`
 * tenants (waiting until each is Ready), and — with `admission` — the GPUWorkload webhooks
 * scoped to the first of them.
 */
export async function startOutageTenantEnv(
  prefix: string,
  opts: OutageTenantOpts,
): Promise<OutageTenantEnv> {
  const stack = await startTenantTestStack(prefix);
  const name = (suffix: string): string => `${stack.id}-${suffix}`;
  const client = await testClient();
  const ready = Object.keys(opts.ready);
  const all = [...ready, ...(opts.later ?? [])].map(name);
  const first = `tenant-${name(ready[0] ?? "")}`;
  let op: OperatorProcess | undefined;
  let port = 0;
  let hook: TestWebhook | undefined;
  try {
    op = spawnTenantOperator(stack, (await opts.operatorEnv?.(stack)) ?? {});
    port = await operatorHttpPort(op);
    for (const [suffix, spec] of Object.entries(opts.ready)) {
      await client.create(Resources.Tenant, makeTenant(stack, name(suffix), spec));
    }
    for (const n of ready) await waitForTenant(client, name(n), "Ready", isReady, 120_000);
    if (opts.admission) {
      hook = await startWorkloadAdmission(prefix);
      await scopeNamespace(hook, first);
    }
  } catch (err) {
    // A set-up that failed half-way leaves nothing running behind it.
    await hook?.stop();
    for (const n of all) await client.delete(Resources.Tenant, { name: n }).catch(() => undefined);
    op?.kill("SIGKILL");
    await op?.exited;
    client.close();
    await stack.stop();
    throw err;
  }
  const operator = op;
  return {
    stack,
    client,
    op: operator,
    port,
    hook,
    name,
    async stop() {
      if (opts.admission) await deleteWorkload(first, opts.admission.workload);
      await hook?.stop();
      for (const n of all)
        await client.delete(Resources.Tenant, { name: n }).catch(() => undefined);
      // The operator tears them down; wait so nothing of this file stays in the cluster.
      await waitFor(
        "this file's tenants to be gone",
        async () => {
          for (const n of all) if (await client.get(Resources.Tenant, n)) return false;
          return true;
        },
        90_000,
      ).catch(() => undefined);
      operator.kill("SIGKILL");
      await operator.exited;
      client.close();
      await stack.stop();
    },
  };
}
