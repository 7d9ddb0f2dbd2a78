/**
 * The ledger side of the FederationPeer controller's receipts (ADR 0086):
 *
 * - **FederationInconsistent**: a round that caught a fork or rollback appends the evidence
 *   receipt (services/federation/misbehaviour-receipt.ts; its digest depends only on the
 *   evidence, so every later round finds the same entry).
 * - **FederationSynced**: after a synced round the side with the byte-wise lower origin proposes
 *   the receipt of the pair (our checkpoint as the peer's witness stored it, the peer's as ours
 *   did) to the peer's `POST /v1/federation/receipts`; the peer checks every part and appends;
 *   we check its signed answer (services/federation/federation-receipt.ts) and append the same
 *   input, so both ledgers hold one digest. The other side proposes nothing: it finds in its
 *   own ledger the receipt its proof API appended for the peer's proposal.
 *
 * Each recorded receipt gets a Receipt resource (federationpeer-receipts.ts).
 */
import type { FederationPeer } from "../../../crds/index.ts";
import {
  FEDERATION_SYNCED,
  parseFederationPayload,
} from "../../../services/federation/federation-receipt.ts";
import { proposeFederationReceipt } from "../../../services/federation/federation-receipt-service.ts";
import { buildMisbehaviourReceiptInput } from "../../../services/federation/misbehaviour-receipt.ts";
import { WitnessClient } from "../../../services/federation/witness-client.ts";
import type { KubeClient } from "../../../services/kube/index.ts";
import type { Ed25519Signer } from "../../../services/ledger/ed25519.ts";
import {
  DEFAULT_FEDERATION_PROPOSAL_TIMEOUT_MS,
  FEDERATION_RECEIPT_LIST_PAGE,
  federationReceiptLookBackMs,
} from "./federationpeer-defaults.ts";
import { ensureReceiptView } from "../../shared/receipt-views.ts";
import { federationReceiptView } from "./federationpeer-receipts.ts";
import type {
  FederationReceipts,
  RecordedReceipt,
  RoundContext,
} from "./federationpeer-reconciler.ts";

/** Thrown when the peer refuses our proposal or answers something we refuse; names the part. */
export class FederationProposalError extends Error {
  override readonly name = "FederationProposalError";
}

/** Dependencies of {@link LedgerFederationReceipts}. */
export interface LedgerFederationReceiptsOptions {
  readonly client: KubeClient;
  readonly clock: { now(): Date };
  /** Our log key (signs the proposal; must be the key our checkpoints are signed with). */
  readonly signer: Ed25519Signer;
  /** Namespace of the Receipt resources. */
  readonly namespace: string;
  /** Deadline of each request to the peer. @default {@link DEFAULT_FEDERATION_PROPOSAL_TIMEOUT_MS} */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Whether we propose the receipt of a pair: our origin sorts first, byte-wise (ADR 0086). */
export function wePropose(ourOrigin: string, peerOrigin: string): boolean {
  return Buffer.compare(Buffer.from(ourOrigin), Buffer.from(peerOrigin)) < 0;
}

/** The FederationSynced and FederationInconsistent receipts, in the ledger and on the cluster. */
export class LedgerFederationReceipts implements FederationReceipts {
  readonly #o: LedgerFederationReceiptsOptions;

  constructor(o: LedgerFederationReceiptsOptions) {
    this.#o = o;
  }

  async inconsistent(ctx: RoundContext): Promise<RecordedReceipt | undefined> {
    const evidence = ctx.outcome.evidence;
    if (!evidence) return undefined;
    const res = await ctx.ledger.append(buildMisbehaviourReceiptInput(evidence, ctx.witness.vkey));
    return { receipt: res.receipt, entry: res.entry };
  }

  async synced(ctx: RoundContext): Promise<RecordedReceipt | undefined> {
    const ours = ctx.ledger.origin;
    if (!ours || !ctx.outcome.trusted) return undefined;
    return wePropose(ours, ctx.config.origin)
      ? await this.#propose(ctx, ours)
      : await this.#appendedForPeer(ctx);
  }

