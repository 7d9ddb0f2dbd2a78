/**
 * Verifies a ledger snapshot as it streams by, batch by batch: every entry re-hashed and
 * checked like verify-audit does (same rule, `entryProblem`; in worker threads, see
 * snapshot-entries.ts) and taken in log order; every tree head against
 * the root recomputed at its size and its signature; and the trailer's statement (content
 * hash, size, root, signature, optional TSA token). The first problem throws a
 * {@link SnapshotRefusal} naming the entry. Restore feeds the checked rows to the database as
 * they pass; nothing is committed unless `finish` succeeds.
 */
import { createHash, type Hash as HashStream } from "node:crypto";
import { fromBase64, toHex } from "../canonical-json.ts";
import { ed25519Verify } from "../ed25519.ts";
import { Frontier, type TreeNode } from "../merkle.ts";
import type { TreeHeadRow } from "../store/pg-rows.ts";
import { emptyTrust, type TrustBundle } from "../trust-bundle.ts";
import { headProblem } from "../verify-audit.ts";
import type { CheckedBatch } from "./snapshot-check-pool.ts";
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
  /** `count` checked entries (their COPY tuples when the batch has them) and the nodes they completed. */
  entries(count: number, tuples: Uint8Array | undefined, nodes: readonly TreeNode[]): void;
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

  /**
   * Takes one checked batch, in file order: its lines in order, up to its first problem, which
   * is then refused exactly as if the lines had been checked one by one here — so the first
   * bad entry named is the lowest, whichever batch a worker finished first.
   */
  batch({ batch, result: r }: CheckedBatch): void {
    const nodes: TreeNode[] = [];
    // The content hash covers every line before the trailer: hashed up to each other line
    // before it is read, the rest at the end.
    let [other, entry, hashed, contentEnd] = [0, 0, 0, batch.length];
    const lines = r.lines + (r.problem ? 1 : 0);
    for (let at = 0; at < lines; at++) {
      if (this.#trailer)
        throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "data after the trailer");
      const o = r.others[other];
      if (o?.at === at) {
        other++;
        const line = Buffer.from(batch.buffer, batch.byteOffset + o.start, o.end - o.start);
        this.#hash.update(batch.subarray(hashed, o.start));
        hashed = o.start;
        if (this.#other(line)) contentEnd = o.start;
        continue;
      }
      const p = r.problem;
      if (p?.at === at) {
        if (p.stage === "check") this.#expect(p.index);
        throw new SnapshotRefusal(p.code, p.message, p.entry);
      }
      this.#expect(r.indexes[entry]!);
      const leaf = r.leaves.subarray(entry * 32, entry * 32 + 32);
      entry++;
      for (const n of this.#frontier.append(leaf)) if (n.level > 0) nodes.push(n);
    }
    if (hashed < contentEnd) this.#hash.update(batch.subarray(hashed, contentEnd));
    if (entry > 0) this.#sink?.entries(entry, r.tuples, nodes);
  }

  /** A line that is not an entry; true when it is the trailer (not part of the content). */
  #other(line: Buffer): boolean {
    const d = decodeLine(line, this.#frontier.size - 1);
    if (d.kind === "end") {
      this.#contentSha = this.#hash.digest("hex");
      this.#trailer = d.trailer;
      return true;
    }
    if (d.kind === "header") {
      if (this.#header) throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "a second header");
      this.#header = d.header;
      this.#trust = this.#trustFrom(d.header);
      return false;
    }
    if (!this.#header)
      throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "the first line is not a header");
    // Entry lines never come here: checkEntryBatch takes every line decodeLine reads as one.
    if (d.kind === "head") this.#head(d.head);
    return false;
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

  /** Refuses an entry line before the header or out of log order. */
  #expect(index: number): void {
    if (!this.#header)
      throw new SnapshotRefusal(SNAPSHOT_REFUSAL.malformed, "the first line is not a header");
    const expected = this.#frontier.size;
    if (index !== expected)
      throw new SnapshotRefusal(
        SNAPSHOT_REFUSAL.outOfOrder,
        `entry ${expected} is missing: the next entry in the snapshot is ${index}`,
        expected,
      );
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
