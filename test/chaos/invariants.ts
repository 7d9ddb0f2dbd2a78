/**
 * The chaos suite's invariants, read from the world at the end of a run — apiserver objects,
 * the ledger's and the Arrakis schema's Postgres rows, what stripe-mock answered, what the
 * Discord stand-in received, `remembrancer verify-audit` — never from the product's or the load
 * generator's own counters (issue 10, ADR 0073).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { centsCostToMicros } from "../../crds/domain/money.ts";
import type { GPUWorkload, Receipt, Tenant } from "../../crds/index.ts";
import { Labels } from "../../operator/controllers/gpuworkload/completion-receipt.ts";
import type { Job } from "../../operator/shared/kube-types.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { DENY_PREFIX, tenantNamespace } from "./load.ts";
import type { UnexpectedExit } from "./processes.ts";
import { readStripeRecords } from "./stripe-recorder.ts";

const run = promisify(execFile);

/** One invariant's verdict. */
export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  /** What was counted, and the first offenders when it failed. */
  readonly detail: string;
}

/** Where the world is. */
export interface World {
  readonly client: KubeClient;
  readonly dbUrl: string;
  readonly keyDir: string;
  readonly stripeLog: string;
  readonly discordLog: string;
  readonly exits: readonly UnexpectedExit[];
  readonly tenants: readonly string[];
}

/** A completion entry of the ledger: its payload and digest. */
interface LedgerCompletion {
  readonly digest: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly gpuSeconds: number;
  readonly costMicroUsd: number;
}

