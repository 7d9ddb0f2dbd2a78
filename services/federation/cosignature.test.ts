import { describe, expect, it } from "@jest/globals";
import { fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import {
  COSIGNATURE_V1_ALG,
  formatCheckpoint,
  MAX_NOTE_SIGNATURES,
  parseVerifierKey,
  signatureLine,
  signNote,
  typedKeyHash,
  verifierKey,
} from "../ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import {
  addCosignature,
  cosignatureMessage,
  cosignatureTimestamp,
  CosignatureReason,
  createWitness,
  verifyCosignedCheckpoint,
  WitnessKeyError,
} from "./cosignature.ts";
import { flipSignatureBit } from "../../test/builders/signed-note.ts";

const ORIGIN = "vaultmesh.test/log-a";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const witnessKey = ed25519Signer(generateEd25519().privateKeyPem);
const otherWitnessKey = ed25519Signer(generateEd25519().privateKeyPem);
const witness = createWitness("vaultmesh.test/witness-b", witnessKey, [logKey.publicKey]);
const otherWitness = createWitness("vaultmesh.test/witness-c", otherWitnessKey, []);
const NOW = new Date("2026-12-03T08:00:00Z");
const T = NOW.getTime() / 1000;

const bodyOf = (size: number, origin = ORIGIN): string =>
  formatCheckpoint({ origin, size, root: new Uint8Array(32).fill(size), extensions: [] });
const logNote = (size: number): string => signNote(bodyOf(size), ORIGIN, logKey);
const cosigned = (size: number, t = T): string =>
  addCosignature(logNote(size), witness.cosign(bodyOf(size), t));
const trustedLog = { origin: ORIGIN, publicKeys: [logKey.publicKey] };
const trustedWitnesses = [
  { name: witness.name, publicKey: witness.publicKey },
  { name: otherWitness.name, publicKey: otherWitness.publicKey },
];

/** The signature line of `name` in `note`. */
const lineOf = (note: string, name: string): string =>
  `${note.split("\n").find((l) => l.startsWith(`\u2014 ${name} `))!}\n`;

describe("cosignatureMessage", () => {
  it("is the tlog-cosignature example message byte for byte", () => {
    const body =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    expect(new TextDecoder().decode(cosignatureMessage(body, 1679315147))).toBe(
      `cosignature/v1\ntime 1679315147\n${body}`,
    );
  });

  it.each([
    [-1, /non-negative integer/],
    [1.5, /non-negative integer/],
    [2 ** 53, /non-negative integer/],
  ])("refuses timestamp %d", (t, want) => {
    expect(() => cosignatureMessage(bodyOf(1), t)).toThrow(want);
  });

  it("refuses a body without its final newline", () => {
    expect(() => cosignatureMessage("a\n1\nroot", 1)).toThrow(/end with a newline/);
  });
});

describe("createWitness", () => {
  it("refuses the log's own key: cosignature/v1 does not sign the cosigner's name", () => {
    expect(() => createWitness("w.test/w", logKey, [logKey.publicKey])).toThrow(WitnessKeyError);
    expect(() => createWitness("w.test/w", logKey, [logKey.publicKey])).toThrow(
      /is a log signing key: a witness needs its own Ed25519 key/,
    );
  });

  it.each(["", "w test", "w+test"])("refuses the name %j", (name) => {
    expect(() => createWitness(name, witnessKey, [])).toThrow(/witness name .* must be/);
  });

  it("publishes a type 0x04 vkey whose key hash differs from the plain Ed25519 one", () => {
    const k = parseVerifierKey(witness.vkey);
    expect(k).toMatchObject({ name: witness.name, alg: COSIGNATURE_V1_ALG });
    expect(toBase64(k.publicKey)).toBe(witnessKey.publicKey);
    expect(witness.vkey).not.toBe(verifierKey(witness.name, k.publicKey));
  });

  it("signs u64 timestamp || Ed25519 under the 0x04 key hash", () => {
    const line = witness.cosign(bodyOf(3), T);
    const blob = fromBase64(line.trimEnd().split(" ")[2]!);
    expect(blob.length).toBe(4 + 8 + 64);
    expect(blob.slice(0, 4)).toEqual(
      typedKeyHash(witness.name, COSIGNATURE_V1_ALG, fromBase64(witnessKey.publicKey)),
    );
    expect(cosignatureTimestamp(blob.slice(4))).toBe(T);
  });
});

