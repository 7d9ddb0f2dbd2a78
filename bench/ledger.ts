/**
 * Ledger benchmark (`npm run bench:ledger`): prints one JSON document.
 *
 *   --sustain-seconds S   closed-loop signed appends for S seconds (default 20)
 *   --concurrency C       appends in flight during that phase (default 128)
 *   --entries N           then fill the log to N entries (default 1,000,000)
 *   --samples K           inclusion/consistency proofs sampled at N (default 2000)
 *   --signing-threads T   worker threads signing receipts; 0 signs on the main thread (default 1)
 *
 * Postgres is a private instance with fsync and synchronous_commit on: every append counted
 * here was durable when its promise resolved. Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { startPostgres } from "../test/harness/postgres.ts";
import { fromHex } from "../services/ledger/canonical-json.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../services/ledger/ed25519.ts";
import { Ledger } from "../services/ledger/ledger.ts";
import { threadedSigner } from "../services/ledger/threaded-signer.ts";
import { verifyConsistency, verifyInclusion } from "../services/ledger/merkle-verify.ts";
import { auditLedger } from "../services/ledger/verify-audit.ts";

const { values: args } = parseArgs({
  options: {
    "sustain-seconds": { type: "string", default: "20" },
    concurrency: { type: "string", default: "128" },
    entries: { type: "string", default: "1000000" },
    samples: { type: "string", default: "2000" },
    "signing-threads": { type: "string", default: "1" },
  },
});
const sustainMs = Number(args["sustain-seconds"]) * 1000;
const concurrency = Number(args.concurrency);
const entries = Number(args.entries);
const samples = Number(args.samples);
const log = (msg: string): void => void process.stderr.write(`[bench:ledger] ${msg}\n`);

function stats(ms: number[]): { p50: number; p99: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    Number((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(3));
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    mean: Number((s.reduce((a, b) => a + b, 0) / (s.length || 1)).toFixed(3)),
  };
}

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);

const pgSettings = {
  shared_buffers: "512MB",
  max_wal_size: "8GB",
  checkpoint_timeout: "30min",
  fsync: "on",
  synchronous_commit: "on",
};
const server = await startPostgres({ settings: pgSettings });
const pool = new pg.Pool({ connectionString: (await server.createDatabase("bench")).url, max: 8 });
pool.on("error", () => undefined);
const signingThreads = Number(args["signing-threads"]);
const keyPem = generateEd25519().privateKeyPem;
const threaded = signingThreads > 0 ? threadedSigner(keyPem, signingThreads) : undefined;
const signer = threaded ?? ed25519Signer(keyPem);
const ledger = await Ledger.open({
  pool,
  clock: systemClock,
  logger: pino({ level: "silent" }),
  signer,
  maxBatch: 4096,
  cacheTree: true, // grows with every append from the empty log: the in-memory proof path
});

let seq = 0;
const input = (): Parameters<Ledger["append"]>[0] => {
  const n = seq++;
  return {
    type: "workload.completed",
    subject: {
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "GPUWorkload",
      namespace: "tenant-acme",
      name: `train-${n}`,
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    },
    payload: {
      attempt: 1,
      outcome: "Succeeded",
      treaty: "aurora-akash-001",
      gpuType: "a10g",
      gpuSeconds: 3600 + (n % 997),
      costUsd: 0.85,
    },
  };
};

/** CPU seconds (user+system) of the postmaster and all its children, from /proc. */
async function postgresCpuSeconds(): Promise<number> {
  const { readFileSync, readdirSync } = await import("node:fs");
  const dataDir = (await pool.query<{ d: string }>("SELECT current_setting('data_directory') AS d"))
    .rows[0]!.d;
  const postmaster = Number(readFileSync(`${dataDir}/postmaster.pid`, "utf8").split("\n")[0]);
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pid) === postmaster || Number(f[1]) === postmaster)
        ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the process exited while we looked
    }
  }
  return ticks / 100; // USER_HZ
}

function nodeCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function headsCount(): Promise<number> {
  return Number(
    (await pool.query<{ n: string }>("SELECT count(*) AS n FROM ledger_tree_heads")).rows[0]!.n,
  );
}

// Warm-up (not measured): JIT, connection pool, Postgres buffers.
const warmUntil = performance.now() + 3000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmUntil) await ledger.append(input());
  }),
);

// Phase 1: sustained, closed loop, latency per append.
log(`sustained appends: ${concurrency} in flight for ${sustainMs / 1000}s`);
const latencies: number[] = [];
const headsBefore = await headsCount();
const cpu0 = { node: nodeCpuSeconds(), pg: await postgresCpuSeconds() };
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() - t0 < sustainMs) {
      const s = performance.now();
      await ledger.append(input());
      latencies.push(performance.now() - s);
    }
  }),
);
const sustainedSeconds = (performance.now() - t0) / 1000;
const nodeMs = ((nodeCpuSeconds() - cpu0.node) * 1000) / latencies.length;
const pgMs = (((await postgresCpuSeconds()) - cpu0.pg) * 1000) / latencies.length;
const sustainedBatches = (await headsCount()) - headsBefore;