/** What the world holds, read once per check. */
export interface WorldSnapshot {
  readonly workloads: GPUWorkload[];
  readonly jobs: Job[];
  readonly receipts: Receipt[];
  readonly tenants: Tenant[];
  readonly completions: LedgerCompletion[];
  /** PolicyDenied entries per admission request uid. */
  readonly denials: Map<string, number>;
  /** usage_reports rows: tenant uid → digest → GPU-hours. */
  readonly usageReports: { tenantId: string; digest: string; gpuHours: number }[];
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

const cond = (w: GPUWorkload, type: string): string | undefined =>
  w.status?.conditions?.find((c) => c.type === type)?.status;

/** True when the workload finished (Complete or Failed) and names its receipt. */
export const finished = (w: GPUWorkload): boolean =>
  (cond(w, "Complete") === "True" || cond(w, "Failed") === "True") &&
  w.status?.receiptRef !== undefined;

function completionOf(r: Receipt): { gpuSeconds: number } | undefined {
  if (r.spec.type !== "WorkloadCompleted" && r.spec.type !== "WorkloadFailed") return undefined;
  const p = r.spec.payload as { gpuSeconds?: unknown };
  return { gpuSeconds: typeof p.gpuSeconds === "number" ? p.gpuSeconds : 0 };
}

/** Reads apiserver objects and Postgres rows. */
export async function readWorld(w: World): Promise<WorldSnapshot> {
  const [wl, jobs, rc, ts] = await Promise.all([
    w.client.list<GPUWorkload>(Resources.GPUWorkload),
    w.client.list<Job>(Resources.Job),
    w.client.list<Receipt>(Resources.Receipt),
    w.client.list<Tenant>(Resources.Tenant),
  ]);
  const pool = new pg.Pool({ connectionString: w.dbUrl, max: 1 });
  pool.on("error", () => undefined);
  try {
    const entries = await pool.query<{
      type: string;
      digest: Buffer;
      subject: string;
      receipt: Buffer;
    }>(
      "SELECT type, digest, subject, receipt FROM ledger_entries WHERE type IN ('WorkloadCompleted','WorkloadFailed','PolicyDenied')",
    );
    const completions: LedgerCompletion[] = [];
    const denials = new Map<string, number>();
    for (const e of entries.rows) {
      if (e.type === "PolicyDenied") {
        const uid = (JSON.parse(e.subject) as { uid?: string }).uid ?? "";
        denials.set(uid, (denials.get(uid) ?? 0) + 1);
        continue;
      }
      const body = JSON.parse(e.receipt.toString("utf8")) as { payload?: Record<string, unknown> };
      const p = body.payload ?? {};
      completions.push({
        digest: e.digest.toString("hex"),
        uid: str(p.workloadUid),
        namespace: str(p.namespace),
        name: str(p.name),
        gpuSeconds: Number(p.gpuSeconds ?? 0),
        // Integer micro-dollars; a receipt from before them carries whole cents (ADR 0096).
        costMicroUsd:
          typeof p.costMicroUsd === "number"
            ? p.costMicroUsd
            : centsCostToMicros(Number(p.cost ?? 0)),
      });
    }
    const usage = await pool
      .query<{ tenant_id: string; receipt_digest: string; gpu_hours: string }>(
        "SELECT tenant_id, receipt_digest, gpu_hours FROM arrakis.usage_reports",
      )
      .catch(() => ({ rows: [] }));
    return {
      workloads: wl.items,
      jobs: jobs.items.filter((j) => j.metadata.labels?.[Labels.workloadUid] !== undefined),
      receipts: rc.items,
      tenants: ts.items.filter((t) => w.tenants.includes(t.metadata.name ?? "")),
      completions,
      denials,
      usageReports: usage.rows.map((r) => ({
        tenantId: r.tenant_id,
        digest: r.receipt_digest,
        gpuHours: Number(r.gpu_hours),
      })),
    };
  } finally {
    await pool.end();
  }
}

const verdict = (name: string, bad: string[], counted: string): InvariantResult => ({
  name,
  ok: bad.length === 0,
  detail:
    bad.length === 0 ? counted : `${counted}; ${bad.length} bad: ${bad.slice(0, 5).join("; ")}`,
});

function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

/** Every workload has one Job per in-cluster attempt, and no Job without its attempt. */
export function oneJobPerAttempt(s: WorldSnapshot): InvariantResult {
  const bad: string[] = [];
  const byAttempt = countBy(
    s.jobs,
    (j) => `${j.metadata.labels?.[Labels.workloadUid]}#${j.metadata.labels?.[Labels.attempt]}`,
  );
  for (const [k, n] of byAttempt) if (n > 1) bad.push(`${n} Jobs for attempt ${k}`);
  const byUid = new Map(s.workloads.map((w) => [w.metadata.uid ?? "", w]));
  for (const j of s.jobs) {
    const w = byUid.get(j.metadata.labels?.[Labels.workloadUid] ?? "");
    const attempt = Number(j.metadata.labels?.[Labels.attempt] ?? "0");
    const a = w?.status?.attempts?.find((x) => x.attempt === attempt);
    if (!a || a.jobName !== j.metadata.name) {
      bad.push(`Job ${j.metadata.namespace}/${j.metadata.name} is no attempt of its workload`);
    }
  }
  const names = new Set(s.jobs.map((j) => `${j.metadata.namespace}/${j.metadata.name}`));
  for (const w of s.workloads) {
    for (const a of w.status?.attempts ?? []) {
      if (
        a.jobName &&
        a.outcome === "Succeeded" &&
        !names.has(`${w.metadata.namespace}/${a.jobName}`)
      )
        bad.push(`${w.metadata.namespace}/${w.metadata.name} attempt ${a.attempt}: Job missing`);
    }
  }
  return verdict("one Job per attempt", bad, `${s.jobs.length} Jobs, ${byAttempt.size} attempts`);
}

/** At most one completion receipt per workload (ledger and resources); every finished one has it. */
export function oneReceiptPerWorkload(s: WorldSnapshot): InvariantResult {
  const bad: string[] = [];
  const inLedger = countBy(s.completions, (c) => c.uid);
  const resources = countBy(
    s.receipts.filter((r) => completionOf(r)),
    (r) => r.metadata.labels?.[Labels.receiptFor] ?? "",
  );
  for (const [uid, n] of inLedger) if (n > 1) bad.push(`${n} ledger receipts for ${uid}`);
  for (const [uid, n] of resources) if (n > 1) bad.push(`${n} Receipt resources for ${uid}`);
  const work = s.workloads.filter((w) => !(w.metadata.name ?? "").startsWith(DENY_PREFIX));
  for (const w of work) {
    const uid = w.metadata.uid ?? "";
    if (finished(w) && inLedger.get(uid) !== 1)
      bad.push(`${w.metadata.namespace}/${w.metadata.name} finished without its ledger receipt`);
  }
  const done = work.filter(finished).length;
  return verdict(
    "at most one completion receipt per workload",
    bad,
    `${s.completions.length} ledger completion receipts, ${done}/${work.length} workloads finished`,
  );
}

/** Every admitted workload finished (nothing lost): run after the load stopped and settled. */
export function everyWorkloadFinished(s: WorldSnapshot): InvariantResult {
  const open = s.workloads.filter(
    (w) => !(w.metadata.name ?? "").startsWith(DENY_PREFIX) && !finished(w),
  );
  const bad = open.map(
    (w) =>
      `${w.metadata.namespace}/${w.metadata.name}: ${w.status?.conditions?.find((c) => c.type === "Ready")?.reason ?? "no status"}`,
  );
  return verdict("every admitted workload finished", bad, `${s.workloads.length} workloads`);
}

/** Tenant usage (status and the usage_reports rows) equals the sum of its receipts. */
export function usageEqualsReceipts(s: WorldSnapshot): InvariantResult {
  const bad: string[] = [];
  for (const t of s.tenants) {
    const ns = tenantNamespace(t.metadata.name ?? "");
    const mine = s.completions.filter((c) => c.namespace === ns);
    const seconds = mine.reduce((a, c) => a + c.gpuSeconds, 0);
    const wantHours = Math.round((seconds / 3600) * 1e6) / 1e6;
    const haveHours = t.status?.usage?.gpuHoursThisPeriod ?? 0;
    if (Math.abs(haveHours - wantHours) > 1e-6)
      bad.push(`${t.metadata.name}: status ${haveHours} GPU-h, receipts ${wantHours}`);
    const wantCost = mine.reduce((a, c) => a + c.costMicroUsd, 0);
    const haveCost = t.status?.usage?.costMicroUsd ?? 0;
    if (haveCost !== wantCost)
      bad.push(`${t.metadata.name}: status cost ${haveCost}, receipts ${wantCost}`);
    const reported = s.usageReports.filter((u) => u.tenantId === t.metadata.uid);
    const billed = mine.filter((c) => c.gpuSeconds > 0);
    const repHours = reported.reduce((a, u) => a + u.gpuHours, 0);
    const billedHours = billed.reduce((a, c) => a + c.gpuSeconds / 3600, 0);
    if (reported.length !== billed.length || Math.abs(repHours - billedHours) > 1e-6)
      bad.push(
        `${t.metadata.name}: ${reported.length} usage rows (${repHours.toFixed(6)} h), ${billed.length} receipts with usage (${billedHours.toFixed(6)} h)`,
      );
  }
  return verdict("usage equals the sum of receipts", bad, `${s.tenants.length} tenants`);
}

/** Stripe meter events (by idempotency key, as Stripe dedupes) equal the usage receipts. */
export function meterEventsEqualReceipts(s: WorldSnapshot, stripeLog: string): InvariantResult {
  const events = readStripeRecords(stripeLog).filter(
    (r) => r.method === "POST" && r.path === "/v1/billing/meter_events" && r.status === 200,
  );
  const byKey = new Map<string, string>();
  const bad: string[] = [];
  for (const e of events) {
    const key = e.idempotencyKey ?? "(none)";
    const value = e.body["payload[value]"] ?? "";
    if (e.body.identifier !== key) bad.push(`meter event ${key}: identifier ${e.body.identifier}`);
    if (byKey.has(key) && byKey.get(key) !== value)
      bad.push(`meter event ${key} sent with two values`);
    byKey.set(key, value);
  }
  const want = new Map<string, string>();
  for (const r of s.receipts) {
    const c = completionOf(r);
    if (c && c.gpuSeconds > 0) want.set(r.spec.digest, String(Math.round(c.gpuSeconds)));
  }
  for (const [k, v] of want) {
    if (!byKey.has(k)) bad.push(`receipt ${k.slice(0, 16)}… has no meter event`);
    else if (byKey.get(k) !== v)
      bad.push(`meter event ${k.slice(0, 16)}…: value ${byKey.get(k)}, receipt ${v}`);
  }
  for (const k of byKey.keys())
    if (!want.has(k)) bad.push(`meter event ${k.slice(0, 16)}… has no receipt`);
  return verdict(
    "Stripe meter events equal receipts by idempotency key",
    bad,
    `${events.length} meter event requests, ${byKey.size} keys, ${want.size} usage receipts`,
  );
}

/**
 * Discord notices equal completion receipts by nonce: Discord drops a message whose nonce it
 * saw moments ago (`enforce_nonce`), so a retried notice is one message; every receipt of a
 * tenant has one notice, in that tenant's channel.
 */
export function noticesEqualReceipts(s: WorldSnapshot, discordLog: string): InvariantResult {
  const channelOf = new Map(
    s.tenants.map((t) => [t.spec.discord?.channelId ?? "", tenantNamespace(t.metadata.name ?? "")]),
  );
  const posted = new Set<string>();
  for (const p of discordRequests(discordLog)) {
    const m = /^\/channels\/(\d+)\/messages$/.exec(p.path ?? "");
    const nonce = (p.body as { nonce?: unknown } | undefined)?.nonce;
    if (m && p.method === "POST" && typeof nonce === "string") {
      posted.add(`${channelOf.get(m[1] ?? "") ?? m[1]}/${nonce}`);
    }
  }
  const want = new Set(
    s.receipts
      .filter((r) => completionOf(r))
      .map((r) => `${r.metadata.namespace}/${r.spec.digest.replace(/^sha256:/, "").slice(0, 25)}`),
  );
  const bad = [
    ...[...want].filter((k) => !posted.has(k)).map((k) => `no notice for receipt ${k}`),
    ...[...posted].filter((k) => !want.has(k)).map((k) => `notice ${k} has no receipt`),
  ];
  return verdict(
    "Discord notices equal receipts by nonce",
    bad,
    `${posted.size} distinct notices, ${want.size} completion receipts`,
  );
}

/** The admission webhooks failed closed: no request meant to be denied exists. */
export function deniedStayDenied(s: WorldSnapshot): InvariantResult {
  const admitted = s.workloads.filter((w) => (w.metadata.name ?? "").startsWith(DENY_PREFIX));
  const dup = [...s.denials]
    .filter(([, n]) => n > 1)
    .map(([uid, n]) => `${n} PolicyDenied for ${uid}`);
  return verdict(
    "denials stay denied and are recorded once",
    [...admitted.map((w) => `${w.metadata.namespace}/${w.metadata.name} admitted`), ...dup],
    `${s.denials.size} PolicyDenied receipts`,
  );
}

/** The requests the Discord stand-in logged (hack/dev-stand-ins.ts: one JSON line each). */
function discordRequests(discordLog: string): { method?: string; path?: string; body?: unknown }[] {
  if (!existsSync(discordLog)) return [];
  return readFileSync(discordLog, "utf8")
    .split("\n")
    .filter((l) => l.includes('"component":"discord"'))
    .map((l) => JSON.parse(l) as { method?: string; path?: string; body?: unknown });
}

/** Counts the Discord messages posted; a post naming another tenant than its channel's is bad. */
function discordPosts(s: WorldSnapshot, discordLog: string, bad: string[]): number {
  const channelOf = new Map(
    s.tenants.map((t) => [t.spec.discord?.channelId ?? "", t.metadata.name ?? ""]),
  );
  let posts = 0;
  for (const rec of discordRequests(discordLog)) {
    const m = /^\/channels\/(\d+)\/messages$/.exec(rec.path ?? "");
    if (!m || rec.method !== "POST") continue;
    posts++;
    const owner = channelOf.get(m[1] ?? "");
    if (owner === undefined) bad.push(`Discord post to unknown channel ${m[1]}`);
    for (const x of JSON.stringify(rec.body).matchAll(/chaos-t(\d+)\b/g)) {
      if (owner !== undefined && `chaos-t${x[1]}` !== owner)
        bad.push(`Discord post to ${owner}'s channel names chaos-t${x[1]}`);
    }
  }
  return posts;
}

/** No tenant's data reached another: receipts, ledger entries, usage rows, Discord posts. */
export function tenantIsolation(s: WorldSnapshot, discordLog: string): InvariantResult {
  const bad: string[] = [];
  const nsOf = new Map(s.workloads.map((w) => [w.metadata.uid ?? "", w.metadata.namespace ?? ""]));
  for (const r of s.receipts) {
    const uid = r.metadata.labels?.[Labels.receiptFor];
    const p = r.spec.payload as { namespace?: unknown };
    if (
      completionOf(r) &&
      (p.namespace !== r.metadata.namespace || nsOf.get(uid ?? "") !== r.metadata.namespace)
    )
      bad.push(`Receipt ${r.metadata.namespace}/${r.metadata.name} is about another namespace`);
  }
  for (const c of s.completions) {
    const ns = nsOf.get(c.uid);
    if (ns !== undefined && ns !== c.namespace)
      bad.push(`ledger receipt of ${c.uid} names ${c.namespace}, workload is in ${ns}`);
  }
  const tenantByUid = new Map(s.tenants.map((t) => [t.metadata.uid ?? "", t.metadata.name ?? ""]));
  const nsByDigest = new Map(s.receipts.map((r) => [r.spec.digest, r.metadata.namespace ?? ""]));
  for (const u of s.usageReports) {
    const t = tenantByUid.get(u.tenantId);
    const ns = nsByDigest.get(u.digest);
    if (t !== undefined && ns !== undefined && ns !== tenantNamespace(t))
      bad.push(`usage row of ${t} is a receipt of ${ns}`);
  }
  const posts = discordPosts(s, discordLog, bad);
  return verdict(
    "no tenant's data reached another",
    bad,
    `${s.receipts.length} receipts, ${s.usageReports.length} usage rows, ${posts} Discord posts`,
  );
}

/** `remembrancer verify-audit --signatures` over the ledger database. */
export async function ledgerAudit(w: World): Promise<InvariantResult> {
  try {
    await run(
      join(repoRoot, "node_modules/.bin/node"),
      [
        "bin/remembrancer.js",
        "verify-audit",
        "--db",
        w.dbUrl,
        "--key-dir",
        w.keyDir,
        "--signatures",
      ],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
    );
    return {
      name: "ledger passes verify-audit",
      ok: true,
      detail: "remembrancer verify-audit --signatures: ok",
    };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`
      .split("\n")
      .filter((l) => /✘|FAILED|rror/.test(l));
    return {
      name: "ledger passes verify-audit",
      ok: false,
      detail: out.slice(0, 5).join("; ") || e.message,
    };
  }
}

/** No process of ours exited unless the fault schedule killed it. */
export function noProcessExited(w: World): InvariantResult {
  return verdict(
    "no process of ours exited on its own",
    w.exits.map(
      (e) =>
        `${e.component} exited (${e.exit}) at ${e.at}: ${e.logTail.split("\n").slice(-3).join(" | ")}`,
    ),
    "supervised: operators ×2, webhook, ledger publisher, TSA, Discord stand-in, provider simulator, control plane",
  );
}

/** The world-state invariants (all but verify-audit and process exits). */
export function worldInvariants(s: WorldSnapshot, w: World): InvariantResult[] {
  return [
    oneJobPerAttempt(s),
    oneReceiptPerWorkload(s),
    everyWorkloadFinished(s),
    usageEqualsReceipts(s),
    meterEventsEqualReceipts(s, w.stripeLog),
    noticesEqualReceipts(s, w.discordLog),
    deniedStayDenied(s),
    tenantIsolation(s, w.discordLog),
  ];
}
