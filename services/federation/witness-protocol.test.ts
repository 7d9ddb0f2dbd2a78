import { describe, expect, it } from "@jest/globals";
import { fromBase64, toBase64 } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote } from "../ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { EMPTY_ROOT, type Hash } from "../ledger/merkle.ts";
import { createWitness, verifyCosignedCheckpoint } from "./cosignature.ts";
import {
  decideAddCheckpoint,
  formatAddCheckpointRequest,
  noteOrigin,
  parseAddCheckpointRequest,
  parseTlogSize,
  TLOG_SIZE_CONTENT_TYPE,
  WITNESS_MAX_BODY_BYTES,
  WitnessReason,
  type AddCheckpointRequest,
  type TrustedCheckpoint,
} from "./witness-protocol.ts";
import { merkleLog } from "../../test/builders/merkle-log.ts";

const ORIGIN = "vaultmesh.test/peer-log";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const strangerKey = ed25519Signer(generateEd25519().privateKeyPem);
const witness = createWitness(
  "vaultmesh.test/our-witness",
  ed25519Signer(generateEd25519().privateKeyPem),
  [logKey.publicKey],
);
const log = { origin: ORIGIN, publicKeys: [logKey.publicKey] };
const T = 1_796_371_200;

const honest = merkleLog((i) => `honest ${i}`, 40);
const forked = merkleLog((i) => `forked ${i}`, 40); // the same origin and key, another history

const note = (size: number, root: Hash, key = logKey, name = ORIGIN): string =>
  signNote(formatCheckpoint({ origin: ORIGIN, size, root, extensions: [] }), name, key);
const head = (size: number): string => note(size, honest.root(size));
const trustedAt = (size: number): TrustedCheckpoint => ({
  size,
  root: honest.root(size),
  note: head(size),
});
const req = (oldSize: number, n: string, proof: Hash[] = []): AddCheckpointRequest => ({
  oldSize,
  proof,
  note: n,
});
function flipLogSignature(n: string): string {
  const [text, sig] = n.split("\n\n");
  const [dash, name, b64] = sig!.trimEnd().split(" ");
  const blob = fromBase64(b64!);
  blob[30]! ^= 4;
  return `${text}\n\n${dash} ${name} ${toBase64(blob)}\n`;
}

describe("add-checkpoint request bodies", () => {
  it("round-trips, with the spec's layout", () => {
    const r = req(10, head(20), honest.proof(10, 20));
    const text = formatAddCheckpointRequest(r);
    expect(text.startsWith(`old 10\n${toBase64(r.proof[0]!)}\n`)).toBe(true);
    expect(text).toContain(`\n\n${ORIGIN}\n20\n`);
    const parsed = parseAddCheckpointRequest(new TextEncoder().encode(text));
    expect(parsed).toEqual({ ok: true, request: r });
  });

  it("reads a request from the empty tree (no proof lines)", () => {
    const text = formatAddCheckpointRequest(req(0, head(3)));
    expect(text.startsWith("old 0\n\n")).toBe(true);
    expect(parseAddCheckpointRequest(new TextEncoder().encode(text))).toMatchObject({
      ok: true,
      request: { oldSize: 0, proof: [] },
    });
  });

  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  const h = toBase64(honest.root(1));
  it.each<[string, Uint8Array, RegExp]>([
    ["an oversized body", new Uint8Array(WITNESS_MAX_BODY_BYTES + 1), /over the 16384 accepted/],
    ["invalid UTF-8", new Uint8Array([0x6f, 0x6c, 0x64, 0xff, 0x0a, 0x0a]), /not UTF-8/],
    ["no blank line", enc(`old 0\n${head(1)}`.replace("\n\n", "\n")), /no blank line/],
    ["another first line", enc(`new 0\n\n${head(1)}`), /must start with "old <size>"/],
    ["a leading zero", enc(`old 01\n\n${head(1)}`), /old size: .*without leading zeros/],
    ["a negative size", enc(`old -1\n\n${head(1)}`), /old size: .*ASCII decimal/],
    ["an old size past 2^53", enc(`old 9007199254740993\n\n${head(1)}`), /refused rather/],
    ["64 proof lines", enc(`old 1\n${`${h}\n`.repeat(64)}\n${head(1)}`), /64 .* than the 63/],
    ["a proof line not base64", enc(`old 1\n${h}\n!!!!\n\n${head(1)}`), /line 2 is not base64/],
    [
      "a 31-byte proof hash",
      enc(`old 1\n${toBase64(new Uint8Array(31))}\n\n${head(1)}`),
      /32-byte/,
    ],
  ])("refuses %s with a 400", (_, body, want) => {
    const r = parseAddCheckpointRequest(body);
    expect(r).toMatchObject({ ok: false, status: 400, reason: WitnessReason.Malformed });
    expect(!r.ok && r.message).toMatch(want);
  });

  it("accepts 63 proof lines (the most allowed)", () => {
    const body = `old 1\n${`${h}\n`.repeat(63)}\n${head(1)}`;
    expect(parseAddCheckpointRequest(enc(body)).ok).toBe(true);
  });

  it("the client refuses to send more than 63 proof hashes", () => {
    expect(() =>
      formatAddCheckpointRequest(
        req(
          1,
          head(1),
          Array.from({ length: 64 }, () => EMPTY_ROOT),
        ),
      ),
    ).toThrow(/64 hashes is over the 63 allowed/);
  });
});

