/**
 * A ledger a long-running process can hold while its database comes and goes. The pool's
 * clients are guarded (services/dependency-health), the ledger is opened (migrations, keys,
 * frontier) in the background and opened again until it succeeds, so a process starts while
 * Postgres is away, and every call made while the database is away fails with a
 * {@link DependencyUnavailableError} naming the outage instead of a raw socket error. Nothing
 * is queued here: a caller retries the same call when the ledger is back, and appends are
 * idempotent by digest (ADR 0021), so a commit whose reply was lost is found, not repeated.
 */
import type pg from "pg";
import {
  DependencyUnavailableError,
  describeError,
  guardPgPool,
  OutageReason,
  outageReason,
  startProbe,
  type DependencyReporter,
} from "../dependency-health/index.ts";
import { Ledger, type LedgerOptions } from "./ledger.ts";
import type { ReceiptInput } from "./receipt.ts";

/** Options of {@link LedgerConnection.start}. */
export interface LedgerConnectionOptions extends LedgerOptions {
  /** Where the database's state is reported. */
  readonly dependency: DependencyReporter;
  /** How often the database is probed while up. @default 10000 */
  readonly probeIntervalMs?: number;
  /** How often it is probed (and opening retried) while down. @default 2000 */
  readonly downProbeIntervalMs?: number;
}

/** The Ledger operations a process uses, each failing with DependencyUnavailableError during an outage. */
export class LedgerConnection {
  readonly #opts: LedgerConnectionOptions;
  readonly #dep: DependencyReporter;
  #ledger: Ledger | undefined;
  #opening: Promise<Ledger> | undefined;
  #stopProbe: () => void = () => undefined;

  private constructor(opts: LedgerConnectionOptions) {
    this.#opts = opts;
    this.#dep = opts.dependency;
  }

  /**
   * Guards the pool and starts probing it; the ledger opens at the first successful probe.
   * Never throws for an unreachable database.
   */
  static start(opts: LedgerConnectionOptions): LedgerConnection {
    const conn = new LedgerConnection(opts);
    guardPgPool(opts.pool, opts.dependency);
    conn.#stopProbe = startProbe(opts.dependency, () => conn.#probe(), {
      intervalMs: opts.probeIntervalMs ?? 10_000,
      downIntervalMs: opts.downProbeIntervalMs ?? 2_000,
    });
    return conn;
  }

  /** The pool the ledger uses. */
  get pool(): pg.Pool {
    return this.#opts.pool;
  }

  /** True once the ledger has been opened (it may still be down now). */
  get opened(): boolean {
    return this.#ledger !== undefined;
  }

  async #probe(): Promise<void> {
    if (!this.#ledger) await this.#open();
    else await this.#opts.pool.query("SELECT 1");
  }

  #open(): Promise<Ledger> {
    this.#opening ??= Ledger.open(this.#opts).then(
      (l) => {
        this.#ledger = l;
        this.#opts.logger.info({}, "ledger opened");
        return l;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  /** Resolves once the ledger is open (tests, start-up ordering); rejects on the first failure. */
  async ready(): Promise<Ledger> {
    return this.#ledger ?? (await this.#open());
  }

  // Runs `fn` on the open ledger; an outage (or a ledger not yet opened) becomes
  // DependencyUnavailableError and marks the database down. Other errors pass through.
  async #call<T>(fn: (l: Ledger) => Promise<T>): Promise<T> {
    let ledger = this.#ledger;
    try {
      ledger ??= await this.#open();
      const out = await fn(ledger);
      this.#dep.up();
      return out;
    } catch (err) {
      const reason = outageReason(err);
      if (!reason) throw err;
      this.#dep.down(reason, err);
      throw new DependencyUnavailableError(this.#dep.name, reason, describeError(err), err);
    }
  }

  /** {@link Ledger.append}. */
  append(input: ReceiptInput): ReturnType<Ledger["append"]> {
    return this.#call((l) => l.append(input));
  }

  /** {@link Ledger.getByIndex}. */
  getByIndex(index: number): ReturnType<Ledger["getByIndex"]> {
    return this.#call((l) => l.getByIndex(index));
  }

  /** {@link Ledger.getByLeafHash}. */
  getByLeafHash(leafHash: string): ReturnType<Ledger["getByLeafHash"]> {
    return this.#call((l) => l.getByLeafHash(leafHash));
  }

  /** {@link Ledger.getByDigest}. */
  getByDigest(digest: string): ReturnType<Ledger["getByDigest"]> {
    return this.#call((l) => l.getByDigest(digest));
  }

  /** {@link Ledger.treeHead}. */
  treeHead(size: number): ReturnType<Ledger["treeHead"]> {
    return this.#call((l) => l.treeHead(size));
  }

  /** {@link Ledger.latestTreeHead}. */
  latestTreeHead(): ReturnType<Ledger["latestTreeHead"]> {
    return this.#call((l) => l.latestTreeHead());
  }

  /** {@link Ledger.inclusionProof}. */
  inclusionProof(logIndex: number, treeSize?: number): ReturnType<Ledger["inclusionProof"]> {
    return this.#call((l) => l.inclusionProof(logIndex, treeSize));
  }

  /** {@link Ledger.consistencyProof}. */
  consistencyProof(size1: number, size2: number): ReturnType<Ledger["consistencyProof"]> {
    return this.#call((l) => l.consistencyProof(size1, size2));
  }

  /** {@link Ledger.publishedHeadCovering}. */
  publishedHeadCovering(logIndex: number): ReturnType<Ledger["publishedHeadCovering"]> {
    return this.#call((l) => l.publishedHeadCovering(logIndex));
  }

  /** {@link Ledger.trust}. */
  trust(): ReturnType<Ledger["trust"]> {
    return this.#call((l) => l.trust());
  }

  /** Waits for submitted appends (a no-op before the ledger opened). */
  async flush(): Promise<void> {
    await this.#ledger?.flush();
  }

  /** Stops probing (the pool is the caller's to end). */
  stop(): void {
    this.#stopProbe();
  }
}

/** Re-exported for callers that build the reason for a waiting condition. */
export { DependencyUnavailableError, OutageReason };
