import { describe, expect, it } from "@jest/globals";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { fromHex, toHex } from "./canonical-json.ts";
import {
  consistencyRanges,
  EMPTY_ROOT,
  Frontier,
  hashChildren,
  hashLeaf,
  inclusionRanges,
  mapLookup,
  nodeKey,
  resolveProof,
  rootOf,
  splitPoint,
  type Hash,
} from "./merkle.ts";
import { verifyConsistency, verifyInclusion } from "./merkle-verify.ts";

// Certificate Transparency / Trillian reference vectors (RFC 6962 hashing).
const CT_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map((h) => fromHex(h));
const CT_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const H = {
  a: "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
  b: "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
  c: "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  d: "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  e: "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  f: "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
};
const CT_INCLUSION = [
  { index: 0, size: 1, want: [] },
  { index: 0, size: 8, want: [H.a, H.b, H.c] },
  { index: 5, size: 8, want: [H.d, H.e, CT_ROOTS[3]] },
  { index: 2, size: 3, want: [CT_ROOTS[1]] },
  { index: 1, size: 5, want: [CT_ROOTS[0], H.b, H.d] },
];
const CT_CONSISTENCY = [
  { size1: 1, size2: 1, want: [] },
  { size1: 1, size2: 8, want: [H.a, H.b, H.c] },
  { size1: 6, size2: 8, want: [H.f, H.e, CT_ROOTS[3]] },
  { size1: 2, size2: 5, want: [H.b, H.d] },
];

/** A whole tree in memory: every perfect node, for proof generation in tests. */
function memoryTree(leaves: readonly Hash[]): {
  lookup: ReturnType<typeof mapLookup>;
  roots: Hash[];
} {
  const nodes = new Map<string, Hash>();
  const f = new Frontier();
  const roots = [f.root()];
  for (const h of leaves) {
    for (const n of f.append(h)) nodes.set(nodeKey(n), n.hash);
    roots.push(f.root());
  }
  return { lookup: mapLookup(nodes), roots };
}

