import { describe, expect, it } from "@jest/globals";
import {
  copyEntriesOutSql,
  decodeCopiedEntries,
  encodeEntries,
  encodeNodes,
} from "./snapshot-copy.ts";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

const int16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const int64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const field = (b: Buffer): Buffer => Buffer.concat([int32(b.length), b]);
/** PostgreSQL's timestamptz binary value: microseconds since 2000-01-01 UTC. */
const pgMicros = (iso: string): bigint =>
  BigInt(Date.parse(iso) - Date.parse("2000-01-01T00:00:00Z")) * 1000n;

describe("binary COPY encoding (ADR 0145)", () => {
  it("encodes entry tuples field by field, UTF-8 text and times before 2000 included", () => {
    const row = {
      logIndex: 2 ** 40 + 7,
      leafHash: new Uint8Array(32).fill(1),
      digest: new Uint8Array(32).fill(2),
      type: "deploy",
      subject: "café ✓",
      issuedAt: new Date("1999-12-31T23:59:59.999Z"),
      appendedAt: new Date("2026-12-03T16:54:09.123Z"),
      receiptBytes: new Uint8Array(Buffer.from('{"a":1}')),
    };
    const want = Buffer.concat([
      HEADER,
      int16(8),
      field(int64(BigInt(row.logIndex))),
      field(Buffer.from(row.leafHash)),
      field(Buffer.from(row.digest)),
      field(Buffer.from("deploy")),
      field(Buffer.from("café ✓", "utf8")),
      field(int64(pgMicros("1999-12-31T23:59:59.999Z"))),
      field(int64(pgMicros("2026-12-03T16:54:09.123Z"))),
      field(Buffer.from('{"a":1}')),
      TRAILER,
    ]);
    expect(encodeEntries([row])).toEqual(want);
    expect(encodeEntries([])).toEqual(Buffer.concat([HEADER, TRAILER]));
  });

  it("encodes tree nodes as (smallint, bigint, bytea)", () => {
    const hash = new Uint8Array(32).fill(9);
    const want = Buffer.concat([
      HEADER,
      int16(3),
      field(int16(3)),
      field(int64(5n)),
      field(Buffer.from(hash)),
      TRAILER,
    ]);
    expect(encodeNodes([{ level: 3, index: 5, hash }])).toEqual(want);
  });

  it("decodes the (log_index, appended_at, receipt) COPY output, times truncated to ms", () => {
    const tuple = (i: bigint, micros: bigint, receipt: string): Buffer =>
      Buffer.concat([int16(3), field(int64(i)), field(int64(micros)), field(Buffer.from(receipt))]);
    const buf = Buffer.concat([
      HEADER,
      tuple(0n, pgMicros("2026-12-03T16:54:09.123Z") + 999n, '{"x":"é"}'),
      tuple(1n, pgMicros("1999-12-31T23:59:59.999Z") + 456n, "{}"),
      TRAILER,
    ]);
    const rows = decodeCopiedEntries(buf);
    expect(rows.map((r) => [r.logIndex, r.appendedAt.toISOString(), r.receipt.toString()])).toEqual(
      [
        [0, "2026-12-03T16:54:09.123Z", '{"x":"é"}'],
        [1, "1999-12-31T23:59:59.999Z", "{}"],
      ],
    );
  });

  it.each<[string, Buffer]>([
    ["not a COPY stream", Buffer.from("log_index\tappended_at\n")],
    ["a tuple of another shape", Buffer.concat([HEADER, int16(2), field(int64(1n)), TRAILER])],
    [
      "a null receipt",
      Buffer.concat([HEADER, int16(3), field(int64(1n)), field(int64(0n)), int32(-1), TRAILER]),
    ],
  ])("refuses %s", (_what, buf) => {
    expect(() => decodeCopiedEntries(buf)).toThrow(/^COPY of ledger_entries: /);
  });

  it("builds the COPY TO statement for integer ranges only", () => {
    expect(copyEntriesOutSql(10, 20)).toMatch(/log_index >= 10 AND log_index < 20 ORDER BY/);
    expect(() => copyEntriesOutSql(0.5, 2)).toThrow(RangeError);
  });
});
