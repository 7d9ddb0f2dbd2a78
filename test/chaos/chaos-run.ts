/**
 * One chaos run: start the stack, start the load, play the fault schedule (kill, hold the
 * outage, bring back, measure the time until every /readyz is all-up and a new workload
 * completes with its receipt), stop the load, let the world settle, check the invariants.
 * Shared by the short form in `make test` and `npm run chaos -- --minutes N`.
 */
import type { GPUWorkload, Tenant } from "../../crds/index.ts";
import { KubeApiError, Resources, type KubeClient } from "../../services/kube/index.ts";
import {
  ledgerAudit,
  noProcessExited,
  readWorld,
  worldInvariants,
  finished,
  type InvariantResult,
  type World,
} from "./invariants.ts";
import { LoadGenerator, loadWorkload, tenantNamespace, type LoadCounts } from "./load.ts";
import { httpGet } from "./processes.ts";
import { FAULT_TARGETS, startStack, type ChaosStack, type FaultTarget } from "./stack.ts";

/** A fault: one component, or a pair, killed together and brought back together. */
export type Fault = readonly FaultTarget[];

/** Kill order: the leader is looked up through the apiserver, so it goes first. */
const KILL_ORDER: readonly FaultTarget[] = [
  "operator-leader",
  ...FAULT_TARGETS.filter((t) => t !== "operator-leader"),
];
/** Restore order: what others need comes back first (etcd before the apiserver…). */
const RESTORE_ORDER: readonly FaultTarget[] = [
  "etcd",
  "kube-apiserver",
  "postgres",
  "redis",
  "tsa",
  "stripe-mock",
  "discord",
  "provider-sim",
  "ledger-publisher",
  "webhook",
  "operator-leader",
];

/** Every single fault, then every pair, in a deterministic order shuffled by `seed`. */
export function faultSchedule(kind: "singles" | "pairs", seed: number): Fault[] {
  const faults: Fault[] =
    kind === "singles"
      ? FAULT_TARGETS.map((t) => [t])
      : FAULT_TARGETS.flatMap((a, i) => FAULT_TARGETS.slice(i + 1).map((b) => [a, b] as const));
  // A small LCG: the same seed gives the same order, so a failing run can be replayed.
  let x = seed >>> 0 || 1;
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [faults[i], faults[j]] = [faults[j] as Fault, faults[i] as Fault];
  }
  return faults;
}

/** The label of a fault in the figures: "postgres" or "postgres+redis". */
export const faultLabel = (f: Fault): string => [...f].sort().join("+");

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Singles once (short form), or singles and pairs until `minutes` passed. */
  readonly mode: "short" | "long";
  readonly minutes?: number;
  /** How long each fault is held before the components come back. */
  readonly outageMs: number;
  /** Tenants created at the start; the long form adds one every `tenantEveryMs`. */
  readonly tenants: number;
  readonly tenantEveryMs?: number;
  /** Load tick. */
  readonly tickMs: number;
  /** Most time a recovery may take before it counts as failed. */
  readonly recoveryTimeoutMs: number;
  readonly seed?: number;
  readonly log?: (msg: string) => void;
}

/** One fault as it happened. */
export interface FaultRecord {
  readonly fault: string;
  readonly outageMs: number;
  /** From bringing the components back to all-ready plus a new workload's receipt; undefined: not recovered. */
  readonly recoveryMs: number | undefined;
}

