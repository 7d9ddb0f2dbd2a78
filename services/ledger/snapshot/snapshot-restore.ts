/**
 * `snapshot verify` and `snapshot restore --into DB`. Restore takes an empty database only and
 * does everything in one transaction: migrations, then each batch of entries, tree nodes and
 * tree heads as it passes the {@link SnapshotChecker} (binary COPY, with every index of
 * ledger_entries but its primary key built once after the load, ADR 0145), then keys and
 * identity; it commits only once the trailer verifies and the stored latest root equals the
 * snapshot's. Any refusal rolls back, leaving the target as it was (ADR 0140).
 */
import { createReadStream } from "node:fs";
import { finished } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type pg from "pg";
import copyStreams from "pg-copy-streams";
import type { TreeNode } from "../merkle.ts";
import { migrateInTransaction } from "../store/migrations.ts";
import type { TreeHeadRow } from "../store/pg-rows.ts";
import type { TrustBundle } from "../trust-bundle.ts";
import { EntryCheckPool, type CheckBatch, type CheckedBatch } from "./snapshot-check-pool.ts";
import { SnapshotChecker, type SnapshotSink, type SnapshotSummary } from "./snapshot-check.ts";
import {
  COPY_ENTRIES_SQL,
  COPY_HEADER,
  COPY_NODES_SQL,
  COPY_TRAILER,
  encodeNodes,
} from "./snapshot-copy.ts";
import { SNAPSHOT_REFUSAL, SnapshotRefusal } from "./snapshot-format.ts";

/** Thrown by {@link snapshotBatches} when the gzip stream is cut off or corrupt. */
class GzipCut extends Error {}

/**
 * Yields the whole lines of a gzip NDJSON file in batches of about `bytes` (the gunzip chunk
 * size), each a buffer of its own ending with a newline — one is added to a last line that
 * lacks it — so it can be moved to a worker thread.
 */
export async function* snapshotBatches(file: string, bytes: number): AsyncGenerator<Uint8Array> {
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(file).pipe(createGunzip({ chunkSize: bytes }))) {
      const data = Buffer.concat([rest, chunk as Buffer]);
      const end = data.lastIndexOf(10) + 1;
      if (end > 0) yield owned(data.subarray(0, end));
      rest = data.subarray(end);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "Z_BUF_ERROR" || code === "Z_DATA_ERROR") throw new GzipCut(code);
    throw err;
  }
  if (rest.length > 0) yield owned(Buffer.concat([rest, Buffer.from("\n")]));
}

