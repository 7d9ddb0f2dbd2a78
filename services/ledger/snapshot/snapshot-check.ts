/**
 * Verifies a ledger snapshot as it streams by, line by line: every entry re-hashed and checked
 * like verify-audit does (same rule, `entryProblem`), in log order; every tree head against
 * the root recomputed at its size and its signature; and the trailer's statement (content
 * hash, size, root, signature, optional TSA token). The first problem throws a
 * {@link SnapshotRefusal} naming the entry. Restore feeds the checked rows to the database as
 * they pass; nothing is committed unless `finish` succeeds.
 */
import { createHash, type Hash as HashStream } from "node:crypto";
import { fromBase64, parseDigest, toHex } from "../canonical-json.ts";
import { ed25519Verify } from "../ed25519.ts";
import { Frontier, hashLeaf, type TreeNode } from "../merkle.ts";
import { parseReceipt, type Receipt } from "../receipt.ts";
import type { EntryRow, TreeHeadRow } from "../store/pg-rows.ts";
import { emptyTrust, type TrustBundle } from "../trust-bundle.ts";
import { entryProblem, headProblem } from "../verify-audit.ts";
import { verifyTimeStampResponse } from "../../tsa/rfc3161-verify.ts";
import {
  decodeLine,
  SNAPSHOT_FORMAT,
  SNAPSHOT_REFUSAL,
  SnapshotRefusal,
  statementBytes,
  type SnapshotHeader,
  type SnapshotStatement,
  type SnapshotTrailer,
} from "./snapshot-format.ts";

/** Receives what passed the checks (restore writes it). */
export interface SnapshotSink {
  entry(row: EntryRow, nodes: readonly TreeNode[]): void;
  head(head: TreeHeadRow): void;
}

/** What a verified snapshot holds. */
export interface SnapshotSummary {
  readonly header: SnapshotHeader;
  readonly statement: SnapshotStatement;
  readonly signedBy: string;
  /** genTime of the statement's TSA token, when it has one. */
  readonly timestampedAt?: string;
  /** False when the keys came from the snapshot itself rather than from --trust. */
  readonly pinned: boolean;
}

const dec = new TextDecoder();
const NEWLINE = Buffer.from("\n");

function entryRow(
  index: number,
  appendedAt: Date,
  bytes: Uint8Array,
): { row: EntryRow; receipt: Receipt } {
  let receipt;
  try {
    receipt = parseReceipt(JSON.parse(dec.decode(bytes)) as unknown);
  } catch (err) {
    throw new SnapshotRefusal(
      SNAPSHOT_REFUSAL.badEntry,
      `entry ${index}: receipt is unreadable (${(err as Error).message})`,
      index,
    );
  }
  const row = {
    logIndex: index,
    leafHash: hashLeaf(bytes),
    digest: parseDigest(receipt.digest),
    type: receipt.type,
    subject:
      typeof receipt.subject === "string" ? receipt.subject : JSON.stringify(receipt.subject),
    issuedAt: new Date(receipt.issuedAt),
    appendedAt,
    receiptBytes: bytes,
  };
  return { row, receipt };
}

/** Streaming verifier of one snapshot. */
export class SnapshotChecker {
  readonly #pinned: TrustBundle | undefined;
  readonly #sink: SnapshotSink | undefined;
  readonly #hash: HashStream = createHash("sha256");
  readonly #frontier = new Frontier();
  #header: SnapshotHeader | undefined;
  #trust: TrustBundle = emptyTrust();
  #trailer: SnapshotTrailer | undefined;
  #heads = 0;
  #lastHead = 0;
  #contentSha = "";

  constructor(opts: { readonly trust?: TrustBundle; readonly sink?: SnapshotSink } = {}) {
    this.#pinned = opts.trust;
    this.#sink = opts.sink;
  }

  /** Entries checked so far. */
  get entries(): number {
    return this.#frontier.size;
  }

