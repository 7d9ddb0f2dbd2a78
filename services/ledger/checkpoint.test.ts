import { describe, expect, it } from "@jest/globals";
import { fromBase64, toBase64 } from "./canonical-json.ts";
import {
  CheckpointFormatError,
  CheckpointSizeError,
  COSIGNATURE_V1_ALG,
  ed25519KeyVerifier,
  formatCheckpoint,
  MAX_NOTE_SIGNATURES,
  MAX_TREE_SIZE,
  NoteRefusal,
  openNote,
  parseCheckpoint,
  parseNote,
  parseTreeSize,
  parseVerifierKey,
  readSignedCheckpoint,
  signatureLine,
  signNote,
  verifierKey,
  verifyNote,
  type Checkpoint,
} from "./checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "./ed25519.ts";

const ORIGIN = "vaultmesh.test/checkpoint";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const witnessKey = ed25519Signer(generateEd25519().privateKeyPem);
const strangerKey = ed25519Signer(generateEd25519().privateKeyPem);
const root = new Uint8Array(32).fill(5);
const body = formatCheckpoint({ origin: ORIGIN, size: 10, root, extensions: [] });
const logNote = signNote(body, ORIGIN, logKey);
const trusted = { name: ORIGIN, publicKey: logKey.publicKey };
const witness = { name: "witness.test/w1", publicKey: witnessKey.publicKey };

/** The signature line `name` makes over `body` with `key`. */
const line = (name: string, key = witnessKey): string =>
  signNote(body, name, key).slice(body.length + 1);
/** `line` with one bit of its signature flipped. */
function badLine(name: string, key = witnessKey): string {
  const [dash, n, b64] = line(name, key).trimEnd().split(" ");
  const blob = fromBase64(b64!);
  blob[9]! ^= 1;
  return `${dash} ${n} ${toBase64(blob)}\n`;
}

