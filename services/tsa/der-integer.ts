/**
 * DER INTEGERs built from random bytes (certificate serials, TSTInfo serials, request nonces).
 *
 * DER wants the shortest two's-complement form: the value must be positive (top bit of the first
 * byte clear) and the first byte must not be 0x00 (a leading zero followed by a byte below 0x80 is
 * "illegal padding" to OpenSSL). Clearing only the top bit leaves a 1-in-128 chance of a zero first
 * byte, which OpenSSL then refuses to load.
 */
import { randomBytes } from "node:crypto";

/** Returns a copy of `bytes` that encodes a positive, minimally encoded DER INTEGER of the same length. */
export function positiveIntegerBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) throw new Error("positiveIntegerBytes: need at least one byte");
  const out = Uint8Array.from(bytes);
  out[0] = (out[0]! & 0x7f) | 0x40;
  return out;
}

/** A random positive INTEGER of `length` bytes (serial numbers, nonces). */
export function randomPositiveInteger(length: number): Uint8Array {
  return positiveIntegerBytes(randomBytes(length));
}
