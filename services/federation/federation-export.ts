/**
 * The federation receipt file (the seed's deliverable, `remembrancer federation export`): the
 * `FederationSynced` receipt as both ledgers logged it — one proof bundle from each, the same
 * digest, each receipt signed by its own ledger's log key — and its offline check
 * (`remembrancer federation verify`): both bundles verify-full, the digests are equal, each
 * bundle's receipt is signed by the log key its side of the payload names, both checkpoints
 * carry their log's signature and the other side's cosignature, and the merged root recomputes.
 * A failure names the link (ADR 0088).
 */
import type { ProofBundle } from "../ledger/bundle.ts";
import { BundleFormatError, exportBundle, parseBundle } from "../ledger/bundle.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { mergeTrust, type TrustBundle } from "../ledger/trust-bundle.ts";
import { verifyBundle } from "../ledger/verify-bundle.ts";
import { fail, pass, report, type Check, type VerifyReport } from "../ledger/verify-report.ts";
import {
  DEFAULT_MAX_SKEW_SECONDS,
  FEDERATION_SYNCED,
  FederationReceiptFormatError,
  parseFederationPayload,
  type FederationSyncedPayload,
} from "./federation-receipt.ts";
import { payloadParts, receiptSignedBy } from "./federation-receipt-check.ts";

/** Format tag of a {@link FederationExport} file. */
export const FEDERATION_EXPORT_FORMAT = "vaultmesh.cloud/federation-receipt-export/v1";

/** The dual-signed federation receipt with both ledgers' proof bundles. */
export interface FederationExport {
  readonly format: typeof FEDERATION_EXPORT_FORMAT;
  /** The receipt digest both ledgers hold. */
  readonly digest: string;
  /** The merged root (hex) the receipt records. */
  readonly mergedRoot: string;
  /** Each ledger's proof bundle of its receipt, in the payload's side order (by origin). */
  readonly bundles: readonly [ProofBundle, ProofBundle];
}

function payloadOf(b: ProofBundle, where: string): FederationSyncedPayload {
  if (b.receipt.type !== FEDERATION_SYNCED) {
    throw new FederationReceiptFormatError(
      `${where}.receipt.type`,
      `expected ${FEDERATION_SYNCED}`,
    );
  }
  return parseFederationPayload(b.receipt.payload, `${where}.receipt.payload`);
}

/**
 * Assembles the export from the two ledgers' bundles of one `FederationSynced` receipt (any
 * order). Throws {@link FederationReceiptFormatError} naming the field when they are not
 * bundles of the same receipt digest from the payload's two origins.
 */
export function buildFederationExport(a: ProofBundle, b: ProofBundle): FederationExport {
  const payload = payloadOf(a, "bundles[0]");
  payloadOf(b, "bundles[1]");
  if (a.receipt.digest !== b.receipt.digest) {
    throw new FederationReceiptFormatError(
      "bundles[1].receipt.digest",
      `${b.receipt.digest} is not the other ledger's ${a.receipt.digest}`,
    );
  }
  const origins = payload.sides.map((s) => s.origin);
  const sorted = a.keys.origin === origins[0] ? [a, b] : [b, a];
  for (const [i, bundle] of sorted.entries()) {
    if (bundle.keys.origin !== origins[i]) {
      throw new FederationReceiptFormatError(
        `bundles[${i}].keys.origin`,
        `expected ${origins[i]}: one bundle from each ledger of the receipt`,
      );
    }
  }
  return {
    format: FEDERATION_EXPORT_FORMAT,
    digest: a.receipt.digest,
    mergedRoot: payload.merge.root,
    bundles: [sorted[0]!, sorted[1]!],
  };
}

/** Validates an untrusted value as a {@link FederationExport} (shape only). */
export function parseFederationExport(value: unknown): FederationExport {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FederationReceiptFormatError("export", "expected a JSON object");
  }
  const v = value as Record<string, unknown>;
  if (v.format !== FEDERATION_EXPORT_FORMAT) {
    throw new FederationReceiptFormatError("format", `expected ${FEDERATION_EXPORT_FORMAT}`);
  }
  if (typeof v.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(v.digest)) {
    throw new FederationReceiptFormatError("digest", "expected sha256:<64 hex>");
  }
  if (typeof v.mergedRoot !== "string" || !/^[0-9a-f]{64}$/.test(v.mergedRoot)) {
    throw new FederationReceiptFormatError("mergedRoot", "expected 64 lowercase hex digits");
  }
  if (!Array.isArray(v.bundles) || v.bundles.length !== 2) {
    throw new FederationReceiptFormatError("bundles", "expected the two ledgers' proof bundles");
  }
  const bundles = v.bundles.map((b: unknown, i) => {
    try {
      return parseBundle(b);
    } catch (err) {
      if (err instanceof BundleFormatError) {
        throw new FederationReceiptFormatError(`bundles[${i}]`, err.message);
      }
      throw err;
    }
  });
  return {
    format: FEDERATION_EXPORT_FORMAT,
    digest: v.digest,
    mergedRoot: v.mergedRoot,
    bundles: [bundles[0]!, bundles[1]!],
  };
}

