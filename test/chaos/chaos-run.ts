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
  type WorldSnapshot,
} from "./invariants.ts";
import {
  DENY_PREFIX,
  LoadGenerator,
  loadWorkload,
  tenantNamespace,
  type LoadCounts,
} from "./load.ts";
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

/** Creates the first tenants, waits until they are Ready and a first workload completed. */
export async function warmUp(
  stack: ChaosStack,
  load: LoadGenerator,
  o: ChaosOptions,
): Promise<string> {
  const client = stack.client;
  for (let i = 0; i < o.tenants; i++) {
    while (!(await load.addTenant())) await sleep(500);
  }
  const first = [...load.tenants];
  const by = Date.now() + 120_000;
  while (!(await tenantsReady(client, first).catch(() => false))) {
    if (Date.now() > by) throw new Error("chaos: tenants not Ready within 120 s");
    await sleep(500);
  }
  const ns = tenantNamespace(first[0] ?? "");
  if (!(await probe(client, ns, "probe-0", stack.readyzUrls, Date.now() + 120_000))) {
    const state = await probeState(client, ns, "probe-0", stack.readyzUrls);
    throw new Error(`chaos: the first probe workload did not complete: ${state}`);
  }
  return ns;
}

/** Plays one fault: kill, hold, bring back, measure the recovery. */
async function playFault(
  stack: ChaosStack,
  f: Fault,
  probeAt: { readonly name: string; readonly ns: string },
  o: ChaosOptions,
  kills: Record<string, number>,
): Promise<FaultRecord> {
  for (const t of KILL_ORDER.filter((k) => f.includes(k))) {
    await stack.kill(t);
    kills[t] = (kills[t] ?? 0) + 1;
  }
  const down = Date.now();
  await sleep(o.outageMs);
  // Recovery counts from the moment the components are started again (their start-up included).
  const back = Date.now();
  for (const t of RESTORE_ORDER.filter((k) => f.includes(k))) await stack.restore(t);
  const deadline = back + o.recoveryTimeoutMs;
  const ok = await probe(stack.client, probeAt.ns, probeAt.name, stack.readyzUrls, deadline);
  return {
    fault: faultLabel(f),
    outageMs: back - down,
    recoveryMs: ok ? Date.now() - back : undefined,
  };
}

/** The faults of one round: every single (short form), or singles and 11 pairs (long form). */
function roundFaults(o: ChaosOptions, round: number): Fault[] {
  const seed = (o.seed ?? 1) + round;
  if (o.mode === "short") return faultSchedule("singles", seed);
  return [...faultSchedule("singles", seed), ...faultSchedule("pairs", seed).slice(0, 11)];
}

/** Plays rounds of faults under load until the schedule (short) or the time (long) is done. */
async function playSchedule(
  stack: ChaosStack,
  load: LoadGenerator,
  probeNs: string,
  o: ChaosOptions,
): Promise<{ faults: FaultRecord[]; kills: Record<string, number> }> {
  const log = o.log ?? (() => {});
  const faults: FaultRecord[] = [];
  const kills: Record<string, number> = {};
  const end = Date.now() + (o.minutes ?? 0) * 60_000;
  const over = (): boolean => o.mode === "long" && Date.now() > end;
  let lastTenant = Date.now();
  for (let round = 0; !over(); round++) {
    for (const f of roundFaults(o, round)) {
      if (over()) break;
      if (o.tenantEveryMs && Date.now() - lastTenant > o.tenantEveryMs) {
        lastTenant = Date.now();
        await load.addTenant();
      }
      const probeAt = { name: `probe-${faults.length + 1}`, ns: probeNs };
      const rec = await playFault(stack, f, probeAt, o, kills);
      faults.push(rec);
      const how = rec.recoveryMs === undefined ? "NOT within the bound" : `in ${rec.recoveryMs} ms`;
      log(`fault ${rec.fault}: down ${rec.outageMs} ms, recovered ${how}`);
    }
    if (o.mode === "short") break;
  }
  return { faults, kills };
}

type WorkloadFigures = ChaosReport["workloads"];

function workloadFigures(s: WorldSnapshot): WorkloadFigures {
  const work = s.workloads.filter((x) => !(x.metadata.name ?? "").startsWith(DENY_PREFIX));
  const placedOn = (x: GPUWorkload): string | undefined => x.status?.placement?.provider;
  return {
    total: work.length,
    finished: work.filter(finished).length,
    inCluster: work.filter((x) => placedOn(x) === "in-cluster").length,
    provider: work.filter((x) => placedOn(x) !== undefined && placedOn(x) !== "in-cluster").length,
  };
}

/**
 * Lets the world converge (receipts land, usage is metered) and checks the invariants: polls
 * until they hold or the bound passes, then adds verify-audit and the process exits.
 */
async function settle(
  w: World,
): Promise<{ results: InvariantResult[]; workloads: WorkloadFigures }> {
  const by = Date.now() + 180_000;
  let results: InvariantResult[] = [];
  let workloads: WorkloadFigures = { total: 0, finished: 0, inCluster: 0, provider: 0 };
  for (;;) {
    const s = await readWorld(w).catch(() => undefined);
    if (s) {
      results = worldInvariants(s, w);
      workloads = workloadFigures(s);
    }
    if ((s && results.every((r) => r.ok)) || Date.now() > by) break;
    await sleep(3000);
  }
  if (results.length === 0) {
    results.push({ name: "the world could be read", ok: false, detail: "apiserver or Postgres" });
  }
  results.push(await ledgerAudit(w), noProcessExited(w));
  return { results, workloads };
}

function recoveryFigures(faults: readonly FaultRecord[]): ChaosReport["recovery"] {
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
  return recovery;
}

/** Runs the suite; the stack is stopped before it returns. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const stack: ChaosStack = await startStack({ log });
  const load = new LoadGenerator(stack.client, o.tickMs);
  try {
    const probeNs = await warmUp(stack, load, o);
    log(`tenants Ready and a workload completed after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    load.start();
    const { faults, kills } = await playSchedule(stack, load, probeNs, o);
    await load.stop();
    const { results, workloads } = await settle({ ...stack, tenants: load.tenants });
    const unrecovered = faults.filter((f) => f.recoveryMs === undefined).map((f) => f.fault);
    results.push({
      name: "every fault recovered",
      ok: unrecovered.length === 0,
      detail:
        unrecovered.length === 0
          ? `${faults.length} faults`
          : `not recovered: ${unrecovered.join(", ")}`,
    });
    return {
      mode: o.mode,
      seconds: Math.round((Date.now() - t0) / 1000),
      workloads,
      load: load.counts,
      kills,
      recovery: recoveryFigures(faults),
      faults,
      invariants: results,
      ok: results.every((r) => r.ok),
    };
  } finally {
    await load.stop();
    await stack.stop();
  }
}
