/**
 * The federation receipt over the ledger (ADR 0088): the acceptor's side —
 * `POST /v1/federation/receipts` on the proof API, which checks every part of a proposal
 * against this ledger's tree heads and its witness's cosigned rows and appends the receipt —
 * and the proposer's side ({@link proposeFederationReceipt}), which posts the proposal, checks
 * the acceptor's signed receipt and appends the same input. The decisions are the pure checks
 * of federation-receipt.ts; this module gathers what they need from the database.
 */
import type pg from "pg";
import { fromBase64, toHex } from "../ledger/canonical-json.ts";
import { verifierKey } from "../ledger/checkpoint.ts";
import type { Clock } from "../ledger/clock.ts";
import type { Ed25519Signer } from "../ledger/ed25519.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { allKeys } from "../ledger/store/pg-log-queries.ts";
import {
  buildFederationProposal,
  FEDERATION_ACCEPTANCE_FORMAT,
  FederationReceiptFormatError,
  FederationReceiptReason,
  parseFederationAcceptance,
  parseFederationPayload,
  parseFederationProposal,
  type FederationAcceptance,
  type FederationCheckView,
  type FederationIdentity,
  type FederationPairInput,
  type FederationRefusal,
  type FederationSyncedPayload,
} from "./federation-receipt.ts";
import {
  checkFederationAcceptance,
  checkFederationPayload,
  checkFederationProposal,
} from "./federation-receipt-check.ts";
import { caFetch, isPeerHttpError, peerRequest } from "./peer-http.ts";
import type { WitnessedLog } from "./witness-protocol.ts";

/** What the acceptor and the proposer read from this ledger. */
export interface FederationLedgerDeps {
  /** This ledger: its origin, its tree heads and the append of the agreed receipt. */
  readonly ledger: Pick<Ledger, "origin" | "treeHead" | "append">;
  /** This ledger's database (its ledger_keys and its witness's ledger_witness_checkpoints). */
  readonly pool: Pick<pg.Pool, "query">;
  /** This ledger's witness cosignature/v1 vkey (type 0x04). */
  readonly witnessKey: string;
  readonly clock: Clock;
  /** Largest cosignature time skew accepted, seconds. @default 300 */
  readonly maxSkewSeconds?: number;
}

/** The acceptor: {@link FederationLedgerDeps} and the pinned peers by origin. */
export interface FederationReceiptServiceOptions extends FederationLedgerDeps {
  /** A map, or a lookup read per proposal (witness-trust-store.ts, ADR 0094). */
  readonly peers: {
    get(origin: string): FederationIdentity | undefined | Promise<FederationIdentity | undefined>;
  };
}

/** A problem document (RFC 9457) naming the reason constant and the field at fault. */
export interface FederationProblem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly reason: FederationReceiptReason;
  readonly field: string;
}

/** An answer of the endpoint: 200 with the acceptance, or a problem document. */
export type FederationReceiptResponse =
  | { readonly status: 200; readonly body: FederationAcceptance }
  | { readonly status: 400 | 403 | 404 | 409 | 413 | 422; readonly body: FederationProblem };

const R = FederationReceiptReason;
const STATUS: Record<FederationReceiptReason, 400 | 403 | 404 | 409 | 422> = {
  Malformed: 400,
  UnknownPeer: 404,
  KeyMismatch: 403,
  BadReceiptSignature: 403,
  BadLogSignature: 403,
  BadCosignature: 403,
  FutureTimestamp: 422,
  // Not cosigned *yet*: the proposer may push its checkpoint and propose again.
  NotWitnessed: 409,
  NotOurCheckpoint: 422,
  MergedRootMismatch: 422,
  DigestMismatch: 422,
};

/** The problem document of a refusal. */
export function federationProblem(
  r: Pick<FederationRefusal, "reason" | "field" | "message">,
  status: number = STATUS[r.reason],
): FederationProblem {
  return {
    type: `https://vaultmesh.cloud/problems/federation/${r.reason}`,
    title: `federation receipt refused: ${r.reason}`,
    status,
    detail: r.message,
    reason: r.reason,
    field: r.field,
  };
}

/** The pinned peers of a witness trust file ({@link WitnessedLog}s) as federation identities. */
export function peersFromWitnessTrust(
  logs: ReadonlyMap<string, WitnessedLog>,
): Map<string, FederationIdentity> {
  return new Map(
    [...logs.values()].map((l) => [
      l.origin,
      { origin: l.origin, logKeys: l.publicKeys.map((k) => verifierKey(l.origin, fromBase64(k))) },
    ]),
  );
}

/**
 * Gathers what {@link checkFederationPayload} needs to check `payload` from this ledger's
 * point of view: its identity, the pinned peer, its tree head of its side's size and its
 * witness's row of the peer's size.
 */
