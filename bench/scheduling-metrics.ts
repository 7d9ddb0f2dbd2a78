// What one phase of `bench:scheduling` cost the control plane, read from outside the code under
// test: kube-apiserver and etcd /metrics (requests by verb and resource, request body bytes,
// watch event bytes, webhook calls, bytes etcd received), CPU of every control-plane process
// from /proc, and the machine's total CPU from /proc/stat (so the load other processes put on
// a shared machine is printed beside every figure).
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { basename } from "node:path";

/** Prometheus text exposition parsed to `name{labels}` → value (comments dropped). */
export type Series = Map<string, number>;

/** Parses Prometheus text format into a {@link Series} map. */
export function parseProm(text: string): Series {
  const out: Series = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    const v = Number(line.slice(sp + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

/** The value of label `l` in a series key, or "". */
export function labelOf(key: string, l: string): string {
  return new RegExp(`[{,]${l}="([^"]*)"`).exec(key)?.[1] ?? "";
}

/** Sums `after - before` of every series named `name`, grouped by `keyOf(series key)`. */
export function deltaBy(
  before: Series,
  after: Series,
  name: string,
  keyOf: (key: string) => string | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    if (!(k === name || k.startsWith(`${name}{`))) continue;
    const g = keyOf(k);
    if (g === undefined) continue;
    out[g] = (out[g] ?? 0) + v - (before.get(k) ?? 0);
  }
  return out;
}

/** The sum of `after - before` over every series named `name` whose key passes `when`. */
export function deltaSum(
  before: Series,
  after: Series,
  name: string,
  when: (key: string) => boolean = () => true,
): number {
  const d = deltaBy(before, after, name, (k) => (when(k) ? "x" : undefined));
  return d.x ?? 0;
}

/**
 * CPU seconds used so far by each process whose command line mentions `marker` (the cluster's
 * directory), keyed by executable name.
 */
export function cpuByProcess(marker: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmd.some((a) => a.includes(marker))) continue;
      const name = basename(cmd[0] ?? "?");
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

/** CPU seconds of a process by pid (utime + stime), 0 when it is gone. */
export function cpuOfPid(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0) / 100;
  const idle = ((f[3] ?? 0) + (f[4] ?? 0)) / 100;
  return { busy: total - idle, total };
}

/** One reading of everything a phase is charged for. */
export interface Snapshot {
  readonly at: number;
  readonly apiserver: Series;
  readonly etcd: Series;
  readonly operator: Series;
  readonly cpu: Record<string, number>;
  readonly machine: { busy: number; total: number };
  readonly load1: number;
}

/** Where a snapshot's numbers come from. */
export interface Sources {
  readonly apiserverMetrics: () => Promise<string>;
  readonly etcdMetrics: () => Promise<string>;
  readonly operatorMetrics: () => Promise<string>;
  /** CPU seconds by process so far (control plane, operator, bench, webhook server). */
  readonly cpu: () => Record<string, number>;
}

/** Takes a {@link Snapshot}. */
export async function snapshot(src: Sources): Promise<Snapshot> {
  const [a, e, o] = await Promise.all([
    src.apiserverMetrics(),
    src.etcdMetrics().catch(() => ""),
    src.operatorMetrics().catch(() => ""),
  ]);
  return {
    at: performance.now(),
    apiserver: parseProm(a),
    etcd: parseProm(e),
    operator: parseProm(o),
    cpu: src.cpu(),
    machine: machineCpu(),
    load1: loadavg()[0] ?? 0,
  };
}

const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"]);
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** `VERB resource[/subresource]` of an apiserver_request_total series, writes only. */
function writeKey(k: string): string | undefined {
  const verb = labelOf(k, "verb");
  if (!WRITE_VERBS.has(verb) || labelOf(k, "dry_run") !== "") return undefined;
  const sub = labelOf(k, "subresource");
  return `${verb} ${labelOf(k, "resource")}${sub ? `/${sub}` : ""}`;
}

/** Per-second rates of the background (kwok heartbeats, leases) in an idle window. */
export interface Background {
  readonly seconds: number;
  readonly writesPerSecond: Record<string, number>;
  readonly cpuMsPerSecond: Record<string, number>;
}

/** The background rates between two snapshots taken while nothing was applied. */
export function background(a: Snapshot, b: Snapshot): Background {
  const s = (b.at - a.at) / 1000;
  const writes = deltaBy(a.apiserver, b.apiserver, "apiserver_request_total", writeKey);
  const cpu: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.cpu)) cpu[k] = r1(((v - (a.cpu[k] ?? 0)) / s) * 1000);
  return {
    seconds: r1(s),
    writesPerSecond: Object.fromEntries(Object.entries(writes).map(([k, v]) => [k, r2(v / s)])),
    cpuMsPerSecond: cpu,
  };
}

