/**
 * The Receipt controller: checks each Receipt view against the Remembrancer ledger — the
 * entry at status.logIndex (or, for a Receipt without one, the entry with its leaf hash), its
 * signatures against the ledger's keys, its inclusion in a signed tree head that is a prefix of
 * the latest — and whether a tree head covering it carries an RFC 3161 token. A Receipt's spec
 * is immutable, so the result changes only with the ledger: the Receipt is re-checked at each
 * resync, and every 30 s while its timestamp is pending. Status is written once per reconcile,
 * and not at all when nothing changed.
 */
import type { Receipt } from "../../../crds/index.ts";
import { Resources } from "../../../services/kube/index.ts";
import { DependencyUnavailableError } from "../../../services/dependency-health/index.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import type { SignedTreeHead } from "../../../services/ledger/tree-head.ts";
import type { TrustBundle } from "../../../services/ledger/trust-bundle.ts";
import { writeStatus, type Controller, type Manager, type Result } from "../../runtime/index.ts";
import { workloadCaches, type OperatorScope } from "../../shared/workload-caches.ts";
import { computeReceiptStatus, type TimestampEvidence } from "./receipt-status.ts";
import {
  ledgerReceiptOf,
  leafHashOf,
  verifyReceipt,
  type LedgerEvidence,
} from "./receipt-verification.ts";

/** The ledger reads the Receipt controller needs (services/ledger `Ledger`). */
export type ReceiptLedgerReader = Pick<
  Ledger,
  | "getByIndex"
  | "getByLeafHash"
  | "treeHead"
  | "latestTreeHead"
  | "inclusionProof"
  | "consistencyProof"
  | "publishedHeadCovering"
  | "trust"
>;

/** Dependencies of the Receipt controller. */
export interface ReceiptControllerDeps {
  readonly ledger: ReceiptLedgerReader;
  readonly clock: { now(): Date };
  /**
   * Whether the ledger publishes tree heads with an RFC 3161 token (a Timestamper is
   * configured and something publishes). Without one, an unstamped Receipt is
   * `Timestamped=False NoTimestampAuthority` and waits for the resync instead of polling.
   */
  readonly timestamping: boolean;
  readonly scope?: OperatorScope;
  /** How long to wait before looking again while a timestamp is pending. @default 30000 */
  readonly pendingRequeueMs?: number;
  /** How long the ledger's trusted keys are reused before being read again. @default 60000 */
  readonly trustTtlMs?: number;
  readonly workers?: number;
  readonly resyncMs?: number;
}

/** Creates the Receipt controller on the Receipt informer the GPUWorkload controller shares. */
export function createReceiptController(
  mgr: Manager,
  deps: ReceiptControllerDeps,
): Controller<Receipt> {
  const receipts = workloadCaches(mgr, deps.scope).receipts;
  const trust = trustCache(deps);
  const reconcile = async (namespace: string | undefined, name: string): Promise<Result | void> => {
    const r = receipts.get(name, namespace);
    if (!r || r.metadata.deletionTimestamp) return;
    const ev = await gatherEvidence(deps.ledger, r, await trust());
    const v = verifyReceipt(ledgerReceiptOf(r.spec), ev);
    const logIndex = v.ok ? v.logIndex : v.entry?.logIndex;
    const ts = logIndex === undefined ? NO_STAMP : await timestampOf(deps, r, logIndex);
    const res = computeReceiptStatus(r, v, ts, deps.clock.now());
    await writeStatus(mgr.client, Resources.Receipt, r, res.status);
    if (res.warning) {
      mgr.events.event(Resources.Receipt, r, "Warning", res.warning.reason, res.warning.message);
    }
    if (res.requeueAfterMs === undefined) return;
    return { requeueAfterMs: deps.pendingRequeueMs ?? res.requeueAfterMs };
  };
  return mgr.controller({
    name: "receipt",
    for: receipts,
    workers: deps.workers ?? 2,
    ...(deps.resyncMs !== undefined ? { resyncMs: deps.resyncMs } : {}),
    // While the ledger is away its Receipts keep their last verdict (it cannot have changed:
    // the log is append-only) and are looked at again soon, not after the error backoff.
    reconcile: (req) =>
      reconcile(req.namespace, req.name).catch((err: unknown) => {
        if (err instanceof DependencyUnavailableError) return { requeueAfterMs: LEDGER_RETRY_MS };
        throw err;
      }),
  });
}