export async function federationCheckView(
  deps: FederationLedgerDeps,
  peerOf: (
    origin: string,
  ) => FederationIdentity | undefined | Promise<FederationIdentity | undefined>,
  payload: FederationSyncedPayload,
): Promise<FederationCheckView> {
  const origin = deps.ledger.origin ?? "";
  const own = payload.sides.find((s) => s.origin === origin);
  const peer = payload.sides.find((s) => s.origin !== origin);
  const logKeys = (await allKeys(deps.pool))
    .filter((k) => k.kind === "ed25519")
    .map((k) => verifierKey(origin, fromBase64(k.publicKey)));
  const head = own && (await deps.ledger.treeHead(own.treeSize));
  const witnessed = peer && (await cosignedRow(deps.pool, peer.origin, peer.treeSize));
  return {
    self: { origin, logKeys, witnessKey: deps.witnessKey },
    peer: peer && (await peerOf(peer.origin)),
    witnessed,
    ownTreeHead: head && { treeSize: head.treeSize, rootHash: head.rootHash },
    now: deps.clock.now(),
    ...(deps.maxSkewSeconds !== undefined ? { maxSkewSeconds: deps.maxSkewSeconds } : {}),
  };
}

/** The checkpoint this ledger's witness cosigned for `origin` at `size`, if any. */
async function cosignedRow(
  db: Pick<pg.Pool, "query">,
  origin: string,
  size: number,
): Promise<FederationCheckView["witnessed"]> {
  const { rows } = await db.query<{ root_hash: Buffer; note: string }>(
    `SELECT root_hash, note FROM ledger_witness_checkpoints
      WHERE origin = $1 AND tree_size = $2 ORDER BY seq DESC LIMIT 1`,
    [origin, size],
  );
  const row = rows[0];
  return row && { size, rootHash: toHex(new Uint8Array(row.root_hash)), note: row.note };
}

/** The acceptor: checks a proposal and appends the agreed receipt. */
export class FederationReceiptService {
  readonly #o: FederationReceiptServiceOptions;

  constructor(options: FederationReceiptServiceOptions) {
    this.#o = options;
  }

