/**
 * Tenant API keys: `vmk_<keyId>_<secret>` with a 64-bit public key id (the lookup key) and a
 * 256-bit random secret. Only SHA-256 of the secret is stored: with 256 bits of entropy a
 * slow hash (scrypt) adds no protection against guessing, and a fast one lets the bridge
 * verify a key per request (see docs/adr/0051).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A parsed API key. `secret` is sensitive: never log it. */
export interface ApiKey {
  readonly keyId: string;
  readonly secret: string;
}

const KEY_RE = /^vmk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** Generates a fresh API key; returns its parts and the plaintext form. */
export function generateApiKey(random: (n: number) => Buffer = randomBytes): ApiKey & {
  readonly plaintext: string;
} {
  const keyId = random(8).toString("hex");
  const secret = random(32).toString("base64url");
  return { keyId, secret, plaintext: `vmk_${keyId}_${secret}` };
}

/** Parses a plaintext key, or returns undefined when it is not one (without echoing it). */
export function parseApiKey(plaintext: string): ApiKey | undefined {
  const m = KEY_RE.exec(plaintext.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return { keyId: m[1], secret: m[2] };
}

/** SHA-256 of a key's secret, as stored. */
export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedSha256: Buffer): boolean {
  const h = hashSecret(secret);
  return h.length === storedSha256.length && timingSafeEqual(h, storedSha256);
}
