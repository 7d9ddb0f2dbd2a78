/**
 * Store-independent verification of RFC 6962 proofs, following the algorithms of RFC 9162
 * §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). A verifier needs only hashes and sizes,
 * never the log itself.
 */
import { bytesEqual } from "./canonical-json.ts";
import { hashChildren, type Hash } from "./merkle.ts";

const HASH_SIZE = 32;

/** The outcome of a proof check: `ok`, or the reason it failed. */
export type ProofResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: ProofResult = { ok: true };
function fail(reason: string): ProofResult {
  return { ok: false, reason };
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function validSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Computes the root implied by an inclusion proof, or undefined when the proof has the
 * wrong shape for (leafIndex, treeSize).
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Hash,
  proof: readonly Hash[],
): Hash | undefined {
  if (!validSize(leafIndex) || !validSize(treeSize) || leafIndex >= treeSize) return undefined;
  if (leafHash.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return undefined;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** Verifies that `leafHash` is the leaf at `leafIndex` of the tree of `treeSize` with `root`. */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Hash,
  proof: readonly Hash[],
  root: Hash,
): ProofResult {
  const got = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  if (!got) return fail(`inclusion proof has the wrong shape for leaf ${leafIndex} of ${treeSize}`);
  if (!bytesEqual(got, root)) return fail("inclusion proof does not lead to the tree head's root");
  return OK;
}

/** Parameters of {@link verifyConsistency}. */
export interface ConsistencyInput {
  readonly size1: number;
  readonly size2: number;
  readonly root1: Hash;
  readonly root2: Hash;
  readonly proof: readonly Hash[];
}

function checkTrivialConsistency(c: ConsistencyInput): ProofResult | undefined {
  if (!validSize(c.size1) || !validSize(c.size2)) return fail("tree sizes must be integers ≥ 0");
  if (c.size1 > c.size2) return fail(`size ${c.size1} is newer than ${c.size2}`);
  if (c.size1 === c.size2) {
    if (c.proof.length !== 0) return fail("equal sizes need an empty proof");
    return bytesEqual(c.root1, c.root2) ? OK : fail("equal sizes with different roots");
  }
  if (c.size1 === 0) {
    return c.proof.length === 0 ? OK : fail("a proof from the empty tree must be empty");
  }
  if (c.proof.length === 0) return fail("consistency proof is empty");
  if (c.proof.some((p) => p.length !== HASH_SIZE)) return fail("proof hash of the wrong length");
  return undefined;
}

/** Verifies that the tree (size1, root1) is a prefix of the tree (size2, root2). */
export function verifyConsistency(c: ConsistencyInput): ProofResult {
  const trivial = checkTrivialConsistency(c);
  if (trivial) return trivial;
  const path = [...c.proof];
  // A power-of-two first tree is itself a node of the second, so its root starts the path.
  if (Number.isInteger(Math.log2(c.size1))) path.unshift(c.root1);
  let fn = c.size1 - 1;
  let sn = c.size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const p of path.slice(1)) {
    if (sn === 0) return fail("consistency proof is too long");
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(p, fr);
      sr = hashChildren(p, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hashChildren(sr, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail("consistency proof is too short");
  if (!bytesEqual(fr, c.root1)) return fail("consistency proof does not lead to the first root");
  if (!bytesEqual(sr, c.root2)) return fail("consistency proof does not lead to the second root");
  return OK;
}
