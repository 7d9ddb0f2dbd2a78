/**
 * Snapshot benchmark (`npm run bench:snapshot`): prints one JSON document.
 *
 *   --entries N   entries in the log (default 1,000,000)
 *   --batch B     entries per signed tree head while filling (default 1000)
 *   --level L     gzip level of the snapshot (default 6)
 *   --threads T   worker threads for restore's per-entry checks (default: one per core)
 *   --save FILE   keep a copy of the snapshot file it creates
 *   --from FILE   no fill: restore FILE (e.g. one kept with --save) into the empty source
 *                 database — that is the timed restore — then time `snapshot create` of it.
 *                 Half the run time; the fill of 1M entries takes minutes on a busy machine.
 *                 The snapshot created then is signed by this run's fresh key, which its
 *                 header does not list: it times create, it is not one to restore.
 *
 * Setup fills a private Postgres with a real log: genuine Ed25519-signed receipts, the RFC 6962
 * nodes and one signed checkpoint per batch, written with the ledger's own append statement
 * (pg-append-sql) rather than through group commit, which would dominate the run. Then it
 * times `snapshot create` of the whole log and `snapshot restore` into an empty database
 * (which re-verifies every entry and tree head), and checks the restored root. The goal (issue
 * 17) is ≤ 60 s for each on 2 cores; the load average at start and end is reported because the
 * machine is shared. Progress goes to stderr.
 */
import { availableParallelism, loadavg, tmpdir, cpus } from "node:os";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { startPostgres } from "../test/harness/postgres.ts";
import { formatCheckpoint, signNote } from "../services/ledger/checkpoint.ts";
import { parseDigest } from "../services/ledger/canonical-json.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../services/ledger/ed25519.ts";
import { Ledger } from "../services/ledger/ledger.ts";
import { Frontier } from "../services/ledger/merkle.ts";
import { receiptLeafHash, signReceipt } from "../services/ledger/receipt.ts";
import { appendStatement } from "../services/ledger/store/pg-append-sql.ts";
import { entryByIndex } from "../services/ledger/store/pg-log-queries.ts";
import type { EntryRow, TreeHeadRow } from "../services/ledger/store/pg-rows.ts";
import { createSnapshot } from "../services/ledger/snapshot/snapshot-create.ts";
import {
  restoreSnapshot,
  type RestorePhase,
} from "../services/ledger/snapshot/snapshot-restore.ts";

/**
 * CPU seconds (user + system) used so far by a Postgres server: the postmaster, the children
 * it has reaped (finished backends and parallel workers) and those still running. Linux /proc.
 */
function postgresCpuSeconds(postmaster: number): number {
  const ticks = 100; // USER_HZ
  const stat = (pid: string): string[] | undefined => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      return s.slice(s.lastIndexOf(")") + 2).split(" ");
    } catch {
      return undefined; // exited meanwhile
    }
  };
  // Fields after the command: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
  const own = stat(String(postmaster))!;
  let sum = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const f = stat(pid);
    if (f && Number(f[1]) === postmaster) sum += Number(f[11]) + Number(f[12]);
  }
  return sum / ticks;
}

const { values: args } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    batch: { type: "string", default: "1000" },
    level: { type: "string", default: "6" },
    save: { type: "string" },
    from: { type: "string" },
    threads: { type: "string" },
  },
});
let entries = Number(args.entries);
const batch = Number(args.batch);
const level = Number(args.level);
const log = (msg: string): void => void process.stderr.write(`[bench:snapshot] ${msg}\n`);
const load = (): number[] => loadavg().map((l) => Number(l.toFixed(2)));
const loadAtStart = load();

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);

