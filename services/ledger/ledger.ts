/**
 * The Remembrancer ledger: the interface the operator, the proof API and the CLI use.
 * `append` signs a receipt, logs it with group commit and returns the receipt, its log
 * entry, an inclusion proof and the signed tree head the proof leads to. Appends are
 * idempotent by receipt digest. Tree heads are published (OpenPGP + RFC 3161) in batches by
 * `publish`, never per receipt.
 */
import { describeError, isOutage } from "../dependency-health/index.ts";
import { canonicalBytes, fromHex, parseDigest, sha256, toHex } from "./canonical-json.ts";
import { formatCheckpoint, signNote } from "./checkpoint.ts";
import type { Ed25519Signer } from "./ed25519.ts";
import { GroupCommitter } from "./group-commit.ts";
import { identifyLedger, recordedOrigin } from "./ledger-identity.ts";
import {
  toEntry,
  type AppendResult,
  type InclusionProof,
  type LedgerEntry,
  type LedgerOptions,
} from "./ledger-types.ts";
import { hashLeaf, type Hash } from "./merkle.ts";
import {
  digestMatches,
  finishReceipt,
  prepareReceipt,
  signReceipt,
  ReceiptFormatError,
  type Receipt,
  type ReceiptInput,
} from "./receipt.ts";
import { migrate } from "./store/migrations.ts";
import * as q from "./store/pg-log-queries.ts";
import { PgLogStore, type AppendOutcome, type PendingLeaf } from "./store/pg-log-store.ts";
import type { EntryRow } from "./store/pg-rows.ts";
import { stampCheckpoint, toSignedTreeHead, type SignedTreeHead } from "./tree-head.ts";
import { emptyTrust, mergeTrust, type TrustBundle } from "./trust-bundle.ts";

export {
  toEntry,
  type AppendResult,
  type InclusionProof,
  type LedgerEntry,
  type LedgerOptions,
} from "./ledger-types.ts";

interface Slot {
  readonly row: EntryRow;
  readonly existing: boolean;
  readonly proof: Hash[];
  readonly head: AppendOutcome["treeHead"];
}

/** The Remembrancer ledger over Postgres. */
export class Ledger {
  readonly store: PgLogStore;
  readonly #opts: LedgerOptions;
  readonly #committer: GroupCommitter<PendingLeaf, Slot>;
  #origin: string | undefined;

  private constructor(opts: LedgerOptions, origin: string | undefined) {
    this.#opts = opts;
    this.#origin = origin;
    this.store = new PgLogStore(opts.pool, { cacheTree: opts.cacheTree ?? false });
    this.#committer = new GroupCommitter((items) => this.#commit(items), opts.maxBatch ?? 1024);
  }

  /**
   * Opens the ledger, applying schema migrations first unless told not to, and settles its
   * origin (ADR 0081): the recorded one, or on first open the configured or key-derived one,
   * recorded now. Throws `LedgerOriginError` when the configured origin is not the ledger's.
   */
  static async open(opts: LedgerOptions): Promise<Ledger> {
    if (opts.migrate !== false) await migrate(opts.pool);
    const identity = await identifyLedger(opts.pool, {
      ...(opts.origin ? { configured: opts.origin } : {}),
      ...(opts.signer ? { logPublicKey: opts.signer.publicKey } : {}),
      now: opts.clock.now(),
    });
    const ledger = new Ledger(opts, identity.origin);
    await ledger.#recordKeys();
    await ledger.store.warmCache();
    return ledger;
  }

  /**
   * The checkpoint origin this log signs under, fixed at genesis. Undefined only for a ledger
   * opened without a signing key before any process recorded one.
   */
  get origin(): string | undefined {
    return this.#origin;
  }

