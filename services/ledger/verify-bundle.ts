/**
 * verify-full for a proof bundle: checks each link of receipt → leaf → inclusion proof →
 * signed tree head → OpenPGP signature → RFC 3161 token, offline, against pinned keys
 * (`trust`) or, failing that, the keys the bundle carries (reported as unpinned).
 */
import { verifyTimeStampResponse } from "../tsa/rfc3161-verify.ts";
import { canonicalBytes, fromBase64, fromHex, toHex } from "./canonical-json.ts";
import { readSignedCheckpoint, type Checkpoint, type SignedCheckpoint } from "./checkpoint.ts";
import type { ProofBundle } from "./bundle.ts";
import { hashLeaf } from "./merkle.ts";
import { verifyInclusion } from "./merkle-verify.ts";
import { verifyOpenPgpDetached } from "./openpgp-keys.ts";
import { digestMatches, verifyReceiptSignatures } from "./receipt.ts";
import type { TrustBundle } from "./trust-bundle.ts";
import { fail, failCoded, pass, report, type Check, type VerifyReport } from "./verify-report.ts";

const short = (id: string): string => id.slice(0, 16);

/** Checks the receipt's digest and every signature on it. */
export function receiptChecks(b: Pick<ProofBundle, "receipt">, trust: TrustBundle): Check[] {
  const keys = new Map(trust.ed25519.map((k) => [k.keyId, k.publicKey]));
  const checks = [
    digestMatches(b.receipt)
      ? pass("receipt digest", b.receipt.digest)
      : fail("receipt digest", "digest does not match the receipt's type, subject and payload"),
  ];
  for (const s of verifyReceiptSignatures(b.receipt, keys)) {
    const link = `receipt signature (Ed25519 ${short(s.keyId)})`;
    checks.push(s.ok ? pass(link, "valid") : fail(link, s.reason ?? "invalid"));
  }
  return checks;
}

function treeHeadChecks(
  b: ProofBundle,
  trust: TrustBundle,
): { checks: Check[]; checkpoint?: Checkpoint; body?: Uint8Array } {
  let head: SignedCheckpoint;
  try {
    head = readSignedCheckpoint(b.treeHead.checkpoint, trust);
  } catch (err) {
    return {
      checks: [fail("tree head signature", `unreadable checkpoint: ${(err as Error).message}`)],
    };
  }
  const cp = head.checkpoint;
  const check = head.signature.ok
    ? pass(
        "tree head signature",
        `checkpoint ${cp.origin} size ${cp.size} signed (Ed25519, C2SP note)`,
      )
    : fail("tree head signature", head.signature.reason);
  return { checks: [check], checkpoint: cp, body: new TextEncoder().encode(head.body) };
}

function inclusionCheck(b: ProofBundle, cp: Checkpoint | undefined, leaf: Uint8Array): Check {
  const link = "inclusion proof";
  if (!cp) return fail(link, "no readable tree head to prove inclusion in");
  if (cp.size !== b.inclusionProof.treeSize) {
    return fail(
      link,
      `proof is for tree size ${b.inclusionProof.treeSize}, the tree head has ${cp.size}`,
    );
  }
  const res = verifyInclusion(
    b.entry.logIndex,
    cp.size,
    leaf,
    b.inclusionProof.hashes.map((h) => fromHex(h)),
    cp.root,
  );
  return res.ok ? pass(link, `leaf ${b.entry.logIndex} of ${cp.size}`) : fail(link, res.reason);
}

async function stampChecks(
  b: ProofBundle,
  body: Uint8Array | undefined,
  trust: TrustBundle,
): Promise<Check[]> {
  const pgpLink = "tree head OpenPGP signature";
  const tsaLink = "RFC 3161 timestamp";
  if (!body)
    return [fail(pgpLink, "no readable tree head"), fail(tsaLink, "no readable tree head")];
  const checks: Check[] = [];
  if (!b.treeHead.openpgpSignature)
    checks.push(fail(pgpLink, "missing: the tree head was not published with OpenPGP"));
  else {
    const r = await verifyOpenPgpDetached(body, b.treeHead.openpgpSignature, trust.openpgp);
    checks.push(r.ok ? pass(pgpLink, `by ${r.fingerprint}`) : fail(pgpLink, r.reason));
  }
  if (!b.treeHead.timestampToken)
    checks.push(fail(tsaLink, "missing: the tree head has no TSA token"));
  else {
    let der: Uint8Array;
    try {
      der = fromBase64(b.treeHead.timestampToken);
    } catch {
      return [...checks, fail(tsaLink, "token is not base64")];
    }
    const r = await verifyTimeStampResponse(der, { data: body, trustedPem: trust.tsa });
    checks.push(
      r.ok
        ? pass(tsaLink, `genTime ${r.genTime.toISOString()} by ${r.tsaSubject}`)
        : failCoded(tsaLink, r.reason, r.code),
    );
  }
  return checks;
}

/** Verifies every link of a bundle. Without `pinned` trust, the bundle's own keys are used. */
export async function verifyBundle(b: ProofBundle, pinned?: TrustBundle): Promise<VerifyReport> {
  const trust = pinned ?? b.keys;
  const leaf = hashLeaf(canonicalBytes(b.receipt));
  const checks = receiptChecks(b, trust);
  checks.push(
    toHex(leaf) === b.entry.leafHash
      ? pass(
          "log entry",
          `leaf hash ${b.entry.leafHash.slice(0, 16)}… at index ${b.entry.logIndex}`,
        )
      : fail("log entry", "leaf hash does not match the receipt"),
  );
  const head = treeHeadChecks(b, trust);
  checks.push(inclusionCheck(b, head.checkpoint, leaf), ...head.checks);
  checks.push(...(await stampChecks(b, head.body, trust)));
  return report(checks, pinned !== undefined);
}