describe("parseTreeSize", () => {
  it.each([
    ["0", 0],
    ["1", 1],
    ["4294967296", 2 ** 32],
    [String(MAX_TREE_SIZE), MAX_TREE_SIZE],
  ])("reads %s exactly", (text, want) => {
    expect(parseTreeSize(text)).toBe(want);
  });

  it.each([
    ["9007199254740992", "2^53"],
    ["9007199254740993", "2^53 + 1, which a double rounds to 2^53"],
    ["18446744073709551615", "2^64 - 1"],
  ])("refuses %s (%s) as unrepresentable, never rounding it", (text) => {
    expect(() => parseTreeSize(text)).toThrow(CheckpointSizeError);
    expect(() => parseTreeSize(text)).toThrow(/past 2\^53 - 1 .* refused rather than rounded/);
  });

  it.each([
    ["18446744073709551616", /larger than 2\^64 - 1/],
    ["99999999999999999999999", /larger than 2\^64 - 1/],
    ["007", /without leading zeros/],
    ["00", /without leading zeros/],
    ["-1", /ASCII decimal/],
    ["+1", /ASCII decimal/],
    ["1e3", /ASCII decimal/],
    [" 1", /ASCII decimal/],
    ["", /ASCII decimal/],
    ["١٢", /ASCII decimal/],
  ])("refuses %j as malformed", (text, want) => {
    let err: unknown;
    try {
      parseTreeSize(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).not.toBeInstanceOf(CheckpointSizeError);
    expect((err as Error).message).toMatch(want);
  });

  it("parseCheckpoint applies it to the size line", () => {
    const big = `${ORIGIN}\n9007199254740993\n${toBase64(root)}\n`;
    expect(() => parseCheckpoint(big)).toThrow(CheckpointSizeError);
    expect(parseCheckpoint(body)).toMatchObject({ origin: ORIGIN, size: 10, extensions: [] });
  });
});

describe("formatCheckpoint", () => {
  const ok: Checkpoint = { origin: ORIGIN, size: 1, root, extensions: [] };
  it.each<[string, Partial<Checkpoint>, RegExp]>([
    ["a size past 2^53 - 1", { size: 2 ** 53 }, /integer from 0 to 9007199254740991/],
    ["a negative size", { size: -1 }, /integer from 0/],
    ["a fractional size", { size: 1.5 }, /integer from 0/],
    ["NaN", { size: Number.NaN }, /integer from 0/],
    ["an empty origin", { origin: "" }, /origin "" must be non-empty/],
    ["an origin with a space", { origin: "a b" }, /without spaces/],
    ["an origin with a plus", { origin: "a+b" }, /plus signs/],
    ["a two-line origin", { origin: "a\nb" }, /without spaces/],
    ["a short root", { root: new Uint8Array(31) }, /32 bytes/],
    ["an empty extension", { extensions: [""] }, /extension line "" must be non-empty/],
    ["a two-line extension", { extensions: ["a\nb"] }, /one line/],
  ])("refuses %s", (_, patch, want) => {
    expect(() => formatCheckpoint({ ...ok, ...patch })).toThrow(want);
  });

  it("round-trips through parseCheckpoint, extensions included", () => {
    const c = { origin: ORIGIN, size: MAX_TREE_SIZE, root, extensions: ["x y", "z"] };
    expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
  });
});

describe("parseNote", () => {
  const sigs = (n: number): string =>
    Array.from({ length: n }, (_, i) => line(`w.test/${i}`)).join("");
  it.each<[string, string, RegExp]>([
    ["no blank line", `${body}${line("a")}`, /a body, a blank line and signatures/],
    ["no signatures", `${body}\n`, /a body, a blank line and signatures/],
    ["no final newline", logNote.slice(0, -1), /a body, a blank line and signatures/],
    ["a tab", logNote.replace(ORIGIN, `${ORIGIN}\t`), /control characters/],
    ["a carriage return", logNote.replace("\n\n", "\r\n\n"), /control characters/],
    ["a lone surrogate", logNote.replace(ORIGIN, `${ORIGIN}\ud800`), /valid text/],
    [
      "a key name with a plus",
      `${body}\n${line("a").replace("\u2014 a ", "\u2014 a+b ")}`,
      /malformed note signature line/,
    ],
    ["a line without an em dash", `${body}\n- a AAAAAAA=\n`, /malformed note signature line/],
    ["an empty signature", `${body}\n\u2014 a \n`, /malformed note signature line/],
    ["a signature under 5 bytes", `${body}\n\u2014 a AAAAAA==\n`, /too short/],
    ["a signature that is not base64", `${body}\n\u2014 a AAA\n`, /not base64/],
    [
      `${MAX_NOTE_SIGNATURES + 1} signatures`,
      `${body}\n${sigs(MAX_NOTE_SIGNATURES + 1)}`,
      /17 signatures, more than the 16 accepted/,
    ],
  ])("refuses %s", (_, text, want) => {
    expect(() => parseNote(text)).toThrow(want);
  });

  it(`accepts ${MAX_NOTE_SIGNATURES} signatures and splits on the last blank line`, () => {
    const text = `a\n\nb\n\n${sigs(MAX_NOTE_SIGNATURES)}`;
    const note = parseNote(text);
    expect(note.body).toBe("a\n\nb\n");
    expect(note.signatures).toHaveLength(MAX_NOTE_SIGNATURES);
  });
});

describe("verifyNote / openNote (signed-note verification rules)", () => {
  const lines = (...ls: string[]): string => `${body}\n${ls.join("")}`;
  const flippedLog = badLine(ORIGIN, logKey);
  it.each<[string, string, (typeof trusted)[], RegExp | true]>([
    ["the log signature alone", logNote, [trusted], true],
    ["a failing log signature", lines(flippedLog), [trusted], /signature by trusted Ed25519/],
    ["an unknown signer only", lines(line(ORIGIN, strangerKey)), [trusted], /not signed by a/],
    [
      "log + unknown signer",
      lines(line(ORIGIN, logKey), line("x.test/y", strangerKey)),
      [trusted],
      true,
    ],
    [
      "log + a bad unknown signer",
      lines(line(ORIGIN, logKey), badLine("x.test/u")),
      [trusted],
      true,
    ],
    ["log + witness", lines(line(ORIGIN, logKey), line(witness.name)), [trusted, witness], true],
    [
      "a good log signature then a failing trusted witness",
      lines(line(ORIGIN, logKey), badLine(witness.name)),
      [trusted, witness],
      /signature by trusted Ed25519 key witness\.test\/w1 \([0-9a-f]{8}\) is invalid/,
    ],
    [
      "a failing trusted witness then a good log signature",
      lines(badLine(witness.name), line(ORIGIN, logKey)),
      [trusted, witness],
      /witness\.test\/w1 .* is invalid/,
    ],
    [
      "a repeated log signature whose copy fails",
      lines(line(ORIGIN, logKey), flippedLog),
      [trusted],
      /is invalid/,
    ],
    [
      "the trusted name with another key (ignored: key hash differs)",
      lines(line(ORIGIN, logKey), line(ORIGIN, strangerKey)),
      [trusted],
      true,
    ],
  ])("%s", (_, text, keys, want) => {
    const v = verifyNote(text, keys);
    if (want === true) expect(v).toEqual({ ok: true, body, signer: keys[0]!.name });
    else expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(want) });
  });

  it("a trusted key's hash under another name is not that key", () => {
    // Same 4-byte key hash, other name: an unknown key, ignored, so the note has no trusted sig.
    const [dash, , b64] = line(ORIGIN, logKey).trimEnd().split(" ");
    expect(verifyNote(`${body}\n${dash} other.test/name ${b64}\n`, [trusted])).toMatchObject({
      ok: false,
      reason: "tree head is not signed by a trusted key",
    });
  });

  it("openNote lists every verified signature and names the note in reasons", () => {
    const text = lines(line(ORIGIN, logKey), line(witness.name));
    const opened = openNote(text, [trusted, witness].map(ed25519KeyVerifier));
    expect(opened.ok && opened.verified.map((s) => s.verifier.name)).toEqual([
      ORIGIN,
      witness.name,
    ]);
    expect(openNote(text, [], "peer checkpoint")).toEqual({
      ok: false,
      code: NoteRefusal.Untrusted,
      reason: "peer checkpoint is not signed by a trusted key",
    });
    const bad = openNote(lines(line(ORIGIN, logKey), badLine(witness.name)), [
      ed25519KeyVerifier(trusted),
      ed25519KeyVerifier(witness),
    ]);
    expect(bad).toMatchObject({ ok: false, code: NoteRefusal.BadSignature });
    expect(!bad.ok && bad.failed?.name).toBe(witness.name);
    expect(openNote("no signatures\n", [])).toMatchObject({ code: NoteRefusal.Malformed });
  });
});

