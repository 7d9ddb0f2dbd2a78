import { describe, expect, it } from "@jest/globals";
import { toHex } from "../ledger/canonical-json.ts";
import { formatCheckpoint } from "../ledger/checkpoint.ts";
import { hashChildren, hashLeaf, rootOf } from "../ledger/merkle.ts";
import { MergeError, mergedRoot } from "./merged-root.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const body = (origin: string, size: number, fill = size): string =>
  formatCheckpoint({ origin, size, root: new Uint8Array(32).fill(fill), extensions: [] });
const A = body("a.test/log", 10);
const B = body("b.test/log", 20);

describe("mergedRoot", () => {
  it("is the RFC 6962 root of the two bodies as leaves, ordered by origin", () => {
    const m = mergedRoot(A, B);
    expect(m.leaves).toEqual([A, B]);
    expect(m.root).toEqual(hashChildren(hashLeaf(enc(A)), hashLeaf(enc(B))));
    expect(m.root).toEqual(rootOf([hashLeaf(enc(A)), hashLeaf(enc(B))]));
    expect(m.checkpoints.map((c) => c.origin)).toEqual(["a.test/log", "b.test/log"]);
  });

  it("is the same whichever side computes it", () => {
    expect(toHex(mergedRoot(B, A).root)).toBe(toHex(mergedRoot(A, B).root));
    expect(mergedRoot(B, A).leaves).toEqual([A, B]);
  });

  it("orders origins byte-wise on UTF-8, not by UTF-16 code units", () => {
    // U+FF21 (UTF-8 ef bc a1) sorts after U+1F600 (f0 9f 98 80) in UTF-16 but before it in UTF-8.
    const x = body("x.test/\uff21", 1);
    const y = body("x.test/\u{1f600}", 2);
    expect(mergedRoot(y, x).leaves).toEqual([x, y]);
  });

  it.each<[string, string, string, string]>([
    ["a different size", A, body("b.test/log", 21), "size"],
    ["a different root", A, body("b.test/log", 20, 9), "root"],
    ["an extension line", A, `${B}ext\n`, "extension"],
  ])("changes with %s in either checkpoint", (_, a, b) => {
    expect(toHex(mergedRoot(a, b).root)).not.toBe(toHex(mergedRoot(A, B).root));
  });

  it.each<[string, string, string, RegExp]>([
    [
      "the same origin twice (a peer with our origin)",
      A,
      body("a.test/log", 11),
      /both checkpoints have the origin "a\.test\/log"/,
    ],
    ["an unreadable first body", "nonsense", B, /^first checkpoint: /],
    [
      "a second size past 2^53",
      A,
      "b.test/log\n9007199254740993\nAAAA\n",
      /^second checkpoint: .*refused rather than rounded/,
    ],
  ])("refuses %s", (_, a, b, want) => {
    expect(() => mergedRoot(a, b)).toThrow(MergeError);
    expect(() => mergedRoot(a, b)).toThrow(want);
  });
});
