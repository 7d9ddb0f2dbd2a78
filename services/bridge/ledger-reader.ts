/**
 * The ledger as the bridge reads it: the Remembrancer's HTTP proof API (`remembrancer serve`),
 * so the bridge holds no ledger database credentials. Every call is bounded by a timeout.
 */
import type { LedgerReader } from "./deps.ts";

/** Thrown when the proof API answers with something other than the bundle or a 404. */
export class LedgerApiError extends Error {
  override readonly name = "LedgerApiError";
}

/** A {@link LedgerReader} over the proof API at `baseUrl`. */
export class HttpLedgerReader implements LedgerReader {
  readonly #base: string;
  readonly #timeoutMs: number;

  /** @param timeoutMs longest one request waits. @default 5000 */
  constructor(baseUrl: string, timeoutMs = 5000) {
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = timeoutMs;
  }

  async bundle(digest: string): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`${this.#base}/v1/bundles/${encodeURIComponent(digest)}`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new LedgerApiError(`ledger proof API: GET bundle answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Resolves when the proof API is ready (its database answers). */
  async ping(): Promise<void> {
    const res = await fetch(`${this.#base}/readyz`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!res.ok) throw new LedgerApiError(`ledger proof API: /readyz answered ${res.status}`);
  }
}
