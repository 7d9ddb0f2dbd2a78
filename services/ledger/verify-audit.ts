/**
 * verify-audit: re-derive the whole log from its entries and compare with everything the
 * ledger stored and signed. Every entry is re-hashed from its stored canonical bytes; every
 * signed tree head must match the root recomputed at its size; every stored tree node must
 * match the recomputed one. The first discrepancy is reported with the log index it affects —
 * a row changed by a superuser who bypassed the append-only triggers shows up here.
 */
import type pg from "pg";
import { bytesEqual, parseDigest, toHex } from "./canonical-json.ts";
import { parseCheckpoint, parseNote, readSignedCheckpoint } from "./checkpoint.ts";
import { Frontier, hashLeaf, type Hash } from "./merkle.ts";
import { canonicalParts, parseReceipt, verifyReceiptSignatures, type Receipt } from "./receipt.ts";
import { allTreeHeads, entriesRange, nodeCounts, nodesPage } from "./store/pg-log-queries.ts";
import type { EntryRow, TreeHeadRow } from "./store/pg-rows.ts";
import type { TrustBundle } from "./trust-bundle.ts";
import { fail, pass, type Check } from "./verify-report.ts";

/** Options of {@link auditLedger}. */
export interface AuditOptions {
  readonly pool: pg.Pool;
  /** Keys to check tree-head (and, with `signatures`, receipt) signatures against. */
  readonly trust?: TrustBundle;
  /** Also verify every receipt's Ed25519 signature. @default false */
  readonly signatures?: boolean;
  /** Rows per query. @default 10000 */
  readonly pageSize?: number;
}

/** The audit's verdict. */
export interface AuditReport {
  readonly ok: boolean;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly checks: readonly Check[];
  /** The first log index found bad, when one is. */
  readonly firstBadIndex?: number;
}

/** What is wrong with one stored entry expected at `expected` (undefined when it is sound). */
export function entryProblem(
  row: EntryRow,
  expected: number,
  leaf: Hash,
  opts: Pick<AuditOptions, "signatures" | "trust">,
  /** row.receiptBytes already parsed by the caller (snapshot restore), so it is not parsed twice. */
  parsed?: Receipt,
): string | undefined {
  if (row.logIndex !== expected)
    return `entry ${expected} is missing (next stored index is ${row.logIndex})`;
  if (!bytesEqual(leaf, row.leafHash))
    return `entry ${expected}: leaf hash does not match the stored receipt`;
  let receipt = parsed;
  if (!receipt)
    try {
      receipt = parseReceipt(JSON.parse(new TextDecoder().decode(row.receiptBytes)) as unknown);
    } catch (err) {
      return `entry ${expected}: stored receipt is unreadable (${(err as Error).message})`;
    }
  const parts = canonicalParts(receipt);
  if (!bytesEqual(parts.leafData, row.receiptBytes)) {
    return `entry ${expected}: stored receipt is not in canonical form`;
  }
  if (parts.digest !== receipt.digest)
    return `entry ${expected}: receipt digest does not match its content`;
  if (!bytesEqual(parseDigest(receipt.digest), row.digest))
    return `entry ${expected}: digest column differs from the receipt`;
  if (opts.signatures && opts.trust) {
    const keys = new Map(opts.trust.ed25519.map((k) => [k.keyId, k.publicKey]));
    const bad = verifyReceiptSignatures(receipt, keys).find((s) => !s.ok);
    if (bad)
      return `entry ${expected}: receipt signature ${bad.keyId.slice(0, 16)}: ${bad.reason ?? "invalid"}`;
  }
  return undefined;
}

/** What is wrong with a signed tree head given the root recomputed at its size. */
export function headProblem(
  head: TreeHeadRow,
  root: Hash,
  trust: TrustBundle | undefined,
): string | undefined {
  if (!bytesEqual(root, head.rootHash))
    return `tree head ${head.treeSize}: stored root differs from the root recomputed from entries`;
  let cp;
  try {
    cp = parseCheckpoint(parseNote(head.checkpoint).body);
  } catch (err) {
    return `tree head ${head.treeSize}: checkpoint unreadable (${(err as Error).message})`;
  }
  if (cp.size !== head.treeSize || !bytesEqual(cp.root, root)) {
    return `tree head ${head.treeSize}: signed checkpoint differs from the root recomputed from entries`;
  }
  if (trust) {
    const v = readSignedCheckpoint(head.checkpoint, trust).signature;
    if (!v.ok) return `tree head ${head.treeSize}: ${v.reason}`;
  }
  return undefined;
}

