/**
 * Read queries over the ledger tables, and the one write that is not an append of entries:
 * recording a tree head's publication stamp. Each function takes a pool or client.
 */
import type pg from "pg";
import {
  buf,
  ENTRY_COLUMNS,
  toEntry,
  toTreeHead,
  TREE_HEAD_SELECT,
  type EntryRow,
  type RawEntry,
  type RawTreeHead,
  type StampRow,
  type TreeHeadRow,
} from "./pg-rows.ts";

type Queryable = Pick<pg.ClientBase, "query">;

async function one(db: Queryable, where: string, value: unknown): Promise<EntryRow | undefined> {
  const { rows } = await db.query<RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE ${where}`,
    [value],
  );
  return rows[0] ? toEntry(rows[0]) : undefined;
}

/** The entry with this 32-byte digest. */
export function entryByDigest(db: Queryable, digest: Uint8Array): Promise<EntryRow | undefined> {
  return one(db, "digest = $1", buf(digest));
}

/** The entry with this leaf hash. */
export function entryByLeafHash(
  db: Queryable,
  leafHash: Uint8Array,
): Promise<EntryRow | undefined> {
  return one(db, "leaf_hash = $1", buf(leafHash));
}

/** The entry at this log index. */
export function entryByIndex(db: Queryable, index: number): Promise<EntryRow | undefined> {
  return one(db, "log_index = $1", index);
}

/** Entries with start ≤ log index < end, in log order. */
export async function entriesRange(db: Queryable, start: number, end: number): Promise<EntryRow[]> {
  const { rows } = await db.query<RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index`,
    [start, end],
  );
  return rows.map(toEntry);
}

/** Filters for {@link listEntries}. */
export interface ListFilter {
  readonly type?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit: number;
  /** Order by issue time (timeline) instead of log index. */
  readonly byTime?: boolean;
  /** Newest first (descending order). */
  readonly newestFirst?: boolean;
  /** Only entries with a log index below this one (paging newest-first). */
  readonly beforeIndex?: number;
}

/** Lists entries matching a filter. */
export async function listEntries(db: Queryable, f: ListFilter): Promise<EntryRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.type !== undefined) where.push(`type = $${args.push(f.type)}`);
  if (f.since !== undefined) where.push(`issued_at >= $${args.push(f.since)}`);
  if (f.until !== undefined) where.push(`issued_at < $${args.push(f.until)}`);
  if (f.beforeIndex !== undefined) where.push(`log_index < $${args.push(f.beforeIndex)}`);
  const dir = f.newestFirst ? " DESC" : "";
  const order = f.byTime ? `issued_at${dir}, log_index${dir}` : `log_index${dir}`;
  const { rows } = await db.query<RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY ${order} LIMIT $${args.push(f.limit)}`,
    args,
  );
  return rows.map(toEntry);
}

/** The tree head of exactly this size. */
export async function treeHeadAt(db: Queryable, size: number): Promise<TreeHeadRow | undefined> {
  const { rows } = await db.query<RawTreeHead>(`${TREE_HEAD_SELECT} WHERE h.tree_size = $1`, [
    size,
  ]);
  return rows[0] ? toTreeHead(rows[0]) : undefined;
}

/** The newest published (stamped) tree head that includes log index `index`. */
export async function stampedHeadCovering(
  db: Queryable,
  index: number,
): Promise<TreeHeadRow | undefined> {
  const { rows } = await db.query<RawTreeHead>(
    `${TREE_HEAD_SELECT} WHERE s.tree_size IS NOT NULL AND h.tree_size > $1 ORDER BY h.tree_size DESC LIMIT 1`,
    [index],
  );
  return rows[0] ? toTreeHead(rows[0]) : undefined;
}

/** Records a tree head's publication stamp; a second stamp for the same size is ignored. */
export async function insertStamp(db: Queryable, s: StampRow): Promise<void> {
  await db.query(
    `INSERT INTO ledger_tree_head_stamps (tree_size, openpgp_signature, tsa_token, gen_time, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size) DO NOTHING`,
    [
      s.treeSize,
      s.openpgpSignature ?? null,
      s.tsaToken ? buf(s.tsaToken) : null,
      s.genTime ?? null,
      s.createdAt,
    ],
  );
}

/** Every tree head in size order (for audits). */
export async function allTreeHeads(db: Queryable): Promise<TreeHeadRow[]> {
  const { rows } = await db.query<RawTreeHead>(`${TREE_HEAD_SELECT} ORDER BY h.tree_size`);
  return rows.map(toTreeHead);
}

/** A page of stored inner nodes of one level, by index (for audits). */
export async function nodesPage(
  db: Queryable,
  level: number,
  fromIndex: number,
  limit: number,
): Promise<{ index: number; hash: Uint8Array }[]> {
  const { rows } = await db.query<{ idx: string; hash: Buffer }>(
    "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
    [level, fromIndex, limit],
  );
  return rows.map((r) => ({ index: Number(r.idx), hash: new Uint8Array(r.hash) }));
}

/** Number of stored inner nodes per level (for audits). */
export async function nodeCounts(db: Queryable): Promise<Map<number, number>> {
  const { rows } = await db.query<{ level: number; n: string }>(
    "SELECT level, count(*) AS n FROM ledger_nodes GROUP BY level",
  );
  return new Map(rows.map((r) => [r.level, Number(r.n)]));
}

/** The newest entry whose receipt payload records `artifact.sha256 = digest` (CLI lookups). */
export async function entryByArtifactDigest(
  db: Queryable,
  digest: string,
): Promise<EntryRow | undefined> {
  const { rows } = await db.query<RawEntry>(
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries
      WHERE convert_from(receipt, 'UTF8')::jsonb #>> '{payload,artifact,sha256}' = $1
      ORDER BY log_index DESC LIMIT 1`,
    [digest],
  );
  return rows[0] ? toEntry(rows[0]) : undefined;
}

/** A public key recorded in ledger_keys. */
export interface KeyRow {
  readonly keyId: string;
  readonly kind: "ed25519" | "openpgp" | "tsa";
  readonly publicKey: string;
}

/** Records public keys (known ones are left as they are). */
export async function insertKeys(db: Queryable, keys: readonly KeyRow[], now: Date): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `INSERT INTO ledger_keys (key_id, kind, public_key, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[]), LATERAL (SELECT $4::timestamptz) t
     ON CONFLICT (key_id) DO NOTHING`,
    [keys.map((k) => k.keyId), keys.map((k) => k.kind), keys.map((k) => k.publicKey), now],
  );
}

/** Every recorded public key, oldest first. */
export async function allKeys(db: Queryable): Promise<KeyRow[]> {
  const { rows } = await db.query<{ key_id: string; kind: KeyRow["kind"]; public_key: string }>(
    "SELECT key_id, kind, public_key FROM ledger_keys ORDER BY created_at, key_id",
  );
  return rows.map((r) => ({ keyId: r.key_id, kind: r.kind, publicKey: r.public_key }));
}