/** A copy of `b` in an ArrayBuffer of its own (not Node's shared pool), so it can be moved. */
function owned(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/** How a snapshot file is read and checked. */
export interface CheckOptions {
  /** Checks each batch: a worker pool, or inline in tests. */
  readonly check: CheckBatch;
  /** Bytes per batch (uncompressed; whole lines). @default 1 MiB */
  readonly batchBytes?: number;
  /** Batches being checked at once. @default 4 */
  readonly inFlight?: number;
  /** Called after each batch is taken (restore writes what has been collected). */
  readonly afterBatch?: () => Promise<void>;
}

/**
 * Reads `file` in batches, has them checked (several at once) and gives the results to
 * `checker` in file order. A gzip stream cut short is refused once every batch before the
 * cut was taken, so an earlier bad entry is still the one named.
 */
export async function checkSnapshotFile(
  file: string,
  checker: SnapshotChecker,
  opts: CheckOptions,
): Promise<void> {
  const queue: Promise<CheckedBatch>[] = [];
  const take = async (): Promise<void> => {
    checker.batch(await queue.shift()!);
    await opts.afterBatch?.();
  };
  try {
    for await (const batch of snapshotBatches(file, opts.batchBytes ?? 1 << 20)) {
      const p = opts.check(batch);
      p.catch(() => undefined); // awaited below; not unhandled if an earlier batch fails first
      queue.push(p);
      if (queue.length >= (opts.inFlight ?? 4)) await take();
    }
  } catch (err) {
    if (!(err instanceof GzipCut)) throw err;
    while (queue.length > 0) await take();
    const seen = checker.entries;
    throw new SnapshotRefusal(
      SNAPSHOT_REFUSAL.truncated,
      `the snapshot is truncated or corrupt after entry ${seen - 1} (gzip stream ends early)`,
      seen,
    );
  }
  while (queue.length > 0) await take();
}

/** Worker threads for checking. */
export interface PoolOptions {
  /** Worker threads for the per-entry checks. @default availableParallelism() */
  readonly threads?: number;
  /** Bytes per batch sent to a worker (uncompressed; whole lines). @default 1 MiB */
  readonly batchBytes?: number;
}

/** Verifies a snapshot file without touching any database. */
export async function verifySnapshot(
  file: string,
  trust?: TrustBundle,
  opts: PoolOptions = {},
): Promise<SnapshotSummary> {
  const checker = new SnapshotChecker(trust ? { trust } : {});
  const pool = new EntryCheckPool({
    tuples: false,
    ...(opts.threads ? { threads: opts.threads } : {}),
  });
  try {
    await checkSnapshotFile(file, checker, {
      check: pool.check,
      inFlight: 2 * pool.threads,
      ...(opts.batchBytes ? { batchBytes: opts.batchBytes } : {}),
    });
  } finally {
    await pool.close();
  }
  return checker.finish();
}

const HEADS_SQL = `INSERT INTO ledger_tree_heads (tree_size, root_hash, checkpoint, created_at)
SELECT s, substring($2::bytea FROM ((g - 1) * 32 + 1)::int FOR 32), c, t
  FROM unnest($1::bigint[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS h(s, c, t, g)`;

const STAMPS_SQL = `INSERT INTO ledger_tree_head_stamps
  (tree_size, openpgp_signature, tsa_token, gen_time, created_at)
SELECT s, o, CASE WHEN l < 0 THEN NULL ELSE substring($3::bytea FROM off + 1 FOR l) END, g, c
  FROM unnest($1::bigint[], $2::text[], $4::int[], $5::int[], $6::timestamptz[], $7::timestamptz[])
    AS st(s, o, off, l, g, c)`;

/** Runs one `COPY … FROM STDIN` with `data` as its whole input. */
async function copyIn(
  client: pg.PoolClient,
  sql: string,
  data: readonly Uint8Array[],
): Promise<void> {
  const stream = client.query(copyStreams.from(sql));
  for (const d of data) stream.write(d);
  stream.end();
  await finished(stream);
}

/**
 * Collects checked rows and writes each batch — entries and tree nodes by binary COPY, tree
 * heads by one INSERT — with one batch in flight, so Postgres stores batch k while the checker
 * verifies batch k+1 (ADR 0145).
 */
class BatchWriter implements SnapshotSink {
  readonly #client: pg.PoolClient;
  readonly #batch: number;
  #count = 0;
  #tuples: Uint8Array[] = [];
  #nodes: TreeNode[] = [];
  #heads: TreeHeadRow[] = [];
  #inFlight: Promise<void> = Promise.resolve();
  #failed: Error | undefined;

  constructor(client: pg.PoolClient, batch: number) {
    this.#client = client;
    this.#batch = batch;
  }

  entries(count: number, tuples: Uint8Array | undefined, nodes: readonly TreeNode[]): void {
    if (!tuples) throw new Error("restore: a checked batch without its COPY tuples");
    this.#count += count;
    this.#tuples.push(tuples);
    for (const n of nodes) this.#nodes.push(n);
  }

  head(head: TreeHeadRow): void {
    this.#heads.push(head);
  }

  /** True when the collected batch should be written. */
  get full(): boolean {
    return this.#count >= this.#batch;
  }

  /** Starts writing the collected batch; waits for the previous one first. */
  async flush(): Promise<void> {
    await this.#inFlight;
    if (this.#failed) throw this.#failed;
    const [tuples, nodes, heads] = [this.#tuples, this.#nodes, this.#heads];
    this.#count = 0;
    this.#tuples = [];
    this.#nodes = [];
    this.#heads = [];
    this.#inFlight = this.#write(tuples, nodes, heads).catch((err: unknown) => {
      this.#failed = err instanceof Error ? err : new Error(String(err));
    });
  }

  async drain(): Promise<void> {
    await this.flush();
    await this.#inFlight;
    if (this.#failed) throw this.#failed;
  }

  async #write(tuples: Uint8Array[], nodes: TreeNode[], heads: TreeHeadRow[]): Promise<void> {
    const c = this.#client;
    if (tuples.length > 0)
      await copyIn(c, COPY_ENTRIES_SQL, [COPY_HEADER, ...tuples, COPY_TRAILER]);
    if (nodes.length > 0) await copyIn(c, COPY_NODES_SQL, [encodeNodes(nodes)]);
    if (heads.length === 0) return;
    await c.query(HEADS_SQL, [
      heads.map((h) => h.treeSize),
      Buffer.concat(heads.map((h) => h.rootHash)),
      heads.map((h) => h.checkpoint),
      heads.map((h) => h.createdAt),
    ]);
    const stamped = heads.filter((h) => h.stamp);
    if (stamped.length === 0) return;
    const tokens = stamped.map((h) => h.stamp!.tsaToken);
    const offsets: number[] = [];
    tokens.reduce((off, t) => (offsets.push(off), off + (t?.length ?? 0)), 0);
    await c.query(STAMPS_SQL, [
      stamped.map((h) => h.treeSize),
      stamped.map((h) => h.stamp!.openpgpSignature ?? null),
      Buffer.concat(tokens.map((t) => t ?? new Uint8Array(0))),
      offsets,
      tokens.map((t) => (t ? t.length : -1)),
      stamped.map((h) => h.stamp!.genTime ?? null),
      stamped.map((h) => h.stamp!.createdAt),
    ]);
  }
}

async function assertEmpty(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ n: number; example: string | null }>(
    `SELECT count(*)::int AS n, min(n.nspname || '.' || c.relname) AS example
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`,
  );
  if (rows[0]!.n > 0)
    throw new SnapshotRefusal(
      SNAPSHOT_REFUSAL.targetNotEmpty,
      `the target database is not empty (it has ${rows[0]!.n} relations, e.g. ${rows[0]!.example}): restore only into a new, empty database`,
    );
}