describe("decideAddCheckpoint", () => {
  type Want = { status: number; reason?: WitnessReason; body?: string; evidence?: boolean };
  const zeroWithRoot = note(0, honest.root(1));
  it.each<[string, AddCheckpointRequest, TrustedCheckpoint | undefined, Want]>([
    // 404 / 403 / 400: who sent what
    [
      "an unknown origin",
      req(0, note(5, honest.root(5)).replace(ORIGIN, "x.test/other")),
      undefined,
      { status: 404, reason: "UnknownOrigin" },
    ],
    [
      "a note signed by an unknown key only",
      req(0, note(5, honest.root(5), strangerKey)),
      undefined,
      { status: 403, reason: "BadSignature" },
    ],
    [
      "a flipped bit in the log signature",
      req(0, flipLogSignature(head(5))),
      undefined,
      { status: 403, reason: "BadSignature" },
    ],
    [
      "the log key under another name",
      req(0, note(5, honest.root(5), logKey, "x.test/name")),
      undefined,
      { status: 403, reason: "BadSignature" },
    ],
    [
      "a note without signatures",
      req(0, `${ORIGIN}\n5\n${toBase64(honest.root(5))}\n\n`),
      undefined,
      { status: 400, reason: "Malformed" },
    ],
    [
      "old size above the checkpoint's",
      req(10, head(5)),
      trustedAt(10),
      { status: 400, reason: "OldSizeAfterNew" },
    ],
    // 409: stale old sizes, with the latest cosigned size
    [
      "first contact claiming an old size",
      req(5, head(10), honest.proof(5, 10)),
      undefined,
      { status: 409, reason: "StaleOldSize", body: "0\n" },
    ],
    [
      "an old size behind the cosigned one",
      req(8, head(20), honest.proof(8, 20)),
      trustedAt(10),
      { status: 409, reason: "StaleOldSize", body: "10\n" },
    ],
    [
      "a replayed earlier request",
      req(10, head(20), honest.proof(10, 20)),
      trustedAt(20),
      { status: 409, reason: "StaleOldSize", body: "20\n" },
    ],
    // 422: proofs and roots
    [
      "size 0 with a non-empty root",
      req(0, zeroWithRoot),
      undefined,
      { status: 422, reason: "BadEmptyTree" },
    ],
    [
      "a proof from the empty tree",
      req(0, head(5), [honest.root(1)]),
      undefined,
      { status: 422, reason: "ProofFromEmptyTree" },
    ],
    [
      "a tampered consistency proof",
      req(
        10,
        head(20),
        honest.proof(10, 20).map((p, i) => (i === 1 ? EMPTY_ROOT : p)),
      ),
      trustedAt(10),
      { status: 422, reason: "BadConsistencyProof", evidence: true },
    ],
    [
      "no proof at all",
      req(10, head(20)),
      trustedAt(10),
      { status: 422, reason: "BadConsistencyProof", evidence: true },
    ],
    [
      "a forked log: larger size, its own history",
      req(10, note(20, forked.root(20)), forked.proof(10, 20)),
      trustedAt(10),
      { status: 422, reason: "BadConsistencyProof", evidence: true },
    ],
    [
      "a forked log: same size, another root",
      req(10, note(10, forked.root(10))),
      trustedAt(10),
      { status: 422, reason: "SameSizeOtherRoot", evidence: true },
    ],
    // 200
    ["first contact from the empty tree", req(0, head(7)), undefined, { status: 200 }],
    [
      "a consistent larger checkpoint",
      req(10, head(33), honest.proof(10, 33)),
      trustedAt(10),
      { status: 200 },
    ],
    ["the same checkpoint again", req(10, head(10)), trustedAt(10), { status: 200 }],
    ["the empty tree", req(0, note(0, EMPTY_ROOT)), undefined, { status: 200 }],
  ])("%s", (_, request, trusted, want) => {
    const r = decideAddCheckpoint(request, log, trusted, witness, T);
    expect(r.status).toBe(want.status);
    if (r.ok) return;
    expect(r.reason).toBe(want.reason);
    expect(r.body).toBe(want.body);
    expect(r.evidence !== undefined).toBe(want.evidence ?? false);
    if (r.evidence)
      expect(r.evidence).toEqual({ trustedNote: trusted!.note, offeredNote: request.note });
  });

  it("without a pinned log for the origin, answers 404", () => {
    expect(decideAddCheckpoint(req(0, head(1)), undefined, undefined, witness, T)).toMatchObject({
      status: 404,
      message: `unknown log origin "${ORIGIN}"`,
    });
  });

  it("cosigns: the line verifies as cosignature/v1 and the new trusted checkpoint is returned", () => {
    const r = decideAddCheckpoint(
      req(10, head(33), honest.proof(10, 33)),
      log,
      trustedAt(10),
      witness,
      T,
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.cosignature.startsWith(`\u2014 ${witness.name} `)).toBe(true);
    expect(r.trusted).toMatchObject({ size: 33, root: honest.root(33) });
    const v = verifyCosignedCheckpoint(
      r.trusted.note,
      log,
      [{ name: witness.name, publicKey: witness.publicKey }],
      new Date(T * 1000),
    );
    expect(v).toMatchObject({ ok: true, cosignatures: [{ name: witness.name, timestamp: T }] });
    // The next request must come from the new size.
    const next = decideAddCheckpoint(
      req(10, head(34), honest.proof(10, 34)),
      log,
      r.trusted,
      witness,
      T,
    );
    expect(next).toMatchObject({ status: 409, body: "33\n" });
  });

  it("a note already carrying 16 signatures is refused rather than grown past the cap", () => {
    const full =
      head(12).trimEnd() + `\n\u2014 w.test/x ${toBase64(new Uint8Array(76))}`.repeat(15) + "\n";
    expect(decideAddCheckpoint(req(0, full), log, undefined, witness, T)).toMatchObject({
      status: 400,
      reason: "Malformed",
      message: expect.stringMatching(/cannot add a cosignature: .*17 signatures/),
    });
  });
});

describe("small helpers", () => {
  it("noteOrigin reads the first line without verifying", () => {
    expect(noteOrigin(head(1))).toBe(ORIGIN);
    expect(noteOrigin("no newline")).toBe("");
  });

  it.each<[string, number | RegExp]>([
    ["42\n", 42],
    ["0\n", 0],
    ["42", /must be one line/],
    ["4\n2\n", /must be one line/],
    ["042\n", /leading zeros/],
  ])(`parseTlogSize(%j) (${TLOG_SIZE_CONTENT_TYPE})`, (body, want) => {
    if (typeof want === "number") expect(parseTlogSize(body)).toBe(want);
    else expect(() => parseTlogSize(body)).toThrow(want);
  });
});
