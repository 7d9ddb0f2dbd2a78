/**
 * `snapshot create`: streams the whole ledger (one REPEATABLE READ transaction, so the file is
 * one consistent state of the log) into a gzip NDJSON snapshot, signs the statement with the
 * ledger's Ed25519 key and, when a TSA is configured, time-stamps it. Written to FILE.partial
 * and renamed, so a crash never leaves a file that looks complete. Entries are read in pages by
 * binary `COPY … TO STDOUT`, the next page streaming while this one is written (ADR 0145).
 */
import { createHash } from "node:crypto";
import { createWriteStream, renameSync, statSync } from "node:fs";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import type pg from "pg";
import { toBase64, toHex } from "../canonical-json.ts";
import type { Clock } from "../clock.ts";
import type { Ed25519Signer } from "../ed25519.ts";
import copyStreams from "pg-copy-streams";
import { allTreeHeads } from "../store/pg-log-queries.ts";
import type { Timestamper } from "../tree-head.ts";
import {
  entryLine,
  jsonLine,
  SNAPSHOT_FORMAT,
  statementBytes,
  treeHeadLine,
  type SnapshotHeader,
  type SnapshotKey,
  type SnapshotStatement,
} from "./snapshot-format.ts";
import { copyEntriesOutSql, decodeCopiedEntries } from "./snapshot-copy.ts";

/** The whole output of one `COPY … TO STDOUT`. */
async function copyOut(client: pg.PoolClient, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyStreams.to(sql))) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Inputs of {@link createSnapshot}. */
export interface CreateSnapshotOptions {
  readonly pool: pg.Pool;
  readonly file: string;
  readonly signer: Ed25519Signer;
  readonly timestamper?: Timestamper;
  readonly clock: Clock;
  /** Entries per query. @default 20000 */
  readonly pageSize?: number;
  /** gzip level. @default 6 */
  readonly level?: number;
}

/** What was written. */
export interface CreatedSnapshot {
  readonly file: string;
  readonly statement: SnapshotStatement;
  readonly bytes: number;
  readonly timestamped: boolean;
}

async function header(client: pg.PoolClient, now: Date): Promise<SnapshotHeader> {
  const keys = await client.query<{
    key_id: string;
    kind: SnapshotKey["kind"];
    public_key: string;
    created_at: Date;
  }>("SELECT key_id, kind, public_key, created_at FROM ledger_keys ORDER BY created_at, key_id");
  const id = await client.query<{ origin: string; source: string; created_at: Date }>(
    "SELECT origin, source, created_at FROM ledger_identity",
  );
  const ident = id.rows[0];
  return {
    format: SNAPSHOT_FORMAT,
    ...(ident
      ? {
          origin: ident.origin,
          identity: { source: ident.source, createdAt: ident.created_at.toISOString() },
        }
      : {}),
    keys: keys.rows.map((k) => ({
      keyId: k.key_id,
      kind: k.kind,
      publicKey: k.public_key,
      createdAt: k.created_at.toISOString(),
    })),
    createdAt: now.toISOString(),
  };
}

/** Writes a signed snapshot of the ledger in `pool` to `opts.file`. */
export async function createSnapshot(opts: CreateSnapshotOptions): Promise<CreatedSnapshot> {
  const page = opts.pageSize ?? 20_000;
  const now = opts.clock.now();
  const partial = `${opts.file}.partial`;
  const gzip = createGzip({ level: opts.level ?? 6 });
  const out = createWriteStream(partial);
  gzip.pipe(out);
  const sha = createHash("sha256");
  const write = async (b: Buffer, hash = true): Promise<void> => {
    if (hash) sha.update(b);
    if (!gzip.write(b)) await once(gzip, "drain");
  };
  const client = await opts.pool.connect();
  let next: Promise<Buffer> | undefined;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const head = await header(client, now);
    await write(jsonLine("header", head));
    const heads = await allTreeHeads(client);
    const size = heads.at(-1)?.treeSize ?? 0;
    let h = 0;
    const pageAt = (start: number): Promise<Buffer> =>
      copyOut(client, copyEntriesOutSql(start, Math.min(start + page, size)));
    next = size > 0 ? pageAt(0) : undefined;
    for (let start = 0; start < size; start += page) {
      const rows = decodeCopiedEntries(await next!);
      // The next page streams from Postgres while this one is encoded, hashed and compressed.
      next = start + page < size ? pageAt(start + page) : undefined;
      const parts: Buffer[] = [];
      let expected = start;
      for (const row of rows) {
        if (row.logIndex !== expected++)
          throw new Error(`ledger entry ${expected - 1} is missing: the log has a gap`);
        parts.push(entryLine(row));
        while (heads[h] && heads[h]!.treeSize === row.logIndex + 1)
          parts.push(treeHeadLine(heads[h++]!));
      }
      if (expected !== Math.min(start + page, size))
        throw new Error(`ledger entry ${expected} is missing: the log has a gap`);
      await write(Buffer.concat(parts));
    }
    await client.query("COMMIT");
    const statement: SnapshotStatement = {
      format: SNAPSHOT_FORMAT,
      origin: head.origin ?? "",
      treeSize: size,
      rootHash: heads.at(-1) ? toHex(heads.at(-1)!.rootHash) : "",
      treeHeads: heads.length,
      contentSha256: sha.digest("hex"),
      createdAt: now.toISOString(),
    };
    const data = statementBytes(statement);
    const token = opts.timestamper ? await opts.timestamper.timestamp(data) : undefined;
    await write(
      jsonLine("end", {
        statement,
        signature: { keyId: opts.signer.keyId, value: toBase64(opts.signer.sign(data)) },
        ...(token ? { timestampToken: toBase64(token) } : {}),
      }),
      false,
    );
    gzip.end();
    await once(out, "close");
    renameSync(partial, opts.file);
    return { file: opts.file, statement, bytes: statBytes(opts.file), timestamped: Boolean(token) };
  } catch (err) {
    await next?.catch(() => undefined); // the page being read ahead, if any
    await client.query("ROLLBACK").catch(() => undefined);
    gzip.destroy();
    out.destroy();
    throw err;
  } finally {
    client.release();
  }
}

function statBytes(file: string): number {
  return statSync(file).size;
}
