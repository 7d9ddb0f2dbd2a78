/**
 * A short-lived, bounded, in-process cache of key-store lookups (ADR 0124). Only keys that
 * were found are kept — an unknown or revoked key, and a store error, are never cached, so a
 * failed lookup can never come back as a success. What is kept is the stored record (tenant,
 * SHA-256, suspended): {@link authenticate} still compares the presented secret in constant
 * time on every request. Revocation and suspension in Postgres take effect within `ttlMs`.
 */
import type { KeyStore, StoredKey } from "./api-key-auth.ts";

/** How long a found key is trusted without asking Postgres again. @default 5 s */
export const DEFAULT_KEY_CACHE_TTL_MS = 5_000;
/** Most key ids kept; the least recently used goes first. @default 10,000 */
export const DEFAULT_KEY_CACHE_MAX_ENTRIES = 10_000;

/** Options of {@link CachingKeyStore}. */
export interface KeyCacheOptions {
  /** @default DEFAULT_KEY_CACHE_TTL_MS */
  readonly ttlMs?: number;
  /** @default DEFAULT_KEY_CACHE_MAX_ENTRIES */
  readonly maxEntries?: number;
  /** Milliseconds now. @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly key: StoredKey;
  readonly expiresAt: number;
}

/** A {@link KeyStore} in front of another, remembering found keys for at most `ttlMs`. */
export class CachingKeyStore implements KeyStore {
  readonly #inner: KeyStore;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Insertion order is recency order: a hit is moved to the end, eviction takes the front. */
  readonly #entries = new Map<string, Entry>();
  /** Lookups in flight, so a burst for one key costs one query. */
  readonly #pending = new Map<string, Promise<StoredKey | undefined>>();

  constructor(inner: KeyStore, opts: KeyCacheOptions = {}) {
    const ttlMs = opts.ttlMs ?? DEFAULT_KEY_CACHE_TTL_MS;
    const max = opts.maxEntries ?? DEFAULT_KEY_CACHE_MAX_ENTRIES;
    if (!(Number.isFinite(ttlMs) && ttlMs >= 0)) {
      throw new RangeError(`ttlMs: expected a finite number ≥ 0, got ${ttlMs}`);
    }
    if (!(Number.isInteger(max) && max >= 1)) {
      throw new RangeError(`maxEntries: expected an integer ≥ 1, got ${max}`);
    }
    this.#inner = inner;
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = opts.now ?? Date.now;
  }

  /** Number of keys held (expired ones included until they are next looked up or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  async lookup(keyId: string): Promise<StoredKey | undefined> {
    const hit = this.#entries.get(keyId);
    if (hit) {
      this.#entries.delete(keyId);
      if (this.#now() < hit.expiresAt) {
        this.#entries.set(keyId, hit);
        return hit.key;
      }
    }
    const pending = this.#pending.get(keyId);
    if (pending) return await pending;
    const p = this.#fetch(keyId);
    this.#pending.set(keyId, p);
    try {
      return await p;
    } finally {
      this.#pending.delete(keyId);
    }
  }

  async #fetch(keyId: string): Promise<StoredKey | undefined> {
    // The TTL runs from before the query: a revocation committed while it runs is still seen
    // within ttlMs of the commit.
    const asked = this.#now();
    const key = await this.#inner.lookup(keyId);
    if (key && this.#ttlMs > 0) {
      this.#entries.set(keyId, { key, expiresAt: asked + this.#ttlMs });
      while (this.#entries.size > this.#max) {
        const oldest = this.#entries.keys().next().value;
        if (oldest === undefined) break;
        this.#entries.delete(oldest);
      }
    }
    return key;
  }

  /** Forgets `keyId` (or every key): the next lookup asks the store. */
  forget(keyId?: string): void {
    if (keyId === undefined) this.#entries.clear();
    else this.#entries.delete(keyId);
  }
}