  async view(
    peer: FederationPeer,
    r: RecordedReceipt,
    kind: "synced" | "inconsistent",
  ): Promise<{ name: string; namespace: string }> {
    const view = federationReceiptView(peer, r.receipt, kind, this.#o.namespace);
    await ensureReceiptView(this.#o.client, view, r.entry, this.#o.clock.now());
    return { name: view.metadata.name ?? "", namespace: this.#o.namespace };
  }

  async #propose(ctx: RoundContext, ours: string): Promise<RecordedReceipt | undefined> {
    const timeoutMs = this.#o.timeoutMs ?? DEFAULT_FEDERATION_PROPOSAL_TIMEOUT_MS;
    const caBundle = ctx.config.client?.caBundle;
    const fetchOpt = {
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
      ...(caBundle !== undefined ? { caBundle } : {}),
    };
    // Our checkpoint exactly as the peer's witness stored it (its first cosignature of that
    // size), so the payload is the one the peer computes too.
    const peerClient = new WitnessClient({ url: ctx.config.url, timeoutMs, ...fetchOpt });
    const stored = await peerClient.cosigned(ours, AbortSignal.timeout(timeoutMs));
    if (!stored) return undefined;
    const out = await proposeFederationReceipt(
      {
        ledger: ctx.ledger,
        pool: ctx.ledger.store.pool,
        witnessKey: ctx.witness.vkey,
        clock: this.#o.clock,
        signer: this.#o.signer,
        timeoutMs,
        ...fetchOpt,
      },
      ctx.config.url,
      {
        origin: ctx.config.origin,
        logKeys: ctx.config.logVkeys,
        witnessKey: ctx.config.witnessVkeys[0],
      },
      { ownNote: stored.note, peerNote: ctx.outcome.trusted!.note },
    );
    if (!out.ok) {
      throw new FederationProposalError(
        `the federation receipt was not agreed: ${out.reason}${out.field ? ` at ${out.field}` : ""}: ${out.message}`,
      );
    }
    const entry = await ctx.ledger.getByDigest(out.digest);
    if (!entry) {
      // Appended a moment ago: its absence is a fault, and the round retries the proposal.
      throw new FederationProposalError(
        `the agreed federation receipt ${out.digest} is not in our ledger after its append`,
      );
    }
    return { receipt: entry.receipt, entry: out.local };
  }

  /**
   * The latest FederationSynced receipt in our ledger with the peer as a side, if any: read
   * newest first, page by page, so any number of receipts in the window is handled.
   */
  async #appendedForPeer(ctx: RoundContext): Promise<RecordedReceipt | undefined> {
    // The peer proposes within a round of its own sync: look back max(3 intervals, 10 min).
    const back = federationReceiptLookBackMs(ctx.peer.spec.syncIntervalSeconds);
    const since = new Date(this.#o.clock.now().getTime() - back);
    let beforeIndex: number | undefined;
    for (;;) {
      const page = await ctx.ledger.list({
        type: FEDERATION_SYNCED,
        since,
        limit: FEDERATION_RECEIPT_LIST_PAGE,
        newestFirst: true,
        ...(beforeIndex !== undefined ? { beforeIndex } : {}),
      });
      const last = page.find((e) => hasSide(e.receipt.payload, ctx.config.origin));
      if (last) {
        return {
          receipt: last.receipt,
          entry: { logIndex: last.logIndex, leafHash: last.leafHash },
        };
      }
      const oldest = page.at(-1);
      if (!oldest || page.length < FEDERATION_RECEIPT_LIST_PAGE) return undefined;
      beforeIndex = oldest.logIndex;
    }
  }
}

/** Whether a FederationSynced payload has a side of `origin`. */
function hasSide(payload: unknown, origin: string): boolean {
  try {
    return parseFederationPayload(payload).sides.some((s) => s.origin === origin);
  } catch {
    return false;
  }
}
