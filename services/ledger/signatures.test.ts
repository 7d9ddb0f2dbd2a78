import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { canonicalJson, fromBase64, toBase64, type JsonValue } from "./canonical-json.ts";
import {
  formatCheckpoint,
  parseCheckpoint,
  signNote,
  verifierKey,
  verifyNote,
} from "./checkpoint.ts";
import { fixedClock } from "./clock.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";
import { generateOpenPgpKey, openPgpSigner, verifyOpenPgpDetached } from "./openpgp-keys.ts";
import {
  canonicalParts,
  createReceipt,
  digestMatches,
  parseReceipt,
  receiptDigest,
  signReceipt,
  verifyReceiptSignatures,
} from "./receipt.ts";

const signer = ed25519Signer(generateEd25519().privateKeyPem);
const trusted = new Map([[signer.keyId, signer.publicKey]]);
const clock = fixedClock("2026-02-03T04:05:06.789Z");

describe("RFC 8785 canonical JSON", () => {
  it("matches the RFC's own example", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    const want =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalJson(input)).toBe(want);
  });

  it.each([
    ["NaN", { a: Number.NaN }, /\$\.a: number must be finite/],
    ["undefined", { a: [1, undefined] }, /\$\.a\[1\]: undefined is not JSON/],
    ["a Date", { when: new Date(0) }, /\$\.when: non-plain object/],
  ])("refuses %s naming the path", (_n, value, want) => {
    expect(() => canonicalJson(value)).toThrow(want);
  });

  it("is independent of key order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return canonicalJson(obj) === canonicalJson(reversed);
      }),
    );
  });
});

describe("receipts", () => {
  const input = {
    type: "workload.completed",
    subject: { kind: "GPUWorkload", uid: "u-1" },
    payload: { attempt: 1, outcome: "Succeeded" },
  };

  it("signs a receipt whose digest depends only on what it stands for", () => {
    const a = createReceipt(input, signer, clock);
    const b = createReceipt(
      { ...input, payload: { outcome: "Succeeded", attempt: 1 } },
      signer,
      fixedClock("2030-01-01T00:00:00Z"),
    );
    expect(a.digest).toBe(b.digest);
    expect(a.digest).toBe(receiptDigest(input));
    expect(a.issuedAt).toBe("2026-02-03T04:05:06.789Z");
    expect(verifyReceiptSignatures(a, trusted)).toEqual([{ keyId: signer.keyId, ok: true }]);
    expect(parseReceipt(JSON.parse(JSON.stringify(a)))).toEqual(a);
  });

  it.each([
    [
      "payload",
      (r: Record<string, unknown>) => ({ ...r, payload: { attempt: 2, outcome: "Succeeded" } }),
    ],
    ["issuedAt", (r: Record<string, unknown>) => ({ ...r, issuedAt: "2026-02-03T04:05:07.000Z" })],
  ])("detects a changed %s", (_field, mutate) => {
    const r = parseReceipt(mutate({ ...createReceipt(input, signer, clock) }));
    const sigOk = verifyReceiptSignatures(r, trusted)[0]?.ok;
    expect(digestMatches(r) && sigOk).toBe(false);
  });

  it("rejects signatures by untrusted keys", () => {
    const other = ed25519Signer(generateEd25519().privateKeyPem);
    const r = createReceipt(input, other, clock);
    expect(verifyReceiptSignatures(r, trusted)[0]).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not trusted/),
    });
  });

  it.each([
    [{ ...input, type: "" }, /type/],
    [{ ...input, subject: [] }, /subject/],
    [{ type: "x", subject: "s" }, /payload: required/],
  ])("refuses malformed input %#", (bad, want) => {
    expect(() => receiptDigest(bad as never)).toThrow(want);
  });
});

describe("C2SP checkpoints", () => {
  const body = formatCheckpoint({
    origin: "vaultmesh.test/log",
    size: 42,
    root: new Uint8Array(32).fill(7),
    extensions: [],
  });
  const verifier = { name: "vaultmesh.test/log", publicKey: signer.publicKey };

  it("round-trips and verifies", () => {
    const note = signNote(body, verifier.name, signer);
    expect(verifyNote(note, [verifier])).toMatchObject({ ok: true, body });
    expect(parseCheckpoint(body)).toMatchObject({ origin: "vaultmesh.test/log", size: 42 });
    expect(verifierKey(verifier.name, fromBase64(signer.publicKey))).toMatch(
      /^vaultmesh\.test\/log\+[0-9a-f]{8}\+/,
    );
  });

  it("fails on a changed size or a flipped signature bit", () => {
    const note = signNote(body, verifier.name, signer);
    expect(verifyNote(note.replace("\n42\n", "\n43\n"), [verifier]).ok).toBe(false);
    const sigB64 = note.trimEnd().split(" ").at(-1)!;
    const sig = fromBase64(sigB64);
    sig[10]! ^= 1;
    expect(verifyNote(note.replace(sigB64, toBase64(sig)), [verifier]).ok).toBe(false);
  });
});

