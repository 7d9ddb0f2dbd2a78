// Interop with independent transparency-log implementations: our signed checkpoints, notes and
// RFC 6962 proofs are checked by golang.org/x/mod/sumdb/note, transparency-dev/formats
// (log.ParseCheckpoint) and transparency-dev/merkle, built from the Go module proxy at the
// versions in hack/tlog-verifiers/versions.env; and notes Go signs verify here.
import { beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromBase64, toBase64 } from "../../services/ledger/canonical-json.ts";
import {
  CheckpointSizeError,
  formatCheckpoint,
  parseVerifierKey,
  readSignedCheckpoint,
  signNote,
  verifierKey,
  verifyNote,
} from "../../services/ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import {
  addCosignature,
  createWitness,
  verifyCosignedCheckpoint,
} from "../../services/federation/cosignature.ts";
import { mergedRoot } from "../../services/federation/merged-root.ts";
import {
  consistencyRanges,
  Frontier,
  hashLeaf,
  inclusionRanges,
  mapLookup,
  nodeKey,
  resolveProof,
  type Hash,
} from "../../services/ledger/merkle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
let verifier = "";

beforeAll(() => {
  const built = spawnSync("bash", [path.join(root, "hack/tlog-verifiers/build.sh")], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (built.status !== 0) throw new Error(`hack/tlog-verifiers/build.sh failed:\n${built.stderr}`);
  verifier = built.stdout.trim();
}, 600_000);

interface GoResult {
  ok: boolean;
  error?: string;
  text?: string;
  sigs?: { name: string; keyHash: string; timestamp?: number }[];
  origin?: string;
  size?: string;
  root?: string;
  vkey?: string;
  signedNote?: string;
}

/** Runs a batch of requests through the Go verifier; one result per request, in order. */
function go(requests: readonly Record<string, unknown>[]): GoResult[] {
  const r = spawnSync(verifier, [], {
    input: JSON.stringify(requests),
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`tlog-verifiers exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as GoResult[];
  expect(out).toHaveLength(requests.length);
  return out;
}

const ORIGIN = "vaultmesh.test/interop";
const logKey = ed25519Signer(generateEd25519().privateKeyPem);
const otherKey = ed25519Signer(generateEd25519().privateKeyPem);
const vkey = (name: string, s = logKey): string => verifierKey(name, fromBase64(s.publicKey));
const root32 = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

const signed = (size: number, extensions: string[] = []): string =>
  signNote(
    formatCheckpoint({ origin: ORIGIN, size, root: root32(size % 251), extensions }),
    ORIGIN,
    logKey,
  );

/** Flips one bit of the signature of the note's `line`th signature line. */
function flipSignatureBit(note: string, line = 0): string {
  const lines = note.split("\n");
  const first = lines.indexOf("") + 1;
  const [dash, name, b64] = lines[first + line]!.split(" ");
  const blob = fromBase64(b64!);
  blob[20]! ^= 0x10;
  lines[first + line] = `${dash} ${name} ${toBase64(blob)}`;
  return lines.join("\n");
}

describe("our signed checkpoints, read by Go", () => {
  it.each([0, 1, 42, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER])(
    "size %d: sumdb note.Open and log.ParseCheckpoint agree with us",
    (size) => {
      const note = signed(size);
      const [opened, parsed] = go([
        { kind: "note", note, vkeys: [vkey(ORIGIN)] },
        { kind: "checkpoint", note, origin: ORIGIN, vkeys: [vkey(ORIGIN)] },
      ]);
      const ours = readSignedCheckpoint(note, {
        origin: ORIGIN,
        ed25519: [{ publicKey: logKey.publicKey }],
      });
      expect(ours.signature).toEqual({ ok: true });
      expect(opened).toMatchObject({ ok: true, text: ours.body, sigs: [{ name: ORIGIN }] });
      expect(parsed).toMatchObject({
        ok: true,
        origin: ORIGIN,
        size: String(ours.checkpoint.size),
        root: toBase64(ours.checkpoint.root),
      });
    },
  );

  it("keeps extension lines as the rest of the body", () => {
    const [parsed] = go([
      { kind: "checkpoint", note: signed(3, ["ext one"]), origin: ORIGIN, vkeys: [vkey(ORIGIN)] },
    ]);
    expect(parsed).toMatchObject({ ok: true, size: "3" });
  });

  // Each case: a note, the verdicts of Go and of us. Both must reject or accept alike.
  const unknownKey = ed25519Signer(generateEd25519().privateKeyPem);
  const withSig = (note: string, name: string, key = otherKey): string =>
    `${note}${signNote(note.slice(0, note.lastIndexOf("\n\n") + 1), name, key)
      .split("\n\n")
      .at(-1)}`;
  const cases: { name: string; note: () => string; vkeys: () => string[]; ok: boolean }[] = [
    { name: "a clean note", note: () => signed(5), vkeys: () => [vkey(ORIGIN)], ok: true },
    {
      name: "a flipped signature bit",
      note: () => flipSignatureBit(signed(5)),
      vkeys: () => [vkey(ORIGIN)],
      ok: false,
    },
    {
      name: "a changed size under a valid signature",
      note: () => signed(5).replace("\n5\n", "\n6\n"),
      vkeys: () => [vkey(ORIGIN)],
      ok: false,
    },
    {
      name: "signed by an unknown key only",
      note: () =>
        signNote(
          formatCheckpoint({ origin: ORIGIN, size: 5, root: root32(5), extensions: [] }),
          ORIGIN,
          unknownKey,
        ),
      vkeys: () => [vkey(ORIGIN)],
      ok: false,
    },
    {
      name: "an extra signature by an unknown key (ignored)",
      note: () => withSig(signed(5), "witness.test/unknown", unknownKey),
      vkeys: () => [vkey(ORIGIN)],
      ok: true,
    },
    {
      name: "a second trusted signature that fails",
      note: () => flipSignatureBit(withSig(signed(5), "witness.test/w1"), 1),
      vkeys: () => [vkey(ORIGIN), vkey("witness.test/w1", otherKey)],
      ok: false,
    },
    {
      name: "two trusted signatures that verify",
      note: () => withSig(signed(5), "witness.test/w1"),
      vkeys: () => [vkey(ORIGIN), vkey("witness.test/w1", otherKey)],
      ok: true,
    },
  ];

  it.each(cases)("$name: Go and we agree (ok=$ok)", (c) => {
    const note = c.note();
    const keys = c.vkeys().map(parseVerifierKey);
    const [goResult] = go([{ kind: "note", note, vkeys: c.vkeys() }]);
    const ours = verifyNote(
      note,
      keys.map((k) => ({ name: k.name, publicKey: toBase64(k.publicKey) })),
    );
    expect({ go: goResult!.ok, ours: ours.ok }).toEqual({ go: c.ok, ours: c.ok });
  });

  it("pins the origin: another origin is refused by log.ParseCheckpoint and by us", () => {
    const note = signed(9);
    const [parsed] = go([
      { kind: "checkpoint", note, origin: "vaultmesh.test/other", vkeys: [vkey(ORIGIN)] },
    ]);
    expect(parsed).toMatchObject({ ok: false, error: expect.stringMatching(/Origin/) });
    const ours = readSignedCheckpoint(note, {
      origin: "vaultmesh.test/other",
      ed25519: [{ publicKey: logKey.publicKey }],
    });
    expect(ours.signature).toEqual({
      ok: false,
      reason:
        'checkpoint origin "vaultmesh.test/interop" is not the pinned origin "vaultmesh.test/other"',
    });
  });

  it("a validly signed size past 2^53 parses exactly in Go and is refused here, never rounded", () => {
    const big = "9007199254740993"; // 2^53 + 1: Number() would round it to 2^53
    const body = `${ORIGIN}\n${big}\n${toBase64(root32(1))}\n`;
    const note = signNote(body, ORIGIN, logKey);
    const [parsed] = go([{ kind: "checkpoint", note, origin: ORIGIN, vkeys: [vkey(ORIGIN)] }]);
    expect(parsed).toMatchObject({ ok: true, size: big });
    expect(() =>
      readSignedCheckpoint(note, { origin: ORIGIN, ed25519: [{ publicKey: logKey.publicKey }] }),
    ).toThrow(CheckpointSizeError);
  });
});

describe("notes Go signs, read by us", () => {
  it("verifies a sumdb-signed note with the vkey Go prints, and rejects a flipped bit", () => {
    const body = formatCheckpoint({
      origin: "go.test/log",
      size: 17,
      root: root32(3),
      extensions: [],
    });
    const [g] = go([{ kind: "sign", name: "go.test/log", text: body }]);
    expect(g).toMatchObject({ ok: true });
    const k = parseVerifierKey(g!.vkey!);
    const trust = { origin: "go.test/log", ed25519: [{ publicKey: toBase64(k.publicKey) }] };
    expect(readSignedCheckpoint(g!.signedNote!, trust)).toMatchObject({
      signature: { ok: true },
      checkpoint: { origin: "go.test/log", size: 17 },
    });
    expect(readSignedCheckpoint(flipSignatureBit(g!.signedNote!), trust).signature).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signature by trusted Ed25519 key go\.test\/log .* is invalid/),
    });
    // The vkey we print for the same key is the one Go printed.
    expect(verifierKey("go.test/log", k.publicKey)).toBe(g!.vkey);
  });
});

describe("cosignature/v1, both directions with transparency-dev/formats", () => {
  const witnessKey = ed25519Signer(generateEd25519().privateKeyPem);
  const witness = createWitness("vaultmesh.test/witness", witnessKey, [logKey.publicKey]);
  const now = new Date();
  const t = Math.floor(now.getTime() / 1000) - 30;

  it("our cosignature verifies with formats' cosignature/v1 verifier, timestamp included", () => {
    const note = signed(12);
    const body = note.slice(0, note.lastIndexOf("\n\n") + 1);
    const cosignedNote = addCosignature(note, witness.cosign(body, t));
    const [opened, parsed, flipped] = go([
      { kind: "note", note: cosignedNote, vkeys: [vkey(ORIGIN)], cosigners: [witness.vkey] },
      {
        kind: "checkpoint",
        note: cosignedNote,
        origin: ORIGIN,
        vkeys: [vkey(ORIGIN)],
        cosigners: [witness.vkey],
      },
      {
        kind: "note",
        note: flipSignatureBit(cosignedNote, 1),
        vkeys: [vkey(ORIGIN)],
        cosigners: [witness.vkey],
      },
    ]);
    const witnessSig = { name: witness.name, timestamp: t };
    expect(opened).toMatchObject({ ok: true, sigs: [{ name: ORIGIN }, witnessSig] });
    expect(parsed).toMatchObject({ ok: true, size: "12", sigs: [{ name: ORIGIN }, witnessSig] });
    expect(flipped).toMatchObject({ ok: false, error: expect.stringMatching(/invalid signature/) });
  });

  it("a cosignature Go makes over our checkpoint verifies here; a flipped bit does not", () => {
    const note = signed(13);
    const [g] = go([
      { kind: "sign", name: "go.test/witness", note, vkeys: [vkey(ORIGIN)], cosigner: true },
    ]);
    expect(g).toMatchObject({ ok: true });
    const k = parseVerifierKey(g!.vkey!);
    const log = { origin: ORIGIN, publicKeys: [logKey.publicKey] };
    const witnesses = [{ name: k.name, publicKey: toBase64(k.publicKey) }];
    const r = verifyCosignedCheckpoint(g!.signedNote!, log, witnesses, new Date());
    expect(r).toMatchObject({ ok: true, checkpoint: { size: 13 } });
    expect(r.ok && r.cosignatures.map((c) => c.name)).toEqual(["go.test/witness"]);
    expect(
      verifyCosignedCheckpoint(flipSignatureBit(g!.signedNote!, 1), log, witnesses, new Date()),
    ).toMatchObject({ ok: false, reason: "BadCosignature" });
  });
});

describe("our RFC 6962 proofs, checked by transparency-dev/merkle", () => {
  // A tree of N leaves with every node kept, as the ledger store keeps them; proofs come from
  // the same range functions pg-tree-reader uses.
  const N = 70;
  const nodes = new Map<string, Hash>();
  const roots: Hash[] = [];
  const leaves: Hash[] = [];
  const f = new Frontier();
  roots.push(f.root());
  for (let i = 0; i < N; i++) {
    const leaf = hashLeaf(new TextEncoder().encode(`entry ${i}`));
    leaves.push(leaf);
    for (const n of f.append(leaf)) nodes.set(nodeKey(n), n.hash);
    roots.push(f.root());
  }
  const lookup = mapLookup(nodes);
  const b64 = (hs: Hash[]): string[] => hs.map(toBase64);

  it("every consistency proof between sizes 1..70 verifies, and a tampered one does not", () => {
    const reqs: Record<string, unknown>[] = [];
    for (let m = 1; m <= N; m++) {
      for (let n = m; n <= N; n++) {
        reqs.push({
          kind: "consistency",
          size1: String(m),
          size2: String(n),
          root1: toBase64(roots[m]!),
          root2: toBase64(roots[n]!),
          proof: b64(resolveProof(consistencyRanges(m, n), lookup)),
        });
      }
    }
    const results = go(reqs);
    const failures = results.flatMap((r, i) =>
      r.ok ? [] : [`${JSON.stringify(reqs[i])}: ${r.error}`],
    );
    expect(failures).toEqual([]);
    expect(results.length).toBe((N * (N + 1)) / 2);

    const proof = b64(resolveProof(consistencyRanges(13, 70), lookup));
    proof[1] = toBase64(root32(9));
    const [bad, wrongRoot] = go([
      {
        ...reqs[0],
        size1: "13",
        size2: "70",
        root1: toBase64(roots[13]!),
        root2: toBase64(roots[70]!),
        proof,
      },
      {
        kind: "consistency",
        size1: "13",
        size2: "70",
        root1: toBase64(roots[12]!),
        root2: toBase64(roots[70]!),
        proof: b64(resolveProof(consistencyRanges(13, 70), lookup)),
      },
    ]);
    expect(bad!.ok).toBe(false);
    expect(wrongRoot!.ok).toBe(false);
  });

  it("the merged root of two checkpoints is the root transparency-dev/merkle computes", () => {
    const a = formatCheckpoint({ origin: "a.test/log", size: 5, root: roots[5]!, extensions: [] });
    const b = formatCheckpoint({ origin: "b.test/log", size: 9, root: roots[9]!, extensions: [] });
    const m = mergedRoot(b, a);
    const enc = (s: string): string => toBase64(new TextEncoder().encode(s));
    const [g] = go([{ kind: "root", leaves: [enc(a), enc(b)] }]);
    expect(g).toMatchObject({ ok: true, root: toBase64(m.root) });
  });

  it("every inclusion proof in trees of size 1..70 verifies", () => {
    const reqs: Record<string, unknown>[] = [];
    for (let n = 1; n <= N; n++) {
      for (let i = 0; i < n; i++) {
        reqs.push({
          kind: "inclusion",
          index: String(i),
          size2: String(n),
          leafHash: toBase64(leaves[i]!),
          root2: toBase64(roots[n]!),
          proof: b64(resolveProof(inclusionRanges(i, n), lookup)),
        });
      }
    }
    const failures = go(reqs).flatMap((r, i) =>
      r.ok ? [] : [`${JSON.stringify(reqs[i])}: ${r.error}`],
    );
    expect(failures).toEqual([]);
  });
});
