/**
 * The checks of a `FederationSynced` receipt (issue 11, ADR 0088): every self-contained part of
 * a payload ({@link payloadParts}: keys, log signatures, cosignatures, sizes and roots, merged
 * root), the pinning of this ledger's and the peer's keys, and the acceptor's and proposer's
 * checks of a signed receipt ({@link checkFederationProposal},
 * {@link checkFederationAcceptance}). Pure (no I/O, no clock reads); the payload, its parsing
 * and its building are in federation-receipt.ts.
 */
import { fromBase64, toBase64, toHex } from "../ledger/canonical-json.ts";
import { COSIGNATURE_V1_ALG, ED25519_NOTE_ALG, parseVerifierKey } from "../ledger/checkpoint.ts";
import { ed25519KeyId } from "../ledger/ed25519.ts";
import {
  digestMatches,
  receiptDigest,
  verifyReceiptSignatures,
  type Receipt,
} from "../ledger/receipt.ts";
import { CosignatureReason, verifyCosignedCheckpoint, type TrustedWitness } from "./cosignature.ts";
import {
  assemblePayload,
  DEFAULT_MAX_SKEW_SECONDS,
  federationReceiptInput,
  FederationReceiptReason,
  noteBody,
  parseFederationPayload,
  type FederationAcceptance,
  type FederationCheck,
  type FederationCheckView,
  type FederationProposal,
  type FederationRefusal,
  type FederationSide,
  type FederationSyncedPayload,
  type PayloadPart,
} from "./federation-receipt.ts";

const R = FederationReceiptReason;

interface SideKeys {
  readonly logPublicKey: string;
  readonly witness: TrustedWitness;
}

/** The two keys a side states, parsed; a failing part when they are not what they claim. */
function sideKeys(side: FederationSide, field: string): SideKeys | PayloadPart {
  const bad = (f: string, detail: string): PayloadPart => ({
    link: `keys of ${side.origin}`,
    field: `${field}.${f}`,
    ok: false,
    detail,
    reason: R.Malformed,
  });
  let log, witness;
  try {
    log = parseVerifierKey(side.logKey);
  } catch (err) {
    return bad("logKey", (err as Error).message);
  }
  try {
    witness = parseVerifierKey(side.witnessKey);
  } catch (err) {
    return bad("witnessKey", (err as Error).message);
  }
  if (log.alg !== ED25519_NOTE_ALG || log.name !== side.origin) {
    return bad("logKey", `expected a type 0x01 log key named ${JSON.stringify(side.origin)}`);
  }
  if (witness.alg !== COSIGNATURE_V1_ALG)
    return bad("witnessKey", "expected a type 0x04 cosignature/v1 key");
  if (toBase64(witness.publicKey) === toBase64(log.publicKey)) {
    return bad("witnessKey", "the witness key is the log key; a witness needs its own key");
  }
  return {
    logPublicKey: toBase64(log.publicKey),
    witness: { name: witness.name, publicKey: toBase64(witness.publicKey) },
  };
}

const COSIGNATURE_REASON: Record<CosignatureReason, FederationReceiptReason> = {
  Malformed: R.Malformed,
  BadLogSignature: R.BadLogSignature,
  BadCosignature: R.BadCosignature,
  FutureTimestamp: R.FutureTimestamp,
};