describe("OpenPGP detached signatures", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gpg-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are accepted by gpg --verify and by our verifier, and refused after tampering", async () => {
    const keys = await generateOpenPgpKey("VaultMesh Test", "test@vaultmesh.invalid");
    const pgp = await openPgpSigner(keys.privateKeyArmored);
    const data = new TextEncoder().encode("release artifact\n");
    const sig = await pgp.signDetached(data);
    expect(await verifyOpenPgpDetached(data, sig, [keys.publicKeyArmored])).toEqual({
      ok: true,
      fingerprint: keys.fingerprint,
    });
    expect(
      (await verifyOpenPgpDetached(new TextEncoder().encode("other"), sig, [keys.publicKeyArmored]))
        .ok,
    ).toBe(false);

    const home = join(dir, "gnupg");
    execFileSync("mkdir", ["-m", "700", home]);
    writeFileSync(join(dir, "key.asc"), keys.publicKeyArmored);
    writeFileSync(join(dir, "file"), data);
    writeFileSync(join(dir, "file.asc"), sig);
    const gpg = (args: string[]): string =>
      execFileSync("gpg", ["--homedir", home, "--batch", "--status-fd", "1", ...args], {
        encoding: "utf8",
        stdio: "pipe",
      });
    gpg(["--import", join(dir, "key.asc")]);
    expect(gpg(["--verify", join(dir, "file.asc"), join(dir, "file")])).toMatch(
      new RegExp(`VALIDSIG ${keys.fingerprint}`),
    );
    writeFileSync(join(dir, "file"), "tampered\n");
    expect(() => gpg(["--verify", join(dir, "file.asc"), join(dir, "file")])).toThrow();
  });
});

describe("signReceipt's spliced canonical form", () => {
  it("is byte-identical to canonicalising each document", () => {
    const arbSubject = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.dictionary(fc.string(), fc.string(), { minKeys: 1 }),
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z.]{0,20}$/),
        arbSubject,
        fc.jsonValue(),
        (type, subject, payload) => {
          const { receipt, leafData } = signReceipt(
            { type, subject, payload: payload as JsonValue },
            signer,
            clock,
          );
          expect(new TextDecoder().decode(leafData)).toBe(canonicalJson(receipt));
          const parts = canonicalParts(receipt);
          expect(parts.digest).toBe(receipt.digest);
          expect(new TextDecoder().decode(parts.leafData)).toBe(canonicalJson(receipt));
          expect(receipt.digest).toBe(receiptDigest(receipt));
          expect(verifyReceiptSignatures(receipt, trusted)[0]?.ok).toBe(true);
        },
      ),
    );
  });
});

describe("signatures (property)", () => {
  it("any flipped bit in a receipt signature or a checkpoint signature fails verification", () => {
    const receipt = createReceipt({ type: "t", subject: "s", payload: { n: 1 } }, signer, clock);
    const body = formatCheckpoint({
      origin: "o",
      size: 3,
      root: new Uint8Array(32).fill(1),
      extensions: [],
    });
    const note = signNote(body, "o", signer);
    const noteSig = note.trimEnd().split(" ").at(-1)!;
    fc.assert(
      fc.property(fc.nat({ max: 64 * 8 - 1 }), (bit) => {
        const sig = fromBase64(receipt.signatures[0]!.value);
        sig[bit >> 3]! ^= 1 << (bit & 7);
        const bad = {
          ...receipt,
          signatures: [{ ...receipt.signatures[0]!, value: toBase64(sig) }],
        };
        expect(verifyReceiptSignatures(bad, trusted)[0]?.ok).toBe(false);
        const blob = fromBase64(noteSig);
        blob[4 + (bit >> 3)]! ^= 1 << (bit & 7); // past the 4-byte key hash
        expect(
          verifyNote(note.replace(noteSig, toBase64(blob)), [
            { name: "o", publicKey: signer.publicKey },
          ]).ok,
        ).toBe(false);
      }),
    );
  });
});
