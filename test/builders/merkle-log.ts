/**
 * An in-memory RFC 6962 log for tests: the roots and consistency proofs of the first `n`
 * leaves for every size up to `leaves`, built with the ledger's own Merkle code. Two logs whose
 * `leafText` agree on a prefix and then differ are a fork after that prefix.
 *
 *   const main = merkleLog((i) => `entry ${i}`, 64);
 *   const fork = merkleLog((i) => (i < 12 ? `entry ${i}` : `fork ${i}`), 64);
 */
import {
  consistencyRanges,
  Frontier,
  hashLeaf,
  mapLookup,
  nodeKey,
  resolveProof,
  type Hash,
} from "../../services/ledger/merkle.ts";

/** Roots and consistency proofs of an in-memory log. */
export interface MerkleLog {
  /** The root of the first `size` leaves. */
  root(size: number): Hash;
  /** The consistency proof from size `m` to size `n`. */
  proof(m: number, n: number): Hash[];
}

/** Builds a log of `leaves` leaves whose leaf `i` is the UTF-8 of `leafText(i)`. */
export function merkleLog(leafText: (i: number) => string, leaves: number): MerkleLog {
  const f = new Frontier();
  const nodes = new Map<string, Hash>();
  const roots: Hash[] = [f.root()];
  for (let i = 0; i < leaves; i++) {
    for (const node of f.append(hashLeaf(new TextEncoder().encode(leafText(i))))) {
      nodes.set(nodeKey(node), node.hash);
    }
    roots.push(f.root());
  }
  return {
    root: (size) => roots[size]!,
    proof: (m, n) => resolveProof(consistencyRanges(m, n), mapLookup(nodes)),
  };
}
