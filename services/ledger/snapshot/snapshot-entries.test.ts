import { describe, expect, it } from "@jest/globals";
import { fixedClock } from "../clock.ts";
import { ed25519Signer, generateEd25519 } from "../ed25519.ts";
import { hashLeaf } from "../merkle.ts";
import { signReceipt } from "../receipt.ts";
import { encodeEntries } from "./snapshot-copy.ts";
import { checkEntry, checkEntryBatch } from "./snapshot-entries.ts";
import { entryLine, jsonLine, SNAPSHOT_REFUSAL } from "./snapshot-format.ts";

const signer = ed25519Signer(generateEd25519().privateKeyPem);
const clock = fixedClock("2026-01-01T00:00:00Z", 1000);
const appendedAt = new Date("2026-01-02T00:00:00Z");
const receipts = Array.from(
  { length: 4 },
  (_, i) =>
    signReceipt({ type: "t.x", subject: `s-${i}`, payload: { v: `v1.${i}` } }, signer, clock)
      .leafData,
);
const line = (i: number, receipt = receipts[i]!): Buffer =>
  entryLine({ logIndex: i, appendedAt, receipt });
const tampered = (i: number): Buffer =>
  line(i, Buffer.from(Buffer.from(receipts[i]!).toString().replace(`v1.${i}`, "v1.9")));
const batch = (...lines: Buffer[]): Uint8Array => new Uint8Array(Buffer.concat(lines));
const header = jsonLine("header", { format: "x", keys: [] });

describe("checkEntryBatch", () => {
  it("checks every entry, notes the other lines and encodes the tuples", () => {
    const b = batch(header, line(0), line(1), jsonLine("end", {}), line(2));
    const r = checkEntryBatch(b, true);
    expect(r.lines).toBe(5);
    expect(r.problem).toBeUndefined();
    expect([...r.indexes]).toEqual([0, 1, 2]);
    expect(Buffer.from(r.leaves)).toEqual(
      Buffer.concat([0, 1, 2].map((i) => hashLeaf(receipts[i]!))),
    );
    const trailerAt = header.length + line(0).length + line(1).length;
    expect(r.others).toEqual([
      { at: 0, start: 0, end: header.length - 1 },
      { at: 3, start: trailerAt, end: trailerAt + '{"end":{}}'.length },
    ]);
    const rows = [0, 1, 2].map((i) => checkEntry(i, appendedAt, receipts[i]!));
    const stream = encodeEntries(rows);
    expect(Buffer.from(r.tuples!)).toEqual(stream.subarray(19, stream.length - 2));
  });

  it.each([
    {
      what: "a tampered entry",
      make: () => batch(line(0), tampered(1), line(2)),
      wantAt: 1,
      wantStage: "check",
      wantCode: SNAPSHOT_REFUSAL.badEntry,
      wantMessage: /^entry 1: receipt digest does not match/,
    },
    {
      what: "an unreadable receipt",
      make: () => batch(line(0), line(1), line(2, Buffer.from("{nope"))),
      wantAt: 2,
      wantStage: "check",
      wantCode: SNAPSHOT_REFUSAL.badEntry,
      wantMessage: /^entry 2: receipt is unreadable/,
    },
    {
      what: "an entry line cut short",
      make: () =>
        batch(line(0), Buffer.concat([line(1).subarray(0, 80), Buffer.from("\n")]), line(2)),
      wantAt: 1,
      wantStage: "decode",
      wantCode: SNAPSHOT_REFUSAL.malformed,
      wantMessage: /^entry 1: line is cut short/,
    },
  ])("stops at $what, reporting its line and entry", (c) => {
    // Entries 0, 1, 2 are lines 0, 1, 2: the bad line's position is its entry index.
    const r = checkEntryBatch(c.make(), false);
    expect(r.lines).toBe(c.wantAt);
    expect([...r.indexes]).toEqual(Array.from({ length: c.wantAt }, (_, i) => i));
    expect(r.tuples).toBeUndefined();
    expect(r.problem).toMatchObject({
      at: c.wantAt,
      stage: c.wantStage,
      entry: c.wantAt,
      code: c.wantCode,
    });
    expect(r.problem!.message).toMatch(c.wantMessage);
  });
});