  /** Checks one line (without its newline). */
  line(line: Buffer): void {
    if (this.#trailer)
      throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "data after the trailer");
    const d = decodeLine(line, this.#frontier.size - 1);
    if (d.kind === "end") {
      this.#contentSha = this.#hash.digest("hex");
      this.#trailer = d.trailer;
      return;
    }
    this.#hash.update(line).update(NEWLINE);
    if (d.kind === "header") {
      if (this.#header) throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "a second header");
      this.#header = d.header;
      this.#trust = this.#trustFrom(d.header);
      return;
    }
    if (!this.#header)
      throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "the first line is not a header");
    if (d.kind === "entry") this.#entry(d.index, d.appendedAt, d.receipt);
    else this.#head(d.head);
  }

  #trustFrom(h: SnapshotHeader): TrustBundle {
    const origin = this.#pinned?.origin ?? h.origin;
    if (this.#pinned) return { ...this.#pinned, ...(origin ? { origin } : {}) };
    const of = (kind: string): string[] =>
      h.keys.filter((k) => k.kind === kind).map((k) => k.publicKey);
    return {
      ...emptyTrust(),
      ...(origin ? { origin } : {}),
      ed25519: h.keys
        .filter((k) => k.kind === "ed25519")
        .map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
      openpgp: of("openpgp"),
      tsa: of("tsa"),
    };
  }

  #entry(index: number, appendedAt: Date, bytes: Uint8Array): void {
    const expected = this.#frontier.size;
    if (index !== expected)
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.outOfOrder,
        `entry ${expected} is missing: the next entry in the snapshot is ${index}`,
        expected,
      );
    const { row, receipt } = entryRow(index, appendedAt, bytes);
    const problem = entryProblem(row, expected, row.leafHash, {}, receipt);
    if (problem) throw new SnapshotRefusal(SNAPSHOT_REFUSAL.badEntry, problem, expected);
    const nodes = this.#frontier.append(row.leafHash).filter((n) => n.level > 0);
    this.#sink?.entry(row, nodes);
  }

  #head(head: TreeHeadRow): void {
    const first = this.#lastHead;
    if (head.treeSize !== this.#frontier.size)
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.badTreeHead,
        `tree head ${head.treeSize} is out of place: it follows entry ${this.#frontier.size - 1}`,
        first,
      );
    const problem = headProblem(head, this.#frontier.root(), this.#trust);
    if (problem) throw new SnapshotRefusal(SNAPSHOT_REFUSAL.badTreeHead, problem, first);
    this.#heads++;
    this.#lastHead = head.treeSize;
    this.#sink?.head(head);
  }

  /** Checks the trailer once every line was fed; throws when anything is missing or wrong. */
  async finish(): Promise<SnapshotSummary> {
    const t = this.#trailer;
    const size = this.#frontier.size;
    if (!this.#header || !t)
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.truncated,
        `the snapshot is truncated after entry ${size - 1}: no signed trailer`,
        size,
      );
    const s = t.statement;
    const bad = (why: string): SnapshotRefusal =>
      new SnapshotRefusal(SNAPSHOT_REFUSAL.badStatement, `snapshot statement: ${why}`, size);
    if (s.format !== SNAPSHOT_FORMAT) throw bad(`format is not ${String(SNAPSHOT_FORMAT)}`);
    if (s.contentSha256 !== this.#contentSha)
      throw bad("content hash does not match the lines before it");
    if (s.treeSize !== size) throw bad(`says ${s.treeSize} entries, the snapshot has ${size}`);
    if (this.#lastHead !== size)
      throw bad(`entries end at ${size}, the last signed tree head is at ${this.#lastHead}`);
    if (s.rootHash !== (size === 0 ? "" : toHex(this.#frontier.root())))
      throw bad("root differs from the root recomputed from the entries");
    if (s.treeHeads !== this.#heads)
      throw bad(`says ${s.treeHeads} tree heads, found ${this.#heads}`);
    if (s.origin !== (this.#header.origin ?? "")) throw bad("origin differs from the header's");
    const key = this.#trust.ed25519.find((k) => k.keyId === t.signature.keyId);
    const data = statementBytes(s);
    if (!key || !ed25519Verify(key.publicKey, data, fromBase64(t.signature.value)))
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.untrustedSigner,
        key
          ? "the snapshot's signature does not verify"
          : `the snapshot is signed by key ${t.signature.keyId.slice(0, 16)}, which is not trusted`,
        size,
      );
    let timestampedAt: string | undefined;
    if (t.timestampToken) {
      const r = await verifyTimeStampResponse(fromBase64(t.timestampToken), {
        data,
        trustedPem: this.#trust.tsa,
      });
      if (!r.ok)
        throw new SnapshotRefusal(
          SNAPSHOT_REFUSAL.badTimestamp,
          `snapshot timestamp: ${r.reason}`,
          size,
        );
      timestampedAt = r.genTime.toISOString();
    }
    return {
      header: this.#header,
      statement: s,
      signedBy: key.keyId,
      ...(timestampedAt ? { timestampedAt } : {}),
      pinned: this.#pinned !== undefined,
    };
  }
}
