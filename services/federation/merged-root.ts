/**
 * The merged root of two federated ledgers (docs/federation.md, "The merged root"): the
 * RFC 6962 Merkle tree hash over the exact bytes of the two checkpoint bodies of one agreed
 * pair, ordered by origin (byte-wise on UTF-8), as two leaves:
 *
 *   MTH([body_first, body_second]) = SHA-256(0x01 || SHA-256(0x00 || body_first) || SHA-256(0x00 || body_second))
 *
 * Both sides compute it from the notes alone, so it is identical on both; it commits to both
 * full log prefixes (each body carries its log's size and root); anyone can recompute it from a
 * federation receipt. Merging the logs' entries into one tree instead could not stay
 * append-only: the two logs have no common order and successive merges no consistency proof.
 */
import { parseCheckpoint, type Checkpoint } from "../ledger/checkpoint.ts";
import { hashChildren, hashLeaf, type Hash } from "../ledger/merkle.ts";

const encoder = new TextEncoder();

/** Thrown when two checkpoints cannot be merged; the message names the problem. */
export class MergeError extends Error {
  override readonly name = "MergeError";
}

/** The merged root and the pair in the order it was computed. */
export interface MergedRoot {
  readonly root: Hash;
  /** The two checkpoint bodies, ordered by origin: leaf 0 and leaf 1. */
  readonly leaves: readonly [string, string];
  readonly checkpoints: readonly [Checkpoint, Checkpoint];
}

/**
 * Computes the merged root of two checkpoint bodies (note text without signatures). Throws
 * {@link MergeError} when a body is unreadable or both carry the same origin — two logs with
 * one origin are indistinguishable, so such a pair is refused, never merged.
 */
export function mergedRoot(a: string, b: string): MergedRoot {
  const read = (body: string, which: string): Checkpoint => {
    try {
      return parseCheckpoint(body);
    } catch (err) {
      throw new MergeError(`${which} checkpoint: ${(err as Error).message}`);
    }
  };
  const ca = read(a, "first");
  const cb = read(b, "second");
  const order = Buffer.compare(encoder.encode(ca.origin), encoder.encode(cb.origin));
  if (order === 0) {
    throw new MergeError(
      `both checkpoints have the origin ${JSON.stringify(ca.origin)}: a peer must have its own`,
    );
  }
  const [first, second] = order < 0 ? [a, b] : [b, a];
  const [c1, c2] = order < 0 ? [ca, cb] : [cb, ca];
  return {
    root: hashChildren(hashLeaf(encoder.encode(first)), hashLeaf(encoder.encode(second))),
    leaves: [first, second],
    checkpoints: [c1, c2],
  };
}