  /**
   * Handles one proposal (the parsed JSON body): 200 with this ledger's signed receipt of the
   * canonical payload and its log entry (appended now, or found by digest when it already was),
   * or a problem naming the reason and the field. Nothing is appended unless every check passes.
   */
  async accept(body: unknown): Promise<FederationReceiptResponse> {
    let proposal;
    try {
      proposal = parseFederationProposal(body);
    } catch (err) {
      if (!(err instanceof FederationReceiptFormatError)) throw err;
      return refusal({ reason: R.Malformed, field: err.field, message: err.message });
    }
    const payload = parseFederationPayload(proposal.receipt.payload, "receipt.payload");
    const view = await federationCheckView(this.#o, (o) => this.#o.peers.get(o), payload);
    const checked = checkFederationProposal(proposal, view);
    if (!checked.ok) return refusal(checked);
    const appended = await this.#o.ledger.append(checked.input);
    return {
      status: 200,
      body: {
        format: FEDERATION_ACCEPTANCE_FORMAT,
        receipt: appended.receipt,
        entry: appended.entry,
      },
    };
  }
}

function refusal(r: Pick<FederationRefusal, "reason" | "field" | "message">): {
  status: 400 | 403 | 404 | 409 | 422;
  body: FederationProblem;
} {
  const status = STATUS[r.reason];
  return { status, body: federationProblem(r, status) };
}

/** Why a proposal did not end in a receipt on both sides (beyond the check reasons). */
export const ProposalReason = {
  ...FederationReceiptReason,
  /** No answer, a connection error or a 5xx from the peer. */
  Unreachable: "Unreachable",
  /** No answer within the deadline. */
  Timeout: "Timeout",
  /** The peer answered with a redirect (never followed). */
  Redirected: "Redirected",
  /** The answer was over the byte cap. */
  Oversized: "Oversized",
  /** The peer refused the proposal (its problem's reason is in `peerReason`). */
  Refused: "Refused",
} as const;
export type ProposalReason = (typeof ProposalReason)[keyof typeof ProposalReason];

/** What {@link proposeFederationReceipt} needs: this ledger, its log signer, the peer. */
export interface ProposerDeps extends FederationLedgerDeps {
  /** This ledger's log key (signs the proposal; the same key signs its receipts). */
  readonly signer: Ed25519Signer;
  /** @default globalThis.fetch, or {@link caFetch} with `caBundle` */
  readonly fetch?: typeof fetch;
  /** PEM CA certificates of the peer's TLS endpoint instead of the system roots. */
  readonly caBundle?: string;
  /** Deadline of the request, milliseconds. @default 10000 */
  readonly timeoutMs?: number;
}

/** The outcome of a proposal. */
export type ProposalOutcome =
  | {
      readonly ok: true;
      /** The receipt digest both ledgers now hold. */
      readonly digest: string;
      readonly mergedRoot: string;
      /** This ledger's entry (appended now, or found by digest). */
      readonly local: { readonly logIndex: number; readonly leafHash: string };
      /** The peer's entry, as it answered. */
      readonly peer: { readonly logIndex: number; readonly leafHash: string };
    }
  | {
      readonly ok: false;
      readonly reason: ProposalReason;
      readonly message: string;
      /** The field at fault, when a check named one. */
      readonly field?: string;
      /** The HTTP status and problem reason of the peer's refusal. */
      readonly status?: number;
      readonly peerReason?: string;
    };

/** Largest answer read from a peer (an acceptance: a receipt with two notes). */
const MAX_ANSWER_BYTES = 128 * 1024;

/**
 * Proposes the `FederationSynced` receipt of a synced pair to the peer at `peerUrl`: checks the
 * pair from this side first, POSTs the signed proposal to `<peerUrl>/v1/federation/receipts`
 * (no redirects, capped answer, a deadline), checks the peer's signed receipt of the canonical
 * payload and appends the same input here. Idempotent: proposing the same pair again finds
 * both entries by digest. Never throws for anything the peer does.
 */
export async function proposeFederationReceipt(
  deps: ProposerDeps,
  peerUrl: string,
  peer: FederationIdentity,
  pair: Pick<FederationPairInput, "ownNote" | "peerNote">,
  signal?: AbortSignal,
): Promise<ProposalOutcome> {
  const origin = deps.ledger.origin ?? "";
  const ownLogKey = verifierKey(origin, fromBase64(deps.signer.publicKey));
  const peerOf = (o: string): FederationIdentity | undefined =>
    o === peer.origin ? peer : undefined;
  let proposal;
  try {
    proposal = buildFederationProposal(
      {
        self: { origin, logKey: ownLogKey, witnessKey: deps.witnessKey },
        peer: {
          origin: peer.origin,
          logKey: peer.logKeys[0] ?? "",
          witnessKey: peer.witnessKey ?? "",
        },
        ...pair,
      },
      deps.signer,
      deps.clock,
    );
  } catch (err) {
    if (!(err instanceof FederationReceiptFormatError)) throw err;
    return { ok: false, reason: ProposalReason.Malformed, field: err.field, message: err.message };
  }
  const payload = parseFederationPayload(proposal.receipt.payload);
  const own = checkFederationPayload(payload, await federationCheckView(deps, peerOf, payload));
  if (!own.ok)
    return {
      ok: false,
      reason: own.reason,
      field: own.field,
      message: `this side: ${own.message}`,
    };
  const answer = await postJson(
    deps,
    new URL("v1/federation/receipts", withSlash(peerUrl)).href,
    proposal,
    signal,
  );
  if (!answer.ok) return answer;
  let acceptance;
  try {
    acceptance = parseFederationAcceptance(answer.json);
  } catch (err) {
    if (!(err instanceof FederationReceiptFormatError)) throw err;
    return {
      ok: false,
      reason: ProposalReason.Malformed,
      field: err.field,
      message: `the peer's acceptance: ${err.message}`,
    };
  }
  const view = await federationCheckView(
    deps,
    peerOf,
    parseFederationPayload(acceptance.receipt.payload, "receipt.payload"),
  );
  const checked = checkFederationAcceptance(acceptance, view);
  if (!checked.ok)
    return {
      ok: false,
      reason: checked.reason,
      field: checked.field,
      message: `the peer's receipt: ${checked.message}`,
    };
  const appended = await deps.ledger.append(checked.input);
  return {
    ok: true,
    digest: appended.receipt.digest,
    mergedRoot: checked.payload.merge.root,
    local: appended.entry,
    peer: acceptance.entry,
  };
}

const withSlash = (u: string): string => (u.endsWith("/") ? u : `${u}/`);

type Answer =
  { readonly ok: true; readonly json: unknown } | Extract<ProposalOutcome, { ok: false }>;

async function postJson(
  deps: ProposerDeps,
  url: string,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  let status: number;
  let text: string;
  try {
    ({ status, text } = await peerRequest(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
      {
        timeoutMs: deps.timeoutMs ?? 10_000,
        maxBodyBytes: MAX_ANSWER_BYTES,
        fetch: deps.fetch ?? (deps.caBundle === undefined ? fetch : caFetch(deps.caBundle)),
      },
      signal,
    ));
  } catch (err) {
    if (!isPeerHttpError(err)) throw err;
    return {
      ok: false,
      reason: ProposalReason[err.reason],
      message: err.message,
      ...(err.status === undefined ? {} : { status: err.status }),
    };
  }
  return readAnswer(url, status, text);
}

function readAnswer(url: string, status: number, text: string): Answer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status === 200) {
    return json === undefined
      ? {
          ok: false,
          reason: ProposalReason.Malformed,
          field: "acceptance",
          message: `${url} answered 200 with no JSON`,
        }
      : { ok: true, json };
  }
  if (status >= 500)
    return {
      ok: false,
      reason: ProposalReason.Unreachable,
      status,
      message: `${url} answered HTTP ${status}`,
    };
  const problem = (json ?? {}) as Partial<FederationProblem>;
  return {
    ok: false,
    reason: ProposalReason.Refused,
    status,
    ...(typeof problem.reason === "string" ? { peerReason: problem.reason } : {}),
    ...(typeof problem.field === "string" ? { field: problem.field } : {}),
    message: `the peer refused the proposal (HTTP ${status}): ${String(problem.detail ?? text.slice(0, 200))}`,
  };
}