/** The log signature, the other side's cosignature and the stated size and root of one side. */
function checkpointParts(
  side: FederationSide,
  keys: SideKeys,
  other: SideKeys,
  field: string,
  time: { readonly now: Date; readonly maxSkewSeconds: number },
): PayloadPart[] {
  const { now, maxSkewSeconds } = time;
  const link = `checkpoint ${side.origin}`;
  const v = verifyCosignedCheckpoint(
    side.checkpoint,
    { origin: side.origin, publicKeys: [keys.logPublicKey] },
    [other.witness],
    now,
    maxSkewSeconds,
  );
  if (!v.ok) {
    const which =
      v.reason === CosignatureReason.BadCosignature ||
      v.reason === CosignatureReason.FutureTimestamp
        ? `cosignature by ${other.witness.name}`
        : "log signature";
    return [
      {
        link: `${link} ${which}`,
        field: `${field}.checkpoint`,
        ok: false,
        detail: v.message,
        reason: COSIGNATURE_REASON[v.reason],
      },
    ];
  }
  const parts: PayloadPart[] = [
    {
      link: `${link} log signature`,
      field: `${field}.checkpoint`,
      ok: true,
      detail: `size ${v.checkpoint.size} signed by ${side.origin}`,
    },
  ];
  const cosig = v.cosignatures.find((c) => c.name === other.witness.name);
  parts.push(
    cosig
      ? {
          link: `${link} cosignature by ${other.witness.name}`,
          field: `${field}.checkpoint`,
          ok: true,
          detail: `cosigned at ${new Date(cosig.timestamp * 1000).toISOString()}`,
        }
      : {
          link: `${link} cosignature by ${other.witness.name}`,
          field: `${field}.checkpoint`,
          ok: false,
          detail: `no cosignature by the other side's witness ${other.witness.name}`,
          reason: R.BadCosignature,
        },
  );
  const sizeOk = v.checkpoint.size === side.treeSize && toHex(v.checkpoint.root) === side.rootHash;
  parts.push(
    sizeOk
      ? {
          link: `${link} size and root`,
          field,
          ok: true,
          detail: `${side.treeSize} ${side.rootHash.slice(0, 16)}…`,
        }
      : {
          link: `${link} size and root`,
          field: `${field}.treeSize`,
          ok: false,
          detail: `treeSize/rootHash say ${side.treeSize} ${side.rootHash.slice(0, 16)}…, the checkpoint ${v.checkpoint.size} ${toHex(v.checkpoint.root).slice(0, 16)}…`,
          reason: R.MergedRootMismatch,
        },
  );
  return parts;
}

/** Recomputes the merged root from the two bodies and compares every stated value. */
function mergePart(payload: FederationSyncedPayload, where: string): PayloadPart {
  const link = "merged root";
  let want: FederationSyncedPayload;
  try {
    want = assemblePayload(payload.sides[0], payload.sides[1]);
  } catch (err) {
    return {
      link,
      field: `${where}.sides`,
      ok: false,
      detail: (err as Error).message,
      reason: R.MergedRootMismatch,
    };
  }
  if (want.sides[0].origin !== payload.sides[0].origin) {
    return {
      link,
      field: `${where}.sides`,
      ok: false,
      detail: "sides are not ordered by origin",
      reason: R.MergedRootMismatch,
    };
  }
  for (const i of [0, 1] as const) {
    if (want.merge.leafHashes[i] !== payload.merge.leafHashes[i]) {
      return {
        link,
        field: `${where}.merge.leafHashes[${i}]`,
        ok: false,
        detail: `leaf hash ${i} is not the hash of ${payload.sides[i].origin}'s checkpoint body`,
        reason: R.MergedRootMismatch,
      };
    }
  }
  if (want.merge.root !== payload.merge.root) {
    return {
      link,
      field: `${where}.merge.root`,
      ok: false,
      detail: `stated ${payload.merge.root.slice(0, 16)}…, recomputed ${want.merge.root.slice(0, 16)}…`,
      reason: R.MergedRootMismatch,
    };
  }
  return {
    link,
    field: `${where}.merge.root`,
    ok: true,
    detail: `${payload.merge.root} recomputed from both checkpoint bodies`,
  };
}

/**
 * Every self-contained check of a payload, in order: both sides' keys are what they claim,
 * each checkpoint is signed by its side's log key under its origin and cosigned by the other
 * side's witness (no cosignature dated after `now` + skew), stated sizes and roots match the
 * notes, and the merged root and leaf hashes recompute. Pinning (which keys are *trusted*) is
 * the caller's: the keys checked here are the ones the payload names.
 */
export function payloadParts(
  payload: FederationSyncedPayload,
  now: Date,
  maxSkewSeconds = DEFAULT_MAX_SKEW_SECONDS,
  where = "payload",
): PayloadPart[] {
  const k0 = sideKeys(payload.sides[0], `${where}.sides[0]`);
  const k1 = sideKeys(payload.sides[1], `${where}.sides[1]`);
  if ("link" in k0) return [k0];
  if ("link" in k1) return [k1];
  return [
    ...checkpointParts(payload.sides[0], k0, k1, `${where}.sides[0]`, { now, maxSkewSeconds }),
    ...checkpointParts(payload.sides[1], k1, k0, `${where}.sides[1]`, { now, maxSkewSeconds }),
    mergePart(payload, where),
  ];
}