/** The figures of a run (printed as JSON by the long form). */
export interface ChaosReport {
  readonly mode: "short" | "long";
  readonly seconds: number;
  readonly workloads: { total: number; finished: number; inCluster: number; provider: number };
  readonly load: LoadCounts;
  readonly kills: Record<string, number>;
  readonly recovery: Record<string, { n: number; p50Ms: number; maxMs: number; failed: number }>;
  readonly faults: FaultRecord[];
  readonly invariants: InvariantResult[];
  readonly ok: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when every /readyz of ours answers 200 with no check failed and no dependency down. */
export async function allReady(urls: readonly string[]): Promise<boolean> {
  const rs = await Promise.all(urls.map((u) => httpGet(u)));
  // "[~]x not yet connected" is a standby that never needed x: only "down" counts.
  return rs.every((r) => r.status === 200 && !/\[-\]|\[~\][^\n"]* down/.test(r.body));
}

async function tenantsReady(client: KubeClient, names: readonly string[]): Promise<boolean> {
  const ts = await client.list<Tenant>(Resources.Tenant);
  return names.every((n) =>
    ts.items.some(
      (t) =>
        t.metadata.name === n &&
        t.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ),
  );
}

/** Creates a probe workload (retrying while admission is down) and waits for its receipt. */
async function probe(
  client: KubeClient,
  ns: string,
  name: string,
  urls: readonly string[],
  deadline: number,
): Promise<boolean> {
  let created = false;
  while (Date.now() < deadline) {
    if (!created) {
      try {
        await client.create(Resources.GPUWorkload, loadWorkload(name, ns, "pool", "500ms"));
        created = true;
      } catch (err) {
        created = err instanceof KubeApiError && err.reason === "AlreadyExists";
      }
    }
    if (created) {
      const w = await client
        .get<GPUWorkload>(Resources.GPUWorkload, name, ns)
        .catch(() => undefined);
      if (w && finished(w) && (await allReady(urls))) return true;
    }
    await sleep(250);
  }
  return false;
}

/** What a probe that did not finish looked like: its conditions and every /readyz body. */
async function probeState(
  client: KubeClient,
  ns: string,
  name: string,
  urls: readonly string[],
): Promise<string> {
  const w = await client
    .get<GPUWorkload>(Resources.GPUWorkload, name, ns)
    .catch((e: Error) => e.message);
  const ready = await Promise.all(
    urls.map(async (u) => `${u}: ${JSON.stringify((await httpGet(u)).body)}`),
  );
  return `${JSON.stringify(typeof w === "string" ? w : w?.status?.conditions)}\n${ready.join("\n")}`;
}

function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

/** Runs the suite; the stack is stopped before it returns. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const stack: ChaosStack = await startStack({ log });
  const faults: FaultRecord[] = [];
  const kills: Record<string, number> = {};
  let load: LoadGenerator | undefined;
  try {
    const client = stack.client;
    load = new LoadGenerator(client, o.tickMs);
    for (let i = 0; i < o.tenants; i++) {
      while (!(await load.addTenant())) await sleep(500);
    }
    const first = [...load.tenants];
    const waitTenants = Date.now() + 120_000;
    while (!(await tenantsReady(client, first).catch(() => false))) {
      if (Date.now() > waitTenants) throw new Error("chaos: tenants not Ready within 120 s");
      await sleep(500);
    }
    const probeNs = tenantNamespace(first[0] ?? "");
    let probes = 0;
    if (
      !(await probe(client, probeNs, `probe-${probes++}`, stack.readyzUrls, Date.now() + 120_000))
    )
      throw new Error(
        `chaos: the first probe workload did not complete: ${await probeState(client, probeNs, "probe-0", stack.readyzUrls)}`,
      );
    log(`tenants Ready and a workload completed after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    load.start();
    const end = Date.now() + (o.minutes ?? 0) * 60_000;
    let lastTenant = Date.now();
    let round = 0;
    for (;;) {
      const schedule =
        o.mode === "short"
          ? faultSchedule("singles", o.seed ?? 1)
          : [
              ...faultSchedule("singles", (o.seed ?? 1) + round),
              ...faultSchedule("pairs", (o.seed ?? 1) + round).slice(0, 11),
            ];
      for (const f of schedule) {
        if (o.mode === "long" && Date.now() > end) break;
        if (o.tenantEveryMs && Date.now() - lastTenant > o.tenantEveryMs) {
          lastTenant = Date.now();
          await load.addTenant();
        }
        const label = faultLabel(f);
        for (const t of KILL_ORDER.filter((k) => f.includes(k))) {
          await stack.kill(t);
          kills[t] = (kills[t] ?? 0) + 1;
        }
        const down = Date.now();
        await sleep(o.outageMs);
        for (const t of RESTORE_ORDER.filter((k) => f.includes(k))) await stack.restore(t);
        const back = Date.now();
        const ok = await probe(
          client,
          probeNs,
          `probe-${probes++}`,
          stack.readyzUrls,
          back + o.recoveryTimeoutMs,
        );
        const rec: FaultRecord = {
          fault: label,
          outageMs: back - down,
          recoveryMs: ok ? Date.now() - back : undefined,
        };
        faults.push(rec);
        log(
          `fault ${label}: down ${rec.outageMs} ms, recovered ${ok ? `in ${rec.recoveryMs} ms` : "NOT within the bound"}`,
        );
      }
      round++;
      if (o.mode === "short" || Date.now() > end) break;
    }
    await load.stop();
    // Settle: the world converges (receipts land, usage is metered); poll until the invariants
    // hold or the bound passes, then report what holds.
    const w: World = { ...stack, tenants: load.tenants };
    const settleBy = Date.now() + 180_000;
    let results: InvariantResult[] = [];
    let snapshotWorkloads = { total: 0, finished: 0, inCluster: 0, provider: 0 };
    for (;;) {
      const s = await readWorld(w).catch(() => undefined);
      if (s) {
        results = worldInvariants(s, w);
        const work = s.workloads.filter((x) => !(x.metadata.name ?? "").startsWith("deny-"));
        snapshotWorkloads = {
          total: work.length,
          finished: work.filter(finished).length,
          inCluster: work.filter((x) => x.status?.placement?.provider === "in-cluster").length,
          provider: work.filter(
            (x) => x.status?.placement && x.status.placement.provider !== "in-cluster",
          ).length,
        };
        if (results.every((r) => r.ok) || Date.now() > settleBy) break;
      } else if (Date.now() > settleBy) break;
      await sleep(3000);
    }
    results.push(await ledgerAudit(w), noProcessExited(w));
    const unrecovered = faults.filter((f) => f.recoveryMs === undefined).map((f) => f.fault);
    results.push({
      name: "every fault recovered",
      ok: unrecovered.length === 0,
      detail:
        unrecovered.length === 0
          ? `${faults.length} faults`
          : `not recovered: ${unrecovered.join(", ")}`,
    });
    const recovery: ChaosReport["recovery"] = {};
    for (const label of new Set(faults.map((f) => f.fault))) {
      const fs = faults.filter((f) => f.fault === label);
      const ms = fs.flatMap((f) => (f.recoveryMs === undefined ? [] : [f.recoveryMs]));
      recovery[label] = {
        n: fs.length,
        p50Ms: percentile(ms, 0.5),
        maxMs: ms.length ? Math.max(...ms) : 0,
        failed: fs.length - ms.length,
      };
    }
    return {
      mode: o.mode,
      seconds: Math.round((Date.now() - t0) / 1000),
      workloads: snapshotWorkloads,
      load: load.counts,
      kills,
      recovery,
      faults,
      invariants: results,
      ok: results.every((r) => r.ok),
    };
  } finally {
    await load?.stop();
    if (process.env.VAULTMESH_CHAOS_KEEP !== "1") await stack.stop();
    else log(`kept the stack's files in ${stack.dir}`);
  }
}