/**
 * Drops every index of ledger_entries except its primary key — the plain secondary indexes and
 * the UNIQUE constraints on leaf_hash and digest — and returns the statements that recreate
 * them: one sorted build per index after the bulk load is far cheaper than maintaining them
 * row by row with random keys (ADR 0145). The primary key stays: log_index arrives in order.
 * Read from the catalogue, so the migrations stay their only home.
 */
async function deferIndexes(client: pg.PoolClient): Promise<string[]> {
  const { rows } = await client.query<{ name: string; drop: string; create: string }>(
    `SELECT c.conname AS name,
            'ALTER TABLE ledger_entries DROP CONSTRAINT ' || quote_ident(c.conname) AS drop,
            'ALTER TABLE ledger_entries ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' ||
              pg_get_constraintdef(c.oid) AS create
       FROM pg_constraint c
      WHERE c.conrelid = 'ledger_entries'::regclass AND c.contype = 'u'
     UNION ALL
     SELECT i.indexname, 'DROP INDEX ' || quote_ident(i.indexname), i.indexdef
       FROM pg_indexes i
      WHERE i.schemaname = current_schema() AND i.tablename = 'ledger_entries'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
      ORDER BY 1`,
  );
  for (const r of rows) await client.query(r.drop);
  return rows.map((r) => r.create);
}

/** Inputs of {@link restoreSnapshot}. */
export interface RestoreOptions extends PoolOptions {
  readonly pool: pg.Pool;
  readonly file: string;
  readonly trust?: TrustBundle;
  /** Entries per COPY batch. @default 10000 */
  readonly batch?: number;
  /**
   * maintenance_work_mem for the index builds after the load (this transaction only): the
   * full-text GIN index builds several times faster when its posting lists fit.
   * @default "256MB"
   */
  readonly maintenanceWorkMem?: string;
  /** Told when each phase starts (the bench times them). */
  readonly onPhase?: (phase: RestorePhase) => void;
}

/** The phases of a restore, in order. */
export type RestorePhase = "load" | "indexes" | "commit";

/** Restores a snapshot into the empty database of `opts.pool`; all or nothing. */
export async function restoreSnapshot(opts: RestoreOptions): Promise<SnapshotSummary> {
  const client = await opts.pool.connect();
  const pool = new EntryCheckPool({
    tuples: true,
    ...(opts.threads ? { threads: opts.threads } : {}),
  });
  try {
    await assertEmpty(client);
    await client.query("BEGIN");
    try {
      await client.query("SELECT set_config('maintenance_work_mem', $1, true)", [
        opts.maintenanceWorkMem ?? "256MB",
      ]);
      await migrateInTransaction(client);
      const indexes = await deferIndexes(client);
      opts.onPhase?.("load");
      const writer = new BatchWriter(client, opts.batch ?? 10_000);
      const checker = new SnapshotChecker({
        ...(opts.trust ? { trust: opts.trust } : {}),
        sink: writer,
      });
      await checkSnapshotFile(opts.file, checker, {
        check: pool.check,
        inFlight: 2 * pool.threads,
        ...(opts.batchBytes ? { batchBytes: opts.batchBytes } : {}),
        afterBatch: async () => {
          if (writer.full) await writer.flush();
        },
      });
      const summary = await checker.finish();
      await writer.drain();
      opts.onPhase?.("indexes");
      for (const def of indexes) await client.query(def);
      await restoreKeys(client, summary);
      const { rows } = await client.query<{ root: Buffer | null }>(
        "SELECT root_hash AS root FROM ledger_tree_heads ORDER BY tree_size DESC LIMIT 1",
      );
      const root = rows[0]?.root?.toString("hex") ?? "";
      if (root !== summary.statement.rootHash)
        throw new SnapshotRefusal(
          SNAPSHOT_REFUSAL.badStatement,
          `restored root ${root || "(empty)"} differs from the snapshot's ${summary.statement.rootHash}`,
        );
      opts.onPhase?.("commit");
      await client.query("COMMIT");
      return summary;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
    await pool.close();
  }
}

async function restoreKeys(client: pg.PoolClient, s: SnapshotSummary): Promise<void> {
  const keys = s.header.keys;
  if (keys.length > 0)
    await client.query(
      `INSERT INTO ledger_keys (key_id, kind, public_key, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])`,
      [
        keys.map((k) => k.keyId),
        keys.map((k) => k.kind),
        keys.map((k) => k.publicKey),
        keys.map((k) => k.createdAt),
      ],
    );
  const id = s.header.identity;
  if (s.header.origin && id)
    await client.query(
      "INSERT INTO ledger_identity (origin, source, created_at) VALUES ($1, $2, $3)",
      [s.header.origin, id.source, id.createdAt],
    );
}