const refuse = (
  reason: FederationReceiptReason,
  field: string,
  message: string,
): FederationRefusal => ({
  ok: false,
  reason,
  field,
  message,
});

/** Raw base64 public key of a C2SP log vkey, or undefined when it is not one. */
function logPublicKey(vkey: string): string | undefined {
  try {
    const k = parseVerifierKey(vkey);
    return k.alg === ED25519_NOTE_ALG ? toBase64(k.publicKey) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `receipt` carries a valid signature by one of `logKeys` (C2SP log vkeys; a receipt
 * signature's keyId is the SHA-256 of the raw key) and no failing signature of such a key.
 */
export function receiptSignedBy(
  receipt: Receipt,
  logKeys: readonly string[],
): { ok: true; keyId: string } | { ok: false; message: string } {
  const trusted = new Map<string, string>();
  for (const vkey of logKeys) {
    const pub = logPublicKey(vkey);
    if (pub) trusted.set(ed25519KeyId(fromBase64(pub)), pub);
  }
  const checks = verifyReceiptSignatures(receipt, trusted);
  const failed = checks.find((c) => !c.ok && trusted.has(c.keyId));
  if (failed)
    return {
      ok: false,
      message: `receipt signature by ${failed.keyId.slice(0, 16)}: ${failed.reason ?? "invalid"}`,
    };
  const good = checks.find((c) => c.ok);
  return good
    ? { ok: true, keyId: good.keyId }
    : { ok: false, message: "receipt is not signed by a pinned log key of the peer" };
}

/** Whether one side is this ledger with its keys and the other the pinned peer with its keys. */
function pinningRefusal(
  own: FederationSide,
  peer: FederationSide,
  view: FederationCheckView,
  ownField: string,
  peerField: string,
): FederationRefusal | undefined {
  if (!view.peer || view.peer.origin !== peer.origin) {
    return refuse(
      R.UnknownPeer,
      `${peerField}.origin`,
      `${JSON.stringify(peer.origin)} is not a pinned peer of this ledger`,
    );
  }
  if (!view.self.logKeys.includes(own.logKey)) {
    return refuse(R.KeyMismatch, `${ownField}.logKey`, "not a log key of this ledger");
  }
  if (own.witnessKey !== view.self.witnessKey) {
    return refuse(R.KeyMismatch, `${ownField}.witnessKey`, "not this ledger's witness key");
  }
  if (!view.peer.logKeys.includes(peer.logKey)) {
    return refuse(R.KeyMismatch, `${peerField}.logKey`, `not a pinned log key of ${peer.origin}`);
  }
  if (view.peer.witnessKey !== undefined && peer.witnessKey !== view.peer.witnessKey) {
    return refuse(
      R.KeyMismatch,
      `${peerField}.witnessKey`,
      `not the pinned witness key of ${peer.origin}`,
    );
  }
  return undefined;
}

/**
 * Checks a payload against what this ledger knows (`view`): one side is this ledger and the
 * other a pinned peer, with the pinned keys; every self-contained part ({@link payloadParts});
 * this ledger's checkpoint is a tree head it issued; the peer's is one its witness cosigned.
 * On success returns the canonical input — the peer's side replaced by the note this ledger's
 * witness stored — so both ledgers append the same digest whoever proposed. `where` prefixes
 * the field named in a refusal.
 */
export function checkFederationPayload(
  payload: FederationSyncedPayload,
  view: FederationCheckView,
  where = "payload",
): FederationCheck {
  const ownIndex = payload.sides.findIndex((s) => s.origin === view.self.origin);
  if (ownIndex < 0) {
    return refuse(
      R.UnknownPeer,
      `${where}.sides`,
      `neither side is this ledger (${view.self.origin})`,
    );
  }
  const peerIndex = 1 - ownIndex;
  const own = payload.sides[ownIndex]!;
  const peer = payload.sides[peerIndex]!;
  const ownField = `${where}.sides[${ownIndex}]`;
  const peerField = `${where}.sides[${peerIndex}]`;
  const pinning = pinningRefusal(own, peer, view, ownField, peerField);
  if (pinning) return pinning;
  const failed = payloadParts(payload, view.now, view.maxSkewSeconds, where).find((p) => !p.ok);
  if (failed)
    return refuse(failed.reason ?? R.Malformed, failed.field, `${failed.link}: ${failed.detail}`);
  const head = view.ownTreeHead;
  if (!head || head.treeSize !== own.treeSize || head.rootHash !== own.rootHash) {
    return refuse(
      R.NotOurCheckpoint,
      `${ownField}.checkpoint`,
      head
        ? `this ledger's tree head of size ${head.treeSize} has root ${head.rootHash.slice(0, 16)}…, not ${own.rootHash.slice(0, 16)}…`
        : `this ledger issued no tree head of size ${own.treeSize}`,
    );
  }
  const w = view.witnessed;
  if (
    !w ||
    w.size !== peer.treeSize ||
    w.rootHash !== peer.rootHash ||
    noteBody(w.note, "witnessed") !== noteBody(peer.checkpoint, `${peerField}.checkpoint`)
  ) {
    return refuse(
      R.NotWitnessed,
      `${peerField}.checkpoint`,
      `this ledger's witness never cosigned ${peer.origin} at size ${peer.treeSize} with root ${peer.rootHash.slice(0, 16)}…`,
    );
  }
  const canonical = assemblePayload(own, { ...peer, checkpoint: w.note });
  const recheck = payloadParts(canonical, view.now, view.maxSkewSeconds, where).find((p) => !p.ok);
  if (recheck)
    return refuse(
      recheck.reason ?? R.Malformed,
      recheck.field,
      `stored cosigned note: ${recheck.link}: ${recheck.detail}`,
    );
  return { ok: true, input: federationReceiptInput(canonical), payload: canonical };
}

/**
 * The acceptor's check of a proposal: the receipt's digest matches, the proposer (the peer)
 * signed it with a pinned log key, and the payload passes {@link checkFederationPayload}. The
 * returned input is what to append (its digest is the receipt's both ledgers end with).
 */
export function checkFederationProposal(
  proposal: FederationProposal,
  view: FederationCheckView,
): FederationCheck {
  return checkSignedReceipt(proposal.receipt, view);
}

function checkSignedReceipt(receipt: Receipt, view: FederationCheckView): FederationCheck {
  if (!digestMatches(receipt)) {
    return refuse(
      R.Malformed,
      "receipt.digest",
      "does not match the receipt's type, subject and payload",
    );
  }
  const signed = receiptSignedBy(receipt, view.peer?.logKeys ?? []);
  if (!signed.ok) return refuse(R.BadReceiptSignature, "receipt.signatures", signed.message);
  return checkFederationPayload(
    parseFederationPayload(receipt.payload, "receipt.payload"),
    view,
    "receipt.payload",
  );
}

/**
 * The proposer's check of the acceptor's answer: the acceptor's receipt is signed by the peer's
 * pinned log key, its payload passes every check from this side, and it is exactly the
 * canonical payload this side computes (the same digest). The returned input is what the
 * proposer appends.
 */
export function checkFederationAcceptance(
  acceptance: FederationAcceptance,
  view: FederationCheckView,
): FederationCheck {
  const checked = checkSignedReceipt(acceptance.receipt, view);
  if (!checked.ok) return checked;
  const receipt = acceptance.receipt;
  if (
    receipt.subject === undefined ||
    JSON.stringify(receipt.subject) !== JSON.stringify(checked.input.subject)
  ) {
    return refuse(
      R.DigestMismatch,
      "receipt.subject",
      "is not the reference to the pair of origins",
    );
  }
  const want = receiptDigest(checked.input);
  return want === receipt.digest
    ? checked
    : refuse(
        R.DigestMismatch,
        "receipt.payload",
        `the acceptor logged ${receipt.digest}, the canonical payload has ${want}`,
      );
}