/** Recomputed inner nodes, one contiguous buffer per level (32 bytes per node). */
class NodeBook {
  readonly #levels: Buffer[] = [];
  readonly #counts: number[] = [];
  constructor(size: number) {
    for (let l = 1; 2 ** l <= size; l++)
      this.#levels[l] = Buffer.alloc(Math.floor(size / 2 ** l) * 32);
  }
  add(level: number, index: number, hash: Hash): void {
    this.#levels[level]?.set(hash, index * 32);
    this.#counts[level] = Math.max(this.#counts[level] ?? 0, index + 1);
  }
  levels(): number[] {
    return this.#levels.flatMap((_, l) => (this.#levels[l] ? [l] : []));
  }
  count(level: number): number {
    return this.#counts[level] ?? 0;
  }
  get(level: number, index: number): Buffer {
    return this.#levels[level]!.subarray(index * 32, index * 32 + 32);
  }
}

async function nodeProblem(
  pool: pg.Pool,
  book: NodeBook,
  page: number,
): Promise<{ problem: string; index: number } | undefined> {
  const counts = await nodeCounts(pool);
  for (const level of book.levels()) {
    if ((counts.get(level) ?? 0) !== book.count(level)) {
      return {
        problem: `tree nodes at level ${level}: ${counts.get(level) ?? 0} stored, ${book.count(level)} expected`,
        index: 0,
      };
    }
    for (let from = 0; from < book.count(level); from += page) {
      for (const n of await nodesPage(pool, level, from, page)) {
        if (!book.get(level, n.index).equals(n.hash)) {
          return {
            problem: `tree node (level ${level}, index ${n.index}) differs from the recomputed one`,
            index: n.index * 2 ** level,
          };
        }
      }
    }
  }
  return undefined;
}

/** Audits the whole ledger in `opts.pool`. */
export async function auditLedger(opts: AuditOptions): Promise<AuditReport> {
  const page = opts.pageSize ?? 10_000;
  const heads = await allTreeHeads(opts.pool);
  const latest = heads.at(-1);
  const size = latest?.treeSize ?? 0;
  const book = new NodeBook(size);
  const frontier = new Frontier();
  const checks: Check[] = [];
  let h = 0;
  const done = (problem: string, index: number): AuditReport => ({
    ok: false,
    treeSize: size,
    rootHash: latest ? toHex(latest.rootHash) : "",
    checks: [...checks, fail("audit", problem)],
    firstBadIndex: index,
  });
  for (let start = 0; ; start += page) {
    const rows = await entriesRange(opts.pool, start, start + page);
    for (const row of rows) {
      const expected = frontier.size;
      if (expected >= size)
        return done(`entry ${expected} is not covered by any signed tree head`, expected);
      const leaf = hashLeaf(row.receiptBytes);
      const problem = entryProblem(row, expected, leaf, opts);
      if (problem) return done(problem, expected);
      for (const n of frontier.append(leaf)) if (n.level > 0) book.add(n.level, n.index, n.hash);
      while (heads[h] && heads[h]!.treeSize === frontier.size) {
        const hp = headProblem(heads[h]!, frontier.root(), opts.trust);
        if (hp) return done(hp, heads[h - 1]?.treeSize ?? 0);
        h++;
      }
    }
    if (rows.length < page) break;
  }
  if (frontier.size < size)
    return done(
      `entries end at ${frontier.size}, the latest tree head says ${size}`,
      frontier.size,
    );
  checks.push(
    pass(
      "entries",
      `${frontier.size} entries re-hashed; digests${opts.signatures ? ", signatures" : ""} and canonical form checked`,
    ),
  );
  checks.push(
    pass(
      "tree heads",
      `${heads.length} signed tree heads match the recomputed roots${opts.trust ? " and verify" : " (signatures not checked: no trust given)"}`,
    ),
  );
  const np = await nodeProblem(opts.pool, book, page);
  if (np) return done(np.problem, np.index);
  checks.push(pass("tree nodes", "every stored tree node matches the recomputed tree"));
  const root = toHex(frontier.root());
  checks.push(
    pass("root", `computed Merkle root matches the published root: size ${size}, ${root}`),
  );
  return { ok: true, treeSize: size, rootHash: root, checks };
}