// Phase 2: fill to N entries, as fast as group commit allows.
log(`filling to ${entries} entries`);
const fillStart = performance.now();
const fillFrom = seq;
let next = seq;
let filled = 0;
await Promise.all(
  Array.from({ length: 4096 }, async () => {
    while (next < entries) {
      next++;
      await ledger.append(input());
      if (++filled % 100_000 === 0) log(`  ${fillFrom + filled} entries`);
    }
  }),
);
const fillSeconds = (performance.now() - fillStart) / 1000;
const head = (await ledger.latestTreeHead())!;
const size = head.treeSize;
const root = fromHex(head.rootHash);

// Phase 3: proofs at size N, from the database, verified without it.
log(`sampling ${samples} inclusion and consistency proofs at ${size}`);
const reader = await Ledger.open({ pool, clock: systemClock, logger: pino({ level: "silent" }) }); // no tree cache
const gen: number[] = [];
const genMem: number[] = [];
const ver: number[] = [];
const consGen: number[] = [];
const consVer: number[] = [];
let failures = 0;
for (let i = 0; i < samples + 200; i++) {
  const index = Math.floor(Math.random() * size);
  const leaf = fromHex((await reader.getByIndex(index))!.leafHash);
  let s = performance.now();
  const proof = await reader.inclusionProof(index, size);
  const g = performance.now() - s;
  s = performance.now();
  const memProof = await ledger.inclusionProof(index, size);
  const gm = performance.now() - s;
  const hashes = proof.hashes.map((h) => fromHex(h));
  s = performance.now();
  const ok = verifyInclusion(index, size, leaf, hashes, root).ok;
  const v = performance.now() - s;
  if (!ok || memProof.hashes.join() !== proof.hashes.join()) failures++;
  if (i >= 200) {
    gen.push(g);
    genMem.push(gm);
    ver.push(v);
  }
}
const older = (
  await pool.query<{ tree_size: string; root_hash: Buffer }>(
    "SELECT tree_size, root_hash FROM ledger_tree_heads ORDER BY random() LIMIT $1",
    [Math.min(200, samples)],
  )
).rows;
for (const o of older) {
  let s = performance.now();
  const hashes = (await reader.consistencyProof(Number(o.tree_size), size)).map((h) => fromHex(h));
  consGen.push(performance.now() - s);
  s = performance.now();
  if (
    !verifyConsistency({
      size1: Number(o.tree_size),
      size2: size,
      root1: new Uint8Array(o.root_hash),
      root2: root,
      proof: hashes,
    }).ok
  )
    failures++;
  consVer.push(performance.now() - s);
}

// Phase 4: verify-audit over the whole log.
log(`verify-audit over ${size} entries`);
const a0 = performance.now();
const audit = await auditLedger({ pool, trust: await ledger.trust() });
const auditSeconds = (performance.now() - a0) / 1000;

const dbBytes = Number(
  (await pool.query<{ b: string }>("SELECT pg_database_size(current_database()) AS b")).rows[0]!.b,
);
clearInterval(rssTimer);
const result = {
  benchmark: "ledger",
  machine: {
    cpus: (await import("node:os")).cpus().length,
    node: process.version,
    loadAverage1m: (await import("node:os")).loadavg()[0],
  },
  postgres: pgSettings,
  sustainedAppends: {
    durable: true,
    concurrency,
    signingThreads,
    seconds: Number(sustainedSeconds.toFixed(2)),
    appends: latencies.length,
    perSecond: Math.round(latencies.length / sustainedSeconds),
    latencyMs: stats(latencies),
    commits: sustainedBatches,
    meanBatch: Math.round(latencies.length / Math.max(1, sustainedBatches)),
    cpuMsPerAppend: { node: Number(nodeMs.toFixed(4)), postgres: Number(pgMs.toFixed(4)) },
    // Load-independent capacity: node's main thread needs one core, the two together two.
    projectedPerSecondOn2IdleCores: Math.round(Math.min(1000 / nodeMs, 2000 / (nodeMs + pgMs))),
  },
  fill: {
    appends: seq - fillFrom,
    seconds: Number(fillSeconds.toFixed(1)),
    perSecond: Math.round((seq - fillFrom) / fillSeconds),
  },
  treeSize: size,
  inclusionProofMs: {
    generateFromPostgres: stats(gen),
    generateFromMemoryTree: stats(genMem),
    verify: stats(ver),
    samples: gen.length,
  },
  treeCache: {
    entries: ledger.store.cache?.size ?? 0,
    mb: Math.round((ledger.store.cache?.bytes ?? 0) / 2 ** 20),
  },
  consistencyProofMs: {
    generateFromPostgres: stats(consGen),
    verify: stats(consVer),
    samples: consGen.length,
  },
  proofFailures: failures,
  verifyAudit: {
    ok: audit.ok,
    seconds: Number(auditSeconds.toFixed(1)),
    entriesPerSecond: Math.round(size / auditSeconds),
  },
  peakRssMb: Math.round(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20),
  databaseMb: Math.round(dbBytes / 2 ** 20),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
await threaded?.close();
await pool.end();
await server.stop();