/** What a phase of `n` workloads cost, per workload, with the background subtracted. */
export function phaseCost(
  a: Snapshot,
  b: Snapshot,
  n: number,
  bg: Background,
): Record<string, unknown> {
  const s = (b.at - a.at) / 1000;
  const per = (x: number): number => r2(x / n);
  const writes = deltaBy(a.apiserver, b.apiserver, "apiserver_request_total", writeKey);
  const writesPer: Record<string, number> = {};
  let writesTotal = 0;
  for (const [k, v] of Object.entries(writes)) {
    const net = v - (bg.writesPerSecond[k] ?? 0) * s;
    writesTotal += net;
    if (Math.abs(net / n) >= 0.01) writesPer[k] = per(net);
  }
  const cpuMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.cpu)) {
    const net = (v - (a.cpu[k] ?? 0)) * 1000 - (bg.cpuMsPerSecond[k] ?? 0) * s;
    cpuMs[k] = r1(net / n);
  }
  const bodyBytes = deltaBy(
    a.apiserver,
    b.apiserver,
    "apiserver_request_body_size_bytes_sum",
    (k) => {
      const v = labelOf(k, "verb").toUpperCase();
      return ["CREATE", "UPDATE", "PATCH", "APPLY", "POST", "PUT"].includes(v)
        ? `${v.toLowerCase()} ${labelOf(k, "resource")}`
        : undefined;
    },
  );
  const watchBytes = deltaBy(
    a.apiserver,
    b.apiserver,
    "apiserver_watch_events_sizes_sum",
    (k) => labelOf(k, "kind") || labelOf(k, "resource"),
  );
  const webhookCalls = deltaBy(
    a.apiserver,
    b.apiserver,
    "apiserver_admission_webhook_request_total",
    (k) => `${labelOf(k, "operation")} ${labelOf(k, "name").replace(/-bench-.*$/, "")}`,
  );
  const webhookSeconds = deltaSum(
    a.apiserver,
    b.apiserver,
    "apiserver_admission_webhook_admission_duration_seconds_sum",
  );
  const etcdIn = deltaSum(a.etcd, b.etcd, "etcd_network_client_grpc_received_bytes_total");
  const etcdPuts = deltaSum(a.etcd, b.etcd, "etcd_mvcc_put_total");
  const busy = b.machine.busy - a.machine.busy;
  const ours = Object.entries(b.cpu).reduce((t, [k, v]) => t + v - (a.cpu[k] ?? 0), 0);
  const roundMap = (m: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(m)
        .filter(([, v]) => Math.abs(v / n) >= 0.01)
        .map(([k, v]) => [k, per(v)]),
    );
  return {
    seconds: r1(s),
    cpuMsPerWorkload: cpuMs,
    writesPerWorkload: r2(writesTotal / n),
    writesPerWorkloadBy: writesPer,
    requestBodyBytesPerWorkload: roundMap(bodyBytes),
    watchEventBytesPerWorkload: roundMap(watchBytes),
    etcdReceivedBytesPerWorkload: Math.round(etcdIn / n),
    etcdPutsPerWorkload: per(etcdPuts),
    webhookCallsPerWorkload: roundMap(webhookCalls),
    webhookMsPerWorkload: r2((webhookSeconds * 1000) / n),
    // Cores busy with anything but the bench's own processes (other engineers' tests).
    load: {
      machineBusyCores: r2(busy / s),
      otherProcessesCores: r2(Math.max(0, busy - ours) / s),
      loadavg1: r2(b.load1),
    },
  };
}