describe("cosignatureTimestamp", () => {
  const sig = (t: bigint, len = 72): Uint8Array => {
    const b = new Uint8Array(len);
    if (len >= 8) new DataView(b.buffer).setBigUint64(0, t);
    return b;
  };
  it.each<[string, Uint8Array, number | undefined]>([
    ["zero", sig(0n), 0],
    ["a 2026 time", sig(BigInt(T)), T],
    ["2^53 - 1", sig(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER],
    ["2^53 (not exact here)", sig(2n ** 53n), undefined],
    ["2^63 (past the spec's limit)", sig(2n ** 63n), undefined],
    ["a plain 64-byte signature", sig(0n, 64), undefined],
  ])("%s", (_, s, want) => {
    expect(cosignatureTimestamp(s)).toBe(want);
  });
});

describe("verifyCosignedCheckpoint", () => {
  const replayed = addCosignature(logNote(11), lineOf(cosigned(10), witness.name));
  const plainByWitnessKey = `${logNote(5)}${signNote(bodyOf(5), witness.name, witnessKey).split("\n\n")[1]}`;
  const badOriginBody = bodyOf(6, "vaultmesh.test/log-z");
  it.each<[string, () => string, RegExp | string[]]>([
    ["the log's signature alone", () => logNote(4), []],
    ["log + witness", () => cosigned(4), [witness.name]],
    [
      "log + two witnesses",
      () => addCosignature(cosigned(4), otherWitness.cosign(bodyOf(4), T - 60)),
      [witness.name, otherWitness.name],
    ],
    ["a cosignature dated exactly now + skew", () => cosigned(4, T + 300), [witness.name]],
    [
      "a plain Ed25519 line by the witness key (other key hash: ignored)",
      () => plainByWitnessKey,
      [],
    ],
    [
      "a flipped cosignature bit",
      () => flipSignatureBit(cosigned(4), witness.name),
      /^BadCosignature: .*cosignature\/v1 key vaultmesh\.test\/witness-b/,
    ],
    [
      "a flipped log signature bit",
      () => flipSignatureBit(cosigned(4), ORIGIN),
      /^BadLogSignature: .*Ed25519 key vaultmesh\.test\/log-a/,
    ],
    ["a cosignature replayed onto another checkpoint", () => replayed, /^BadCosignature:/],
    [
      "a cosignature dated after now + skew",
      () => cosigned(4, T + 301),
      /^FutureTimestamp: .*dated \d+, after \d+ \(now \+ 300s\)/,
    ],
    [
      "the witness alone, no log signature",
      () =>
        addCosignature(
          signNote(bodyOf(4), "x.test/none", otherWitnessKey),
          witness.cosign(bodyOf(4), T),
        ),
      /^BadLogSignature: checkpoint is not signed by the log key/,
    ],
    [
      "a body of another origin under the pinned key name",
      () => signNote(badOriginBody, ORIGIN, logKey),
      /^BadLogSignature: checkpoint origin "vaultmesh\.test\/log-z" is not the pinned origin/,
    ],
    ["not a note", () => "nothing here\n", /^Malformed:/],
  ])("%s", (_, note, want) => {
    const r = verifyCosignedCheckpoint(note(), trustedLog, trustedWitnesses, NOW);
    if (Array.isArray(want)) {
      expect(r.ok).toBe(true);
      expect(r.ok && r.cosignatures.map((c) => c.name)).toEqual(want);
    } else {
      expect(r.ok ? "ok" : `${r.reason}: ${r.message}`).toMatch(want);
    }
  });

  it("reports each cosignature's timestamp", () => {
    const r = verifyCosignedCheckpoint(cosigned(8, T - 10), trustedLog, trustedWitnesses, NOW);
    expect(r).toMatchObject({
      ok: true,
      checkpoint: { origin: ORIGIN, size: 8 },
      cosignatures: [{ name: witness.name, timestamp: T - 10 }],
    });
  });

  it("names every reason it returns", () => {
    expect(Object.values(CosignatureReason).sort()).toEqual(
      ["BadCosignature", "BadLogSignature", "FutureTimestamp", "Malformed"].sort(),
    );
  });
});

describe("addCosignature", () => {
  it("replaces the witness's earlier line and keeps the others", () => {
    const first = cosigned(9, T - 100);
    const both = addCosignature(first, otherWitness.cosign(bodyOf(9), T - 50));
    const again = addCosignature(both, witness.cosign(bodyOf(9), T));
    const names = again
      .split("\n\n")[1]!
      .trimEnd()
      .split("\n")
      .map((l) => l.split(" ")[1]);
    expect(names).toEqual([ORIGIN, otherWitness.name, witness.name]);
    const r = verifyCosignedCheckpoint(again, trustedLog, trustedWitnesses, NOW);
    expect(r.ok && r.cosignatures).toEqual([
      { name: otherWitness.name, timestamp: T - 50 },
      { name: witness.name, timestamp: T },
    ]);
  });

  it(`refuses to grow a note past ${MAX_NOTE_SIGNATURES} signatures`, () => {
    let note = logNote(2);
    for (let i = 1; i < MAX_NOTE_SIGNATURES; i++) {
      note = addCosignature(
        note,
        signatureLine(`w.test/${i}`, new Uint8Array(4), new Uint8Array(72)),
      );
    }
    expect(() => addCosignature(note, witness.cosign(bodyOf(2), T))).toThrow(
      /17 signatures, more than the 16 accepted/,
    );
  });

  it("refuses a malformed line", () => {
    expect(() => addCosignature(logNote(2), "not a signature line\n")).toThrow(
      /malformed note signature line/,
    );
  });
});
