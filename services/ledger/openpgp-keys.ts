/**
 * OpenPGP (RFC 4880 v4 keys, EdDSA over Ed25519) detached, armored signatures: the seed's
 * GPG-compatible path. Used on artifacts the CLI signs and on published tree heads, never per
 * receipt (OpenPGP.js signs ~17× slower than node:crypto Ed25519). v4 "legacy" EdDSA keys
 * are chosen because GnuPG 2.2, still the Debian stable default, cannot read v6 keys.
 */
import * as openpgp from "openpgp";

/** A generated OpenPGP key pair, armored, with its fingerprint (upper-case hex). */
export interface OpenPgpKeyPair {
  readonly privateKeyArmored: string;
  readonly publicKeyArmored: string;
  readonly fingerprint: string;
}

/** Generates an EdDSA signing key (no passphrase: it lives in a 0600 file or a Secret). */
export async function generateOpenPgpKey(name: string, email: string): Promise<OpenPgpKeyPair> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email }],
    format: "armored",
  });
  const key = await openpgp.readKey({ armoredKey: publicKey });
  return {
    privateKeyArmored: privateKey,
    publicKeyArmored: publicKey,
    fingerprint: key.getFingerprint().toUpperCase(),
  };
}

/** Signs bytes with an OpenPGP key, producing detached armored signatures. */
export interface OpenPgpSigner {
  readonly fingerprint: string;
  readonly publicKeyArmored: string;
  signDetached(data: Uint8Array): Promise<string>;
}

/** Builds a signer from an armored, unencrypted private key. */
export async function openPgpSigner(privateKeyArmored: string): Promise<OpenPgpSigner> {
  const key = await openpgp.readPrivateKey({ armoredKey: privateKeyArmored });
  if (!key.isDecrypted()) throw new Error("the OpenPGP private key is passphrase-protected");
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    publicKeyArmored: key.toPublic().armor(),
    async signDetached(data: Uint8Array): Promise<string> {
      const message = await openpgp.createMessage({ binary: data });
      const armored: unknown = await openpgp.sign({
        message,
        signingKeys: key,
        detached: true,
        format: "armored",
      });
      if (typeof armored !== "string") throw new Error("openpgp.sign returned no armored text");
      return armored;
    },
  };
}

/** The outcome of a detached-signature check. */
export type OpenPgpVerifyResult =
  | { readonly ok: true; readonly fingerprint: string }
  | { readonly ok: false; readonly reason: string };

/** Verifies a detached armored signature over `data` against any of the given public keys. */
export async function verifyOpenPgpDetached(
  data: Uint8Array,
  armoredSignature: string,
  publicKeysArmored: readonly string[],
): Promise<OpenPgpVerifyResult> {
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch (err) {
    return { ok: false, reason: `unreadable OpenPGP signature: ${(err as Error).message}` };
  }
  const keys: openpgp.PublicKey[] = [];
  for (const armoredKey of publicKeysArmored) {
    try {
      keys.push(await openpgp.readKey({ armoredKey }));
    } catch {
      // A malformed trusted key cannot vouch for anything; the others still can.
    }
  }
  if (keys.length === 0) return { ok: false, reason: "no usable OpenPGP public key" };
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature, verificationKeys: keys });
  const first = result.signatures[0];
  if (!first) return { ok: false, reason: "the signature block holds no signature" };
  try {
    await first.verified;
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const signer = keys.find((k) => k.getKeys(first.keyID).length > 0);
  return { ok: true, fingerprint: signer?.getFingerprint().toUpperCase() ?? first.keyID.toHex() };
}

/** Fingerprint (upper-case hex) of an armored public key, or undefined when unreadable. */
export async function openPgpFingerprint(publicKeyArmored: string): Promise<string | undefined> {
  try {
    return (await openpgp.readKey({ armoredKey: publicKeyArmored })).getFingerprint().toUpperCase();
  } catch {
    return undefined;
  }
}