/** How soon a Receipt is checked again while the ledger is away. */
const LEDGER_RETRY_MS = 5000;

// Unused when the receipt is not logged: its Timestamped condition says NotInLedger.
const NO_STAMP: TimestampEvidence = { kind: "pending" };

/** The ledger's trusted keys, read at most once per TTL (they change only on key rotation). */
function trustCache(deps: ReceiptControllerDeps): () => Promise<TrustBundle> {
  let cached: { at: number; trust: Promise<TrustBundle> } | undefined;
  const ttl = deps.trustTtlMs ?? 60_000;
  return async () => {
    const now = deps.clock.now().getTime();
    if (!cached || now - cached.at >= ttl) {
      const trust = deps.ledger.trust();
      cached = { at: now, trust };
      trust.catch(() => (cached = undefined));
    }
    return await cached.trust;
  };
}

/**
 * Reads what verifying `r` needs. The proof is against the tree head recorded in the status
 * when the ledger still signs that head with that root (so a growing ledger does not rewrite
 * every Receipt), else against the latest; a consistency proof ties it to the latest.
 */
async function gatherEvidence(
  ledger: ReceiptLedgerReader,
  r: Receipt,
  trust: TrustBundle,
): Promise<LedgerEvidence> {
  const s = r.status;
  const logIndex = s?.logIndex;
  const leafHash = leafHashOf(ledgerReceiptOf(r.spec));
  const lookedUp = logIndex !== undefined ? { logIndex } : { leafHash };
  const entry =
    logIndex !== undefined
      ? await ledger.getByIndex(logIndex)
      : await ledger.getByLeafHash(leafHash);
  if (!entry) return { lookedUp, trust };
  const latest = await ledger.latestTreeHead();
  const head = await recordedHead(ledger, r, entry.logIndex, latest);
  if (!head || !latest) return { lookedUp, entry, head, latest, trust };
  const [proof, consistency] = await Promise.all([
    ledger.inclusionProof(entry.logIndex, head.treeSize),
    head.treeSize < latest.treeSize
      ? ledger.consistencyProof(head.treeSize, latest.treeSize)
      : Promise.resolve([]),
  ]);
  return { lookedUp, entry, head, proof, latest, consistency, trust };
}

async function recordedHead(
  ledger: ReceiptLedgerReader,
  r: Receipt,
  logIndex: number,
  latest: SignedTreeHead | undefined,
): Promise<SignedTreeHead | undefined> {
  const s = r.status;
  if (s?.treeSize === undefined || s.treeSize <= logIndex || !latest) return latest;
  if (s.treeSize > latest.treeSize) return latest;
  const head = await ledger.treeHead(s.treeSize);
  return head && head.rootHash === s.rootHash ? head : latest;
}

/**
 * Whether a tree head covering `logIndex` carries an RFC 3161 token. The one recorded in the
 * status is kept while the ledger still holds it, so later publications do not rewrite it.
 */
async function timestampOf(
  deps: ReceiptControllerDeps,
  r: Receipt,
  logIndex: number,
): Promise<TimestampEvidence> {
  const recorded = r.status?.timestamp;
  if (recorded && recorded.treeSize > logIndex) {
    const head = await deps.ledger.treeHead(recorded.treeSize);
    const stamp = head?.stamp;
    if (stamp?.timestampToken && stamp.genTime && sameInstant(stamp.genTime, recorded.genTime)) {
      return { kind: "stamped", treeSize: recorded.treeSize, genTime: recorded.genTime };
    }
  }
  const head = await deps.ledger.publishedHeadCovering(logIndex);
  const stamp = head?.stamp;
  if (head && stamp?.timestampToken && stamp.genTime) {
    return { kind: "stamped", treeSize: head.treeSize, genTime: stamp.genTime };
  }
  return deps.timestamping ? { kind: "pending" } : { kind: "noAuthority" };
}

function sameInstant(a: string, b: string): boolean {
  return Date.parse(a) === Date.parse(b);
}
