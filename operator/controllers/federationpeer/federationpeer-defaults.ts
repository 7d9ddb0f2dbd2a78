/**
 * The FederationPeer controller's fixed numbers, in one place: the reconciler, the ledger
 * receipts, the environment parsing (federationpeer-env.ts) and docs/federation.md use these.
 */

/** Deadline of one sync round (`VAULTMESH_FEDERATION_ROUND_TIMEOUT_MS` when unset). */
export const DEFAULT_FEDERATION_ROUND_TIMEOUT_MS = 60_000;

/** Wait before a round that could not start or failed before its verdict is tried again. */
export const DEFAULT_FEDERATION_RETRY_MS = 10_000;

/** Deadline of each request of the receipt proposal to the peer. */
export const DEFAULT_FEDERATION_PROPOSAL_TIMEOUT_MS = 10_000;

/**
 * How many sync intervals back the non-proposing side looks for the FederationSynced receipt
 * its peer proposed (the peer proposes within a round of its own sync).
 */
export const FEDERATION_RECEIPT_LOOKBACK_INTERVALS = 3;

/** The shortest look-back for the peer's FederationSynced receipt: 10 minutes. */
export const MIN_FEDERATION_RECEIPT_LOOKBACK_MS = 600_000;

/** Entries read per ledger query while looking for the peer's FederationSynced receipt. */
export const FEDERATION_RECEIPT_LIST_PAGE = 1000;

/** The look-back window for the peer's receipt: max(3 × interval, 10 min) (pure). */
export function federationReceiptLookBackMs(syncIntervalSeconds: number): number {
  return Math.max(
    FEDERATION_RECEIPT_LOOKBACK_INTERVALS * syncIntervalSeconds * 1000,
    MIN_FEDERATION_RECEIPT_LOOKBACK_MS,
  );
}