/**
 * Writes the export of the receipt `digest`: this ledger's proof bundle (published tree head,
 * as `exportBundle` makes it) and the peer's (from its `GET /v1/bundles/:digest`).
 */
export async function exportFederationReceipt(
  ledger: Ledger,
  digest: string,
  peerBundle: ProofBundle,
): Promise<FederationExport> {
  return buildFederationExport(await exportBundle(ledger, { digest }), peerBundle);
}

/** Options of {@link verifyFederationExport}. */
export interface VerifyFederationOptions {
  /**
   * Trust bundles to pin, matched to the sides by their `origin`; bundles without an origin
   * (TSA certificates, OpenPGP keys) apply to both. A side without a pinned bundle is checked
   * with the keys its bundle carries, and the report says so (`pinned: false`).
   */
  readonly trust?: readonly TrustBundle[];
  /** Cosignatures may be dated at most `maxSkewSeconds` after this. */
  readonly now: Date;
  readonly maxSkewSeconds?: number;
}

function pinnedFor(origin: string, trust: readonly TrustBundle[]): TrustBundle | undefined {
  const own = trust.filter((t) => t.origin === origin);
  if (own.length === 0) return undefined;
  return mergeTrust(...own, ...trust.filter((t) => t.origin === undefined));
}

async function sideChecks(
  bundle: ProofBundle,
  side: FederationSyncedPayload["sides"][number],
  pinned: TrustBundle | undefined,
): Promise<Check[]> {
  const o = side.origin;
  // Whose bundle this is: its tree head's origin line and the keys it carries both say.
  const head = bundle.treeHead.checkpoint;
  const origin = head.slice(0, Math.max(0, head.indexOf("\n")));
  const checks: Check[] = [
    origin === o && bundle.keys.origin === o
      ? pass(`${o}: ledger`, `bundle of the ledger with origin ${o}`)
      : fail(`${o}: ledger`, `the bundle is from ${JSON.stringify(origin)}, not ${o}`),
  ];
  const r = await verifyBundle(bundle, pinned);
  for (const c of r.checks) checks.push({ ...c, link: `${o}: ${c.link}` });
  const signed = receiptSignedBy(bundle.receipt, [side.logKey]);
  checks.push(
    signed.ok
      ? pass(`${o}: receipt signed by its log key`, `Ed25519 ${signed.keyId.slice(0, 16)}`)
      : fail(`${o}: receipt signed by its log key`, signed.message),
  );
  return checks;
}

/**
 * Verifies an export offline, every link a check: the same digest in both bundles (and the
 * file's), each bundle verify-full against its pinned (or carried) keys and signed by the log
 * key its side names, both checkpoints signed and cosigned, the merged root recomputed.
 */
export async function verifyFederationExport(
  x: FederationExport,
  opts: VerifyFederationOptions,
): Promise<VerifyReport> {
  const trust = opts.trust ?? [];
  const [a, b] = x.bundles;
  const same = a.receipt.digest === b.receipt.digest && a.receipt.digest === x.digest;
  const checks: Check[] = [
    same
      ? pass("same receipt digest", `${x.digest} in both ledgers`)
      : fail(
          "same receipt digest",
          `file ${x.digest}, bundles ${a.receipt.digest} and ${b.receipt.digest}`,
        ),
  ];
  let payload: FederationSyncedPayload;
  try {
    payload = payloadOf(a, "bundles[0]");
  } catch (err) {
    return report([...checks, fail("federation payload", (err as Error).message)], false);
  }
  checks.push(
    pass("federation payload", `${payload.sides[0].origin} ⇄ ${payload.sides[1].origin}`),
  );
  const pins = payload.sides.map((s) => pinnedFor(s.origin, trust));
  for (const i of [0, 1] as const) {
    checks.push(...(await sideChecks(x.bundles[i], payload.sides[i], pins[i])));
  }
  for (const p of payloadParts(
    payload,
    opts.now,
    opts.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS,
  )) {
    checks.push(p.ok ? pass(p.link, p.detail) : fail(p.link, p.detail));
  }
  checks.push(
    payload.merge.root === x.mergedRoot
      ? pass("stated merged root", x.mergedRoot)
      : fail(
          "stated merged root",
          `the file says ${x.mergedRoot}, the receipt ${payload.merge.root}`,
        ),
  );
  return report(
    checks,
    pins.every((p) => p !== undefined),
  );
}