  async #commit(items: readonly PendingLeaf[]): Promise<Slot[]> {
    const signer = this.#requireSigner();
    // Opened with a signer, the ledger always has an origin (derived from its key if need be).
    const origin = this.#origin;
    if (origin === undefined) throw new Error("this ledger has no origin: open it with a signer");
    const signHead = (size: number, root: Hash): string =>
      signNote(formatCheckpoint({ origin, size, root, extensions: [] }), origin, signer);
    const started = performance.now();
    const out = await this.store.appendBatch(items, signHead, this.#opts.clock.now());
    this.#opts.logger.debug(
      { batch: items.length, treeSize: out.treeHead.treeSize, ms: performance.now() - started },
      "ledger batch committed",
    );
    return out.entries.map((e, i) => ({ ...e, proof: out.proofs[i]!, head: out.treeHead }));
  }

  #requireSigner(): Ed25519Signer {
    if (!this.#opts.signer) throw new Error("this ledger has no signing key: appends need one");
    return this.#opts.signer;
  }

  /** Creates, signs and appends a receipt for `input`; idempotent by digest. */
  async append(input: ReceiptInput): Promise<AppendResult> {
    const signer = this.#requireSigner();
    if (!signer.signAsync) {
      const signed = signReceipt(input, signer, this.#opts.clock);
      return await this.#append(signed.receipt, signed.leafData);
    }
    const prep = prepareReceipt(input, this.#opts.clock);
    const signature = await signer.signAsync(prep.data);
    const signed = finishReceipt(prep, [{ keyId: signer.keyId, signature }]);
    return await this.#append(signed.receipt, signed.leafData);
  }

  /** Appends an already signed receipt; idempotent by digest. */
  async appendReceipt(receipt: Receipt): Promise<AppendResult> {
    if (!digestMatches(receipt)) {
      this.#opts.metrics?.verifyFailed("receipt_digest");
      throw new ReceiptFormatError("digest: does not match type, subject and payload");
    }
    return await this.#append(receipt, canonicalBytes(receipt));
  }

  async #append(receipt: Receipt, bytes: Uint8Array): Promise<AppendResult> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    let slot: Slot;
    try {
      slot = await this.#committer.submit({
        digest: parseDigest(receipt.digest),
        leafHash: hashLeaf(bytes),
        receiptBytes: bytes,
        type: receipt.type,
        subject:
          typeof receipt.subject === "string" ? receipt.subject : JSON.stringify(receipt.subject),
        issuedAt: new Date(receipt.issuedAt),
      });
    } catch (err) {
      this.#opts.metrics?.append("error", seconds());
      throw err;
    }
    this.#opts.metrics?.append(slot.existing ? "existing" : "appended", seconds());
    return {
      receipt: slot.existing ? toEntry(slot.row).receipt : receipt,
      entry: { logIndex: slot.row.logIndex, leafHash: toHex(slot.row.leafHash) },
      proof: {
        logIndex: slot.row.logIndex,
        treeSize: slot.head.treeSize,
        hashes: slot.proof.map(toHex),
      },
      treeHead: toSignedTreeHead(slot.head),
      existing: slot.existing,
    };
  }

  /** Waits until every append submitted so far is committed. */
  async flush(): Promise<void> {
    await this.#committer.flush();
  }

  /** The entry whose receipt has this digest (`sha256:<hex>`). */
  async getByDigest(digest: string): Promise<LedgerEntry | undefined> {
    const row = await q.entryByDigest(this.#opts.pool, parseDigest(digest));
    return row && toEntry(row);
  }

  /** The entry with this hex leaf hash. */
  async getByLeafHash(leafHash: string): Promise<LedgerEntry | undefined> {
    const row = await q.entryByLeafHash(this.#opts.pool, fromHex(leafHash, 32));
    return row && toEntry(row);
  }

  /** The entry at this log index. */
  async getByIndex(index: number): Promise<LedgerEntry | undefined> {
    const row = await q.entryByIndex(this.#opts.pool, index);
    return row && toEntry(row);
  }

  /** Entries with start ≤ index < end (at most 1000). */
  async entries(start: number, end: number): Promise<LedgerEntry[]> {
    return (await q.entriesRange(this.#opts.pool, start, Math.min(end, start + 1000))).map(toEntry);
  }

  /** Entries matching a filter (type, issue-time window), by log index or by time. */
  async list(filter: q.ListFilter): Promise<LedgerEntry[]> {
    return (await q.listEntries(this.#opts.pool, filter)).map(toEntry);
  }

  /** The newest signed tree head, or undefined while the log is empty. */
  async latestTreeHead(): Promise<SignedTreeHead | undefined> {
    const row = await this.store.latestTreeHead();
    return row && toSignedTreeHead(row);
  }

  /** The signed tree head of exactly `size`, if one was issued. */
  async treeHead(size: number): Promise<SignedTreeHead | undefined> {
    const row = await q.treeHeadAt(this.#opts.pool, size);
    return row && toSignedTreeHead(row);
  }

  /** Inclusion proof of `logIndex` in the tree of `treeSize` (default: the latest). */
  async inclusionProof(logIndex: number, treeSize?: number): Promise<InclusionProof> {
    const size = treeSize ?? (await this.store.latestTreeHead())?.treeSize ?? 0;
    const hashes = await this.store.inclusionProof(logIndex, size);
    return { logIndex, treeSize: size, hashes: hashes.map(toHex) };
  }

  /** Consistency proof between two tree sizes (hex hashes). */
  async consistencyProof(size1: number, size2: number): Promise<string[]> {
    return (await this.store.consistencyProof(size1, size2)).map(toHex);
  }

  /** Publishes the latest tree head (OpenPGP signature + RFC 3161 token) unless it already is. */
  async publish(): Promise<SignedTreeHead | undefined> {
    const head = await this.store.latestTreeHead();
    if (!head || head.stamp) return head && toSignedTreeHead(head);
    const { openpgp, timestamper } = this.#opts;
    if (!openpgp && !timestamper) return toSignedTreeHead(head);
    // pkijs is loaded only by a ledger that timestamps (memory: docs/adr/0025).
    const { parseTimeStampResponse } = await import("../tsa/rfc3161-verify.ts");
    const stamp = await stampCheckpoint(
      head,
      { ...(openpgp ? { openpgp } : {}), ...(timestamper ? { timestamper } : {}) },
      this.#opts.clock.now(),
      (t) => parseTimeStampResponse(t).tstInfo?.genTime,
    );
    await q.insertStamp(this.#opts.pool, stamp);
    const stored = await q.treeHeadAt(this.#opts.pool, head.treeSize);
    const lagSeconds = (this.#opts.clock.now().getTime() - head.createdAt.getTime()) / 1000;
    this.#opts.metrics?.publication("published", lagSeconds);
    this.#opts.logger.info({ treeSize: head.treeSize }, "tree head published");
    return stored && toSignedTreeHead(stored);
  }

  /** Publishes every `intervalMs` while new tree heads appear; returns a stop function. */
  startPublishing(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.publish().catch((err: unknown) => {
        // The database or the TSA away is an outage, retried at the next tick (ADR 0071).
        if (isOutage(err)) {
          this.#opts.metrics?.publication("postponed");
          this.#opts.logger.warn({ err: describeError(err) }, "tree head publication postponed");
        } else {
          this.#opts.metrics?.publication("failed");
          this.#opts.logger.error({ err }, "tree head publication failed");
        }
      });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The newest published tree head covering `logIndex`. */
  async publishedHeadCovering(logIndex: number): Promise<SignedTreeHead | undefined> {
    const row = await q.stampedHeadCovering(this.#opts.pool, logIndex);
    return row && toSignedTreeHead(row);
  }

  async #recordKeys(): Promise<void> {
    const { signer, openpgp, timestamper } = this.#opts;
    const keys: q.KeyRow[] = [
      ...(signer
        ? [{ keyId: signer.keyId, kind: "ed25519" as const, publicKey: signer.publicKey }]
        : []),
      ...(openpgp
        ? [
            {
              keyId: openpgp.fingerprint,
              kind: "openpgp" as const,
              publicKey: openpgp.publicKeyArmored,
            },
          ]
        : []),
      ...(timestamper?.certificatesPem ?? []).map((pem) => ({
        keyId: toHex(sha256(pem)),
        kind: "tsa" as const,
        publicKey: pem,
      })),
    ];
    await q.insertKeys(this.#opts.pool, keys, this.#opts.clock.now());
  }

  /**
   * The public keys a verifier of this ledger's proofs needs: every key the ledger has
   * signed with (recorded in ledger_keys), plus any configured extra trust.
   */
  async trust(): Promise<TrustBundle> {
    const extra = this.#opts.trust ?? emptyTrust();
    const rows = await q.allKeys(this.#opts.pool);
    const of = (kind: q.KeyRow["kind"]): q.KeyRow[] => rows.filter((r) => r.kind === kind);
    // A reader that opened before genesis learns the origin once a signer has recorded it.
    this.#origin ??= await recordedOrigin(this.#opts.pool);
    const recorded: TrustBundle = {
      ...emptyTrust(),
      ...(this.#origin ? { origin: this.#origin } : {}),
      ed25519: of("ed25519").map((r) => ({ keyId: r.keyId, publicKey: r.publicKey })),
      openpgp: of("openpgp").map((r) => r.publicKey),
      tsa: of("tsa").map((r) => r.publicKey),
    };
    return mergeTrust(recorded, extra);
  }
}
