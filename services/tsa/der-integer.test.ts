import * as asn1js from "asn1js";
import { execFileSync } from "node:child_process";
import { positiveIntegerBytes, randomPositiveInteger } from "./der-integer.ts";

describe("DER INTEGER bytes", () => {
  it("is positive and minimally encoded for every possible first byte", () => {
    for (let first = 0; first < 256; first++) {
      for (const second of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
        const out = positiveIntegerBytes(Uint8Array.from([first, second, 0x11]));
        expect(out).toHaveLength(3);
        expect(out[0]).toBeGreaterThan(0);
        expect(out[0]).toBeLessThan(0x80);
        const der = new Uint8Array(new asn1js.Integer({ valueHex: out }).toBER());
        // tag, length, then exactly the three value bytes: no padding added or needed
        expect(Array.from(der.subarray(0, 2))).toEqual([0x02, 3]);
        expect(Array.from(der.subarray(2))).toEqual(Array.from(out));
      }
    }
  });

  it("does not modify its input", () => {
    const input = Uint8Array.from([0x00, 0x05]);
    positiveIntegerBytes(input);
    expect(Array.from(input)).toEqual([0x00, 0x05]);
  });

  it("refuses an empty value", () => {
    expect(() => positiveIntegerBytes(new Uint8Array())).toThrow(/at least one byte/);
  });

  it("OpenSSL parses an INTEGER whose random first byte was zero", () => {
    const der = new asn1js.Integer({
      valueHex: positiveIntegerBytes(Uint8Array.from([0x00, 0x05, 0x06])),
    }).toBER();
    const parsed = execFileSync("openssl", ["asn1parse", "-inform", "DER"], {
      input: Buffer.from(der),
      encoding: "utf8",
    });
    expect(parsed).toMatch(/INTEGER\s+:400506/);
  });

  it("draws fresh values of the asked length", () => {
    const a = randomPositiveInteger(16);
    const b = randomPositiveInteger(16);
    expect(a).toHaveLength(16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});
