/**
 * `snapshot verify` and `snapshot restore --into DB`. Restore takes an empty database only and
 * does everything in one transaction: migrations, then each batch of entries, tree nodes and
 * tree heads as it passes the {@link SnapshotChecker}, then keys and identity; it commits only
 * once the trailer verifies and the stored latest root equals the snapshot's. Any refusal rolls
 * back, leaving the target as it was (ADR 0140).
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import type pg from "pg";
import type { TreeNode } from "../merkle.ts";
import { migrateInTransaction } from "../store/migrations.ts";
import { buf, type EntryRow, type TreeHeadRow } from "../store/pg-rows.ts";
import type { TrustBundle } from "../trust-bundle.ts";
import { SnapshotChecker, type SnapshotSink, type SnapshotSummary } from "./snapshot-check.ts";
import { SNAPSHOT_REFUSAL, SnapshotRefusal } from "./snapshot-format.ts";

/** Yields the lines of a gzip NDJSON file; a cut-off or corrupt stream is a refusal. */
export async function* snapshotLines(file: string, seen: () => number): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(file).pipe(createGunzip({ chunkSize: 1 << 20 }))) {
      let data = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      let nl = data.indexOf(10);
      while (nl >= 0) {
        yield data.subarray(0, nl);
        data = data.subarray(nl + 1);
        nl = data.indexOf(10);
      }
      rest = Buffer.from(data);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "Z_BUF_ERROR" || code === "Z_DATA_ERROR")
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.truncated,
        `the snapshot is truncated or corrupt after entry ${seen() - 1} (gzip stream ends early)`,
        seen(),
      );
    throw err;
  }
  if (rest.length > 0) yield rest;
}

/** Verifies a snapshot file without touching any database. */
export async function verifySnapshot(file: string, trust?: TrustBundle): Promise<SnapshotSummary> {
  const checker = new SnapshotChecker(trust ? { trust } : {});
  for await (const line of snapshotLines(file, () => checker.entries)) checker.line(line);
  return checker.finish();
}

const ENTRIES_SQL = `INSERT INTO ledger_entries
  (log_index, leaf_hash, digest, type, subject, issued_at, appended_at, receipt)
SELECT $1::bigint + g - 1,
       substring($2::bytea FROM ((g - 1) * 32 + 1)::int FOR 32),
       substring($3::bytea FROM ((g - 1) * 32 + 1)::int FOR 32),
       t, s, ia, aa, substring($8::bytea FROM o + 1 FOR len)
  FROM unnest($4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $9::int[], $10::int[])
    WITH ORDINALITY AS u(t, s, ia, aa, o, len, g)`;

const NODES_SQL = `INSERT INTO ledger_nodes (level, idx, hash)
SELECT l, i, substring($3::bytea FROM ((g - 1) * 32 + 1)::int FOR 32)
  FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS n(l, i, g)`;

/** Collects checked rows and writes them in batches, one statement in flight at a time. */
class BatchWriter implements SnapshotSink {
  readonly #client: pg.PoolClient;
  readonly #batch: number;
  #rows: EntryRow[] = [];
  #nodes: TreeNode[] = [];
  #heads: TreeHeadRow[] = [];
  #inFlight: Promise<void> = Promise.resolve();
  #failed: Error | undefined;

  constructor(client: pg.PoolClient, batch: number) {
    this.#client = client;
    this.#batch = batch;
  }

  entry(row: EntryRow, nodes: readonly TreeNode[]): void {
    this.#rows.push(row);
    for (const n of nodes) this.#nodes.push(n);
  }

  head(head: TreeHeadRow): void {
    this.#heads.push(head);
  }