const server = await startPostgres({
  settings: { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" },
});
const dir = mkdtempSync(join(tmpdir(), "bench-snapshot-"));
const sourcePool = new pg.Pool({
  connectionString: (await server.createDatabase("snap_src")).url,
  max: 4,
});
const targetPool = new pg.Pool({
  connectionString: (await server.createDatabase("snap_dst")).url,
  max: 4,
});
for (const p of [sourcePool, targetPool]) p.on("error", () => undefined);
const signer = ed25519Signer(generateEd25519().privateKeyPem);
const dataDir = (
  await sourcePool.query<{ d: string }>("SELECT current_setting('data_directory') AS d")
).rows[0]!.d;
const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
/** CPU seconds of this process and of Postgres since `from` (from {@link cpuNow}). */
const cpuNow = (): { node: number; pg: number } => {
  const u = process.cpuUsage();
  return { node: (u.user + u.system) / 1e6, pg: postgresCpuSeconds(postmaster) };
};
const cpuSince = (from: { node: number; pg: number }): { node: number; postgres: number } => {
  const now = cpuNow();
  return {
    node: Number((now.node - from.node).toFixed(1)),
    postgres: Number((now.pg - from.pg).toFixed(1)),
  };
};

/** Fills the source database with a real log of `entries` entries; returns the seconds it took. */
async function fill(): Promise<number> {
  // Genesis through the ledger itself: identity, keys and entry 0.
  const ledger = await Ledger.open({
    pool: sourcePool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    signer,
  });
  await ledger.append({ type: "bench.genesis", subject: "bench", payload: {} });
  const origin = ledger.origin!;
  const frontier = new Frontier();
  frontier.append((await entryByIndex(sourcePool, 0))!.leafHash);

  log(`filling to ${entries} entries in batches of ${batch}`);
  const fillStart = performance.now();
  let inFlight: Promise<unknown> = Promise.resolve();
  for (let next = 1; next < entries;) {
    const n = Math.min(batch, entries - next);
    const now = new Date();
    const rows: EntryRow[] = [];
    const nodes = [];
    for (let k = 0; k < n; k++, next++) {
      const { receipt, leafData } = signReceipt(
        {
          type: next % 10 === 0 ? "deployment.recorded" : "artifact.signed",
          subject: `service-${next % 97}`,
          payload: { seq: next, version: `v1.${next % 50}.${next % 7}`, region: "eu-west-1" },
        },
        signer,
        systemClock,
      );
      const leafHash = receiptLeafHash(receipt);
      rows.push({
        logIndex: next,
        leafHash,
        digest: parseDigest(receipt.digest),
        type: receipt.type,
        subject: receipt.subject as string,
        issuedAt: new Date(receipt.issuedAt),
        appendedAt: now,
        receiptBytes: leafData,
      });
      nodes.push(...frontier.append(leafHash));
    }
    const root = frontier.root();
    const head: TreeHeadRow = {
      treeSize: frontier.size,
      rootHash: root,
      checkpoint: signNote(
        formatCheckpoint({ origin, size: frontier.size, root, extensions: [] }),
        origin,
        signer,
      ),
      createdAt: now,
    };
    await inFlight;
    const st = appendStatement(rows, nodes, head, now);
    inFlight = sourcePool.query(st.text, st.values);
    if (next % 100_000 < batch) log(`  ${next} entries`);
  }
  await inFlight;
  return (performance.now() - fillStart) / 1000;
}

/** Times `snapshot create` of the source database into `file`. */
async function timedCreate(file: string) {
  log("snapshot create");
  const c0 = cpuNow();
  const t0 = performance.now();
  const created = await createSnapshot({
    pool: sourcePool,
    file,
    signer,
    clock: systemClock,
    level,
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuSince(c0);
  log(`created ${created.bytes} bytes in ${seconds.toFixed(1)} s`);
  return { created, seconds, cpuSeconds, loadAverageAfter: load() };
}

/** Times `snapshot restore` of `file` into the empty database of `pool`. */
async function timedRestore(pool: pg.Pool, file: string) {
  log("snapshot restore");
  const c1 = cpuNow();
  const t1 = performance.now();
  const phaseStarts: Partial<Record<RestorePhase, number>> = {};
  const restored = await restoreSnapshot({
    pool,
    file,
    ...(args.threads ? { threads: Number(args.threads) } : {}),
    onPhase: (p) => (phaseStarts[p] = performance.now()),
  });
  const t2 = performance.now();
  const seconds = (t2 - t1) / 1000;
  const cpuSeconds = cpuSince(c1);
  const span = (from: RestorePhase | undefined, to: RestorePhase | undefined): number =>
    Number((((to ? phaseStarts[to]! : t2) - (from ? phaseStarts[from]! : t1)) / 1000).toFixed(1));
  const { rows } = await pool.query<{ root: Buffer; size: string }>(
    "SELECT root_hash AS root, tree_size AS size FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1",
  );
  const sizes = await pool.query<{ bytes: string }>(
    "SELECT pg_database_size(current_database()) AS bytes",
  );
  log(`restored in ${seconds.toFixed(1)} s`);
  return {
    restored,
    seconds,
    cpuSeconds,
    loadAverageAfter: load(),
    // schema; verify + COPY of entries, nodes and heads; index builds, keys and root; COMMIT
    phases: {
      setupSeconds: span(undefined, "load"),
      loadSeconds: span("load", "indexes"),
      indexSeconds: span("indexes", "commit"),
      commitSeconds: span("commit", undefined),
    },
    storedRoot: rows[0]?.root.toString("hex"),
    storedSize: Number(rows[0]?.size),
    databaseBytes: Number(sizes.rows[0]!.bytes),
  };
}

try {
  const file = join(dir, "ledger.snap.gz");
  let fillSeconds: number | undefined;
  let r: Awaited<ReturnType<typeof timedRestore>>;
  let c: Awaited<ReturnType<typeof timedCreate>>;
  if (args.from) {
    r = await timedRestore(sourcePool, args.from);
    entries = r.restored.statement.treeSize;
    c = await timedCreate(file);
  } else {
    fillSeconds = await fill();
    c = await timedCreate(file);
    r = await timedRestore(targetPool, file);
  }
  if (args.save) copyFileSync(file, args.save);
  const goal = 60;
  const rate = (seconds: number): number => Math.round(entries / seconds);
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: "snapshot",
        entries,
        ...(args.from ? { from: args.from } : { batch }),
        gzipLevel: level,
        cpus: cpus().length,
        restoreThreads: args.threads ? Number(args.threads) : availableParallelism(),
        loadAverage: { start: loadAtStart, end: load() },
        ...(fillSeconds === undefined ? {} : { fill: { seconds: Number(fillSeconds.toFixed(1)) } }),
        create: {
          seconds: Number(c.seconds.toFixed(1)),
          entriesPerSecond: rate(c.seconds),
          goalSeconds: goal,
          met: c.seconds <= goal,
          // CPU seconds spent (this process; the Postgres server): compare with the wall time
          // to see how much of it was waiting for a core on the shared machine.
          cpuSeconds: c.cpuSeconds,
          loadAverageAfter: c.loadAverageAfter,
        },
        snapshot: {
          bytes: c.created.bytes,
          bytesPerEntry: Number((c.created.bytes / entries).toFixed(1)),
          treeHeads: c.created.statement.treeHeads,
        },
        restore: {
          seconds: Number(r.seconds.toFixed(1)),
          entriesPerSecond: rate(r.seconds),
          goalSeconds: goal,
          met: r.seconds <= goal,
          cpuSeconds: r.cpuSeconds,
          loadAverageAfter: r.loadAverageAfter,
          phases: r.phases,
          // The restored log's latest signed root is the snapshot's, and the snapshot then
          // created from the same log has that root too.
          rootMatches:
            r.storedRoot === r.restored.statement.rootHash &&
            c.created.statement.rootHash === r.restored.statement.rootHash &&
            r.storedSize === entries,
          databaseBytes: r.databaseBytes,
        },
        peakRssBytes: peakRss,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  clearInterval(rssTimer);
  await sourcePool.end();
  await targetPool.end();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