/** RFC 6962 MTH written straight from the definition, as an independent reference. */
function mth(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leafHashes = CT_LEAVES.map(hashLeaf);
const ct = memoryTree(leafHashes);

describe("RFC 6962 Merkle tree", () => {
  it("reproduces the CT reference roots", () => {
    expect(toHex(rootOf([]))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    CT_ROOTS.forEach((want, i) => expect(toHex(rootOf(leafHashes.slice(0, i + 1)))).toBe(want));
  });

  it.each(CT_INCLUSION)(
    "reproduces the CT inclusion proof for leaf $index of $size",
    ({ index, size, want }) => {
      const got = resolveProof(inclusionRanges(index, size), ct.lookup).map(toHex);
      expect(got).toEqual(want);
      const root = fromHex(CT_ROOTS[size - 1]!);
      expect(
        verifyInclusion(
          index,
          size,
          leafHashes[index]!,
          got.map((h) => fromHex(h)),
          root,
        ),
      ).toEqual({ ok: true });
    },
  );

  it.each(CT_CONSISTENCY)(
    "reproduces the CT consistency proof $size1 → $size2",
    ({ size1, size2, want }) => {
      const got = resolveProof(consistencyRanges(size1, size2), ct.lookup).map(toHex);
      expect(got).toEqual(want);
      const res = verifyConsistency({
        size1,
        size2,
        root1: fromHex(CT_ROOTS[size1 - 1]!),
        root2: fromHex(CT_ROOTS[size2 - 1]!),
        proof: got.map((h) => fromHex(h)),
      });
      expect(res).toEqual({ ok: true });
    },
  );

  it("refuses indices outside the tree", () => {
    expect(() => inclusionRanges(8, 8)).toThrow(RangeError);
    expect(verifyInclusion(0, 0, leafHashes[0]!, [], EMPTY_ROOT).ok).toBe(false);
    expect(
      verifyConsistency({ size1: 3, size2: 2, root1: EMPTY_ROOT, root2: EMPTY_ROOT, proof: [] }).ok,
    ).toBe(false);
  });
});

function flip(h: Hash, bit: number): Hash {
  const out = Uint8Array.from(h);
  out[Math.floor(bit / 8) % out.length]! ^= 1 << (bit % 8);
  return out;
}

const arbLeaves = fc
  .array(fc.uint8Array({ minLength: 0, maxLength: 8 }), { minLength: 1, maxLength: 200 })
  .map((ls) => ls.map(hashLeaf));

describe("Merkle proofs (property)", () => {
  it("hashes exactly like the @noble/hashes reference SHA-256", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (data, other) => {
          expect(toHex(hashLeaf(data))).toBe(toHex(nobleSha256(Uint8Array.of(0, ...data))));
          expect(toHex(hashChildren(other, other))).toBe(
            toHex(nobleSha256(Uint8Array.of(1, ...other, ...other))),
          );
        },
      ),
    );
  });

  it("the incremental root equals the RFC definition", () => {
    fc.assert(fc.property(arbLeaves, (ls) => toHex(rootOf(ls)) === toHex(mth(ls))));
  });

  it("every inclusion proof verifies and any flipped bit breaks it", () => {
    fc.assert(
      fc.property(arbLeaves, fc.nat(), fc.nat(), (ls, pick, bit) => {
        const n = ls.length;
        const m = pick % n;
        const { lookup, roots } = memoryTree(ls);
        const root = roots[n]!;
        const proof = resolveProof(inclusionRanges(m, n), lookup);
        expect(verifyInclusion(m, n, ls[m]!, proof, root).ok).toBe(true);
        expect(verifyInclusion(m, n, flip(ls[m]!, bit), proof, root).ok).toBe(false);
        expect(verifyInclusion(m, n, ls[m]!, proof, flip(root, bit)).ok).toBe(false);
        if (proof.length > 0) {
          const i = bit % proof.length;
          const bad = proof.map((p, j) => (j === i ? flip(p, bit) : p));
          expect(verifyInclusion(m, n, ls[m]!, bad, root).ok).toBe(false);
          expect(verifyInclusion(m, n, ls[m]!, proof.slice(1), root).ok).toBe(false);
        }
        expect(verifyInclusion(m, n, ls[m]!, [...proof, root], root).ok).toBe(false);
      }),
    );
  });

  it("every consistency proof verifies and any flipped bit breaks it", () => {
    fc.assert(
      fc.property(arbLeaves, fc.nat(), fc.nat(), (ls, pick, bit) => {
        const n = ls.length;
        const m = 1 + (pick % n);
        const { lookup, roots } = memoryTree(ls);
        const proof = resolveProof(consistencyRanges(m, n), lookup);
        const input = { size1: m, size2: n, root1: roots[m]!, root2: roots[n]!, proof };
        expect(verifyConsistency(input).ok).toBe(true);
        expect(verifyConsistency({ ...input, root1: flip(roots[m]!, bit) }).ok).toBe(false);
        expect(verifyConsistency({ ...input, root2: flip(roots[n]!, bit) }).ok).toBe(false);
        if (proof.length > 0) {
          const i = bit % proof.length;
          const bad = proof.map((p, j) => (j === i ? flip(p, bit) : p));
          expect(verifyConsistency({ ...input, proof: bad }).ok).toBe(false);
        }
      }),
    );
  });

  it("a frontier rebuilt from its nodes continues the same tree", () => {
    fc.assert(
      fc.property(arbLeaves, fc.nat(), (ls, pick) => {
        const cut = pick % (ls.length + 1);
        const a = new Frontier();
        ls.slice(0, cut).forEach((h) => a.append(h));
        const b = new Frontier(a.size, a.nodes);
        ls.slice(cut).forEach((h) => b.append(h));
        return toHex(b.root()) === toHex(rootOf(ls));
      }),
    );
  });
});