  /** Starts writing the batch when it is full; waits for the previous one first. */
  async maybeFlush(): Promise<void> {
    if (this.#rows.length >= this.#batch) await this.flush();
  }

  async flush(): Promise<void> {
    await this.#inFlight;
    if (this.#failed) throw this.#failed;
    const [rows, nodes, heads] = [this.#rows, this.#nodes, this.#heads];
    this.#rows = [];
    this.#nodes = [];
    this.#heads = [];
    this.#inFlight = this.#write(rows, nodes, heads).catch((err: unknown) => {
      this.#failed = err instanceof Error ? err : new Error(String(err));
    });
  }

  async drain(): Promise<void> {
    await this.flush();
    await this.#inFlight;
    if (this.#failed) throw this.#failed;
  }

  async #write(rows: EntryRow[], nodes: TreeNode[], heads: TreeHeadRow[]): Promise<void> {
    const c = this.#client;
    if (rows.length > 0) {
      const lengths = rows.map((r) => r.receiptBytes.length);
      const offsets: number[] = [];
      lengths.reduce((off, len) => (offsets.push(off), off + len), 0);
      await c.query(ENTRIES_SQL, [
        rows[0]!.logIndex,
        Buffer.concat(rows.map((r) => r.leafHash)),
        Buffer.concat(rows.map((r) => r.digest)),
        rows.map((r) => r.type),
        rows.map((r) => r.subject),
        rows.map((r) => r.issuedAt),
        rows.map((r) => r.appendedAt),
        Buffer.concat(rows.map((r) => r.receiptBytes)),
        offsets,
        lengths,
      ]);
    }
    if (nodes.length > 0)
      await c.query(NODES_SQL, [
        nodes.map((n) => n.level),
        nodes.map((n) => n.index),
        Buffer.concat(nodes.map((n) => n.hash)),
      ]);
    for (const h of heads) {
      await c.query(
        "INSERT INTO ledger_tree_heads (tree_size, root_hash, checkpoint, created_at) VALUES ($1, $2, $3, $4)",
        [h.treeSize, buf(h.rootHash), h.checkpoint, h.createdAt],
      );
      const s = h.stamp;
      if (s)
        await c.query(
          `INSERT INTO ledger_tree_head_stamps (tree_size, openpgp_signature, tsa_token, gen_time, created_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [
            h.treeSize,
            s.openpgpSignature ?? null,
            s.tsaToken ? buf(s.tsaToken) : null,
            s.genTime ?? null,
            s.createdAt,
          ],
        );
    }
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
 * Drops the secondary indexes of ledger_entries (those not backing a constraint) and returns
 * their definitions: building them once after the bulk load is cheaper than maintaining them
 * row by row. Read from pg_indexes, so the migrations stay their only home.
 */
async function dropSecondaryIndexes(client: pg.PoolClient): Promise<string[]> {
  const { rows } = await client.query<{ name: string; def: string }>(
    `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
      WHERE i.schemaname = current_schema() AND i.tablename = 'ledger_entries'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
  );
  for (const r of rows) await client.query(`DROP INDEX ${client.escapeIdentifier(r.name)}`);
  return rows.map((r) => r.def);
}

/** Inputs of {@link restoreSnapshot}. */
export interface RestoreOptions {
  readonly pool: pg.Pool;
  readonly file: string;
  readonly trust?: TrustBundle;
  /** Entries per INSERT. @default 10000 */
  readonly batch?: number;
}

/** Restores a snapshot into the empty database of `opts.pool`; all or nothing. */
export async function restoreSnapshot(opts: RestoreOptions): Promise<SnapshotSummary> {
  const client = await opts.pool.connect();
  try {
    await assertEmpty(client);
    await client.query("BEGIN");
    try {
      await migrateInTransaction(client);
      const indexes = await dropSecondaryIndexes(client);
      const writer = new BatchWriter(client, opts.batch ?? 10_000);
      const checker = new SnapshotChecker({
        ...(opts.trust ? { trust: opts.trust } : {}),
        sink: writer,
      });
      for await (const line of snapshotLines(opts.file, () => checker.entries)) {
        checker.line(line);
        await writer.maybeFlush();
      }
      const summary = await checker.finish();
      await writer.drain();
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
      await client.query("COMMIT");
      return summary;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
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
