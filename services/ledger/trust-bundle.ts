/**
 * Trust bundles: the public keys a verifier accepts — Ed25519 receipt and tree-head keys,
 * OpenPGP keys, TSA CA certificates — and the log origin their checkpoints carry.
 * `remembrancer keygen` writes one; `verify-full --trust` reads it (or PEM/armored key files).
 */
import { readFileSync } from "node:fs";
import { ed25519KeyId } from "./ed25519.ts";
import { fromBase64 } from "./canonical-json.ts";

/** Format tag of a trust bundle file. */
export const TRUST_FORMAT = "vaultmesh.cloud/trust-bundle/v1";

/** One trusted Ed25519 key. */
export interface TrustedEd25519Key {
  readonly keyId: string;
  /** Raw 32-byte public key, base64. */
  readonly publicKey: string;
}

/** The keys a verifier accepts. */
export interface TrustBundle {
  readonly format: typeof TRUST_FORMAT;
  /** Checkpoint origin (and signed-note key name) of the log. */
  readonly origin?: string;
  readonly ed25519: readonly TrustedEd25519Key[];
  /** Armored OpenPGP public keys. */
  readonly openpgp: readonly string[];
  /** PEM certificates of trusted TSAs or their CAs. */
  readonly tsa: readonly string[];
}

/** Thrown when a trust file is malformed; the message names the field. */
export class TrustFormatError extends Error {
  override readonly name = "TrustFormatError";
}

/** An empty bundle. */
export function emptyTrust(): TrustBundle {
  return { format: TRUST_FORMAT, ed25519: [], openpgp: [], tsa: [] };
}

function strings(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new TrustFormatError(`${field}: expected an array of strings`);
  }
  return v as string[];
}

/** Validates an untrusted value as a {@link TrustBundle}; key IDs must match their keys. */
export function parseTrustBundle(value: unknown, where = "trust bundle"): TrustBundle {
  if (typeof value !== "object" || value === null)
    throw new TrustFormatError(`${where}: expected an object`);
  const v = value as Record<string, unknown>;
  if (v.format !== TRUST_FORMAT)
    throw new TrustFormatError(`${where}.format: expected ${TRUST_FORMAT}`);
  if (v.origin !== undefined && typeof v.origin !== "string")
    throw new TrustFormatError(`${where}.origin: expected a string`);
  const ed = v.ed25519 ?? [];
  if (!Array.isArray(ed)) throw new TrustFormatError(`${where}.ed25519: expected an array`);
  const ed25519 = ed.map((k: unknown, i) => {
    const key = k as Record<string, unknown> | null;
    if (typeof key?.keyId !== "string" || typeof key.publicKey !== "string") {
      throw new TrustFormatError(`${where}.ed25519[${i}]: expected {keyId, publicKey}`);
    }
    let raw: Uint8Array;
    try {
      raw = fromBase64(key.publicKey);
    } catch {
      throw new TrustFormatError(`${where}.ed25519[${i}].publicKey: expected base64`);
    }
    if (raw.length !== 32 || ed25519KeyId(raw) !== key.keyId) {
      throw new TrustFormatError(
        `${where}.ed25519[${i}]: keyId is not the fingerprint of publicKey`,
      );
    }
    return { keyId: key.keyId, publicKey: key.publicKey };
  });
  return {
    format: TRUST_FORMAT,
    ...(typeof v.origin === "string" ? { origin: v.origin } : {}),
    ed25519,
    openpgp: strings(v.openpgp, `${where}.openpgp`),
    tsa: strings(v.tsa, `${where}.tsa`),
  };
}

/** Merges bundles (first origin wins; duplicate keys collapse). */
export function mergeTrust(...bundles: readonly TrustBundle[]): TrustBundle {
  const ed = new Map<string, TrustedEd25519Key>();
  for (const b of bundles) for (const k of b.ed25519) ed.set(k.keyId, k);
  const origin = bundles.find((b) => b.origin)?.origin;
  return {
    format: TRUST_FORMAT,
    ...(origin ? { origin } : {}),
    ed25519: [...ed.values()],
    openpgp: [...new Set(bundles.flatMap((b) => b.openpgp))],
    tsa: [...new Set(bundles.flatMap((b) => b.tsa))],
  };
}

/**
 * Reads trust files: a JSON trust bundle, a PEM certificate file (TSA anchors) or an armored
 * OpenPGP public key. Throws {@link TrustFormatError} naming the file otherwise.
 */
export function loadTrustFiles(paths: readonly string[]): TrustBundle {
  return mergeTrust(
    ...paths.map((p) => {
      let text: string;
      try {
        text = readFileSync(p, "utf8");
      } catch (err) {
        throw new TrustFormatError(
          `cannot read trust file ${p}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
        );
      }
      if (!text.trimStart().startsWith("{")) {
        if (text.includes("-----BEGIN CERTIFICATE-----")) return { ...emptyTrust(), tsa: [text] };
        if (text.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
          return { ...emptyTrust(), openpgp: [text] };
        }
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new TrustFormatError(
          `${p}: not a trust bundle, PEM certificate or OpenPGP public key`,
        );
      }
      return parseTrustBundle(json, p);
    }),
  );
}