describe("readSignedCheckpoint pins the origin", () => {
  const keys = { ed25519: [{ publicKey: logKey.publicKey }] };
  it("accepts the log's checkpoint under its pinned origin", () => {
    expect(readSignedCheckpoint(logNote, { ...keys, origin: ORIGIN })).toMatchObject({
      body,
      checkpoint: { origin: ORIGIN, size: 10 },
      signature: { ok: true },
    });
  });

  it.each<[string, string, { origin?: string }, string]>([
    [
      "no pinned origin, even though the checkpoint names one the key signed",
      logNote,
      {},
      "no pinned origin: the trust bundle names no log origin (field origin)",
    ],
    [
      "a checkpoint of another origin signed by the same key under that name",
      signNote(
        formatCheckpoint({ origin: "evil.test/log", size: 10, root, extensions: [] }),
        "evil.test/log",
        logKey,
      ),
      { origin: ORIGIN },
      'checkpoint origin "evil.test/log" is not the pinned origin "vaultmesh.test/checkpoint"',
    ],
    [
      "our origin signed under another key name",
      signNote(body, "evil.test/log", logKey),
      { origin: ORIGIN },
      "tree head is not signed by a trusted key",
    ],
  ])("refuses %s", (_, text, pin, reason) => {
    expect(readSignedCheckpoint(text, { ...keys, ...pin }).signature).toEqual({
      ok: false,
      reason,
    });
  });
});

describe("verifier keys (C2SP vkey)", () => {
  const raw = fromBase64(logKey.publicKey);
  it("round-trips verifierKey through parseVerifierKey, for both Ed25519 types", () => {
    for (const alg of [0x01, COSIGNATURE_V1_ALG]) {
      const k = parseVerifierKey(verifierKey(ORIGIN, raw, alg));
      expect(k).toMatchObject({ name: ORIGIN, alg, publicKey: raw });
    }
  });

  it("reads a key whose base64 contains plus signs", () => {
    const plusKey = new Uint8Array(32).fill(0xfb); // base64 of 0xfb bytes is "+/..."
    expect(verifierKey("a.test/k", plusKey)).toContain("+/");
    expect(parseVerifierKey(verifierKey("a.test/k", plusKey)).publicKey).toEqual(plusKey);
  });

  it("matches the signed-note spec's example key", () => {
    // c2sp.org/signed-note, "Verifier keys" example.
    const k = parseVerifierKey(
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    );
    expect(k).toMatchObject({ name: "example.com/foo", alg: 1 });
    expect(
      verifyNote(
        "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
        [{ name: k.name, publicKey: toBase64(k.publicKey) }],
      ),
    ).toMatchObject({ ok: true, body: "This is an example message.\n" });
  });

  const good = verifierKey(ORIGIN, raw);
  it.each<[string, string, RegExp]>([
    ["no parts", "justaname", /must be <name>\+<hex key hash>\+<base64 key>/],
    ["an empty name", `+${good.split("+").slice(1).join("+")}`, /must be <name>/],
    ["a wrong key hash", good.replace(/\+[0-9a-f]{8}\+/, "+00000000+"), /does not match the key/],
    ["an uppercase hash", good.replace(/\+([0-9a-f]{8})\+/, (m) => m.toUpperCase()), /8 hex/],
    ["a key that is not base64", `${ORIGIN}+00000000+!!!`, /key must be base64/],
    ["an ECDSA (0x02) key", verifierKey(ORIGIN, raw, 0x02), /expected an Ed25519 key/],
    ["a 31-byte key", verifierKey(ORIGIN, raw.slice(1)), /expected an Ed25519 key/],
  ])("refuses %s", (_, vkey, want) => {
    expect(() => parseVerifierKey(vkey)).toThrow(want);
  });

  it("signatureLine refuses an invalid key name", () => {
    expect(() => signatureLine("a b", new Uint8Array(4), new Uint8Array(64))).toThrow(
      /invalid note key name "a b"/,
    );
  });
});
