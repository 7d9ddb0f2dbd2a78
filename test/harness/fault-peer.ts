/**
 * A fault-injecting federation peer for the peer-sync attack tests (issue 11): a real HTTP
 * server (fastify on 127.0.0.1) serving the proof-API routes a peer ledger serves —
 * `GET /v1/checkpoint`, `GET /v1/proof/consistency`, `POST /v1/witness/add-checkpoint`,
 * `GET /v1/witness/checkpoint` — over an in-memory RFC 6962 log signed with a real Ed25519 log
 * key, and an in-memory tlog-witness (the pure decideAddCheckpoint) with its own witness key.
 *
 * Honest by default; set `peer.fault` to misbehave on the next requests: fork (same size with
 * another root, or a larger size whose proof cannot verify), roll back, replay an old
 * checkpoint or cosignature, flip a signature bit, sign with an unknown key only, use the
 * caller's origin, answer oversized or slowly, redirect, claim a size past 2^53, send more than
 * 63 proof hashes or 16 signatures, or show two callers two views (`url` and `urlB` are two
 * listeners of one peer: a split view, as geo-routed DNS could serve it).
 *
 *   const peer = await startFaultPeer({ origin: "peer.test/log", witnessed: ourLog });
 *   peer.fault = Fault.ForkSameSize;
 *   ...
 *   await peer.close();
 */
import { Readable } from "node:stream";
import fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { fromBase64, toBase64, toHex } from "../../services/ledger/canonical-json.ts";
import { signNote, verifierKey } from "../../services/ledger/checkpoint.ts";
import {
  ed25519Signer,
  generateEd25519,
  type Ed25519Signer,
} from "../../services/ledger/ed25519.ts";
import { merkleLog, type MerkleLog } from "../builders/merkle-log.ts";
import { createWitness, type Witness } from "../../services/federation/cosignature.ts";
import {
  decideAddCheckpoint,
  parseAddCheckpointRequest,
  TLOG_SIZE_CONTENT_TYPE,
  type TrustedCheckpoint,
  type WitnessedLog,
} from "../../services/federation/witness-protocol.ts";
import { flipSignatureBit } from "../builders/signed-note.ts";

/** What the peer does wrong (or not). */
export const Fault = {
  Honest: "Honest",
  /** Serves its current size with another root (a tree that diverged early). */
  ForkSameSize: "ForkSameSize",
  /** Serves a larger size of the diverged tree: its proof from the trusted size cannot verify. */
  ForkLarger: "ForkLarger",
  /** Serves a smaller size and has lost everything past it (no proof up to the old size). */
  RollBack: "RollBack",
  /** Serves an older checkpoint of its real log (proofs still served for the full log). */
  ReplayCheckpoint: "ReplayCheckpoint",
  /** Flips one bit of the log signature. */
  FlipSignatureBit: "FlipSignatureBit",
  /** Signs its checkpoint with another key (under its origin's name) only. */
  UnknownKeyOnly: "UnknownKeyOnly",
  /** Answers add-checkpoint with the cosignature it gave for an earlier checkpoint. */
  ReplayCosignature: "ReplayCosignature",
  /** Serves a checkpoint of the caller's own origin (`ownOrigin`), signed by its log key. */
  OwnOrigin: "OwnOrigin",
  /** A 20 KiB chunked checkpoint answer (no content-length). */
  Oversized: "Oversized",
  /** Never answers the checkpoint request (until closed). */
  Slow: "Slow",
  /** Answers every request with a 302 to itself. */
  Redirect: "Redirect",
  /** A validly signed checkpoint of size 2^53 + 1. */
  SizePast2p53: "SizePast2p53",
  /** A larger checkpoint whose proof has 64 hashes. */
  TooManyProofHashes: "TooManyProofHashes",
  /** A checkpoint note with 17 signature lines. */
  TooManySignatures: "TooManySignatures",
  /** `url` shows the real log grown by 2, `urlB` the diverged tree at the same size. */
  SplitView: "SplitView",
} as const;
export type Fault = (typeof Fault)[keyof typeof Fault];

/** Options of {@link startFaultPeer}. */
export interface FaultPeerOptions {
  readonly origin: string;
  /** The log size served honestly at start. @default 8 */
  readonly size?: number;
  /** The caller's log, which pushes to this peer's witness (origin and base64 raw keys). */
  readonly witnessed?: WitnessedLog;
  /** The caller's own origin, used by {@link Fault.OwnOrigin}. */
  readonly ownOrigin?: string;
}

/** A running fault peer. */
export interface FaultPeer {
  /** Base URL (first listener; the first view of a split view). */
  readonly url: string;
  /** Base URL of the second listener (the other view of a split view). */
  readonly urlB: string;
  readonly origin: string;
  /** The peer's log vkey (type 0x01), what a caller pins. */
  readonly logVkey: string;
  /** The peer's witness vkey (type 0x04). */
  readonly witnessVkey: string;
  /** The current misbehaviour. */
  fault: Fault;
  /** The honest log size served (grow it to simulate appends; at most 60). */
  size: number;
  /** Requests received, by path. */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

const MAX_LEAVES = 64;

interface PeerState {
  readonly o: Required<Pick<FaultPeerOptions, "origin">> & FaultPeerOptions;
  readonly key: Ed25519Signer;
  readonly stranger: Ed25519Signer;
  readonly witness: Witness;
  readonly main: MerkleLog;
  readonly fork: MerkleLog;
  fault: Fault;
  size: number;
  /** The witness's golden checkpoint of the caller's log, and the cosignatures it gave. */
  golden: TrustedCheckpoint | undefined;
  readonly cosignatures: string[];
  readonly requests: Map<string, number>;
  readonly closing: AbortController;
}

/** What one listener serves as its log: which tree, which size, up to which size it proves. */
function servedLog(
  s: PeerState,
  view: "A" | "B",
): { t: MerkleLog; size: number; provable: number } {
  const n = s.size;
  switch (s.fault) {
    case Fault.ForkSameSize:
      return { t: s.fork, size: n, provable: n };
    case Fault.ForkLarger:
      return { t: s.fork, size: n + 4, provable: n + 4 };
    case Fault.RollBack:
      return { t: s.main, size: n - 3, provable: n - 3 };
    case Fault.ReplayCheckpoint:
      return { t: s.main, size: n - 3, provable: n };
    case Fault.TooManyProofHashes:
      return { t: s.main, size: n + 4, provable: n + 4 };
    case Fault.SplitView:
      return { t: view === "A" ? s.main : s.fork, size: n + 2, provable: n + 2 };
    default:
      return { t: s.main, size: n, provable: n };
  }
}

function checkpointNote(s: PeerState, view: "A" | "B"): string {
  const { t, size } = servedLog(s, view);
  const { origin } = s.o;
  // Written by hand rather than with formatCheckpoint, which refuses a size past 2^53.
  const body = (o: string, sz: number | string = size): string =>
    `${o}\n${sz}\n${toBase64(t.root(size))}\n`;
  switch (s.fault) {
    case Fault.FlipSignatureBit:
      return flipSignatureBit(signNote(body(origin), origin, s.key));
    case Fault.UnknownKeyOnly:
      return signNote(body(origin), origin, s.stranger);
    case Fault.OwnOrigin: {
      const own = s.o.ownOrigin ?? origin;
      return signNote(body(own), own, s.key);
    }
    case Fault.SizePast2p53:
      return signNote(body(origin, "9007199254740993"), origin, s.key);
    case Fault.TooManySignatures: {
      const note = signNote(body(origin), origin, s.key);
      const junk = Array.from({ length: 16 }, (_, i) => {
        const k = s.stranger;
        return signNote(body(origin), `junk${i}.test`, k).split("\n\n")[1]!;
      }).join("");
      return `${note}${junk}`;
    }
    default:
      return signNote(body(origin), origin, s.key);
  }
}

function bump(s: PeerState, path: string): void {
  s.requests.set(path, (s.requests.get(path) ?? 0) + 1);
}

async function answerCheckpoint(
  s: PeerState,
  view: "A" | "B",
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (s.fault === Fault.Slow) {
    // Hold the request open until the peer closes: the caller's deadline must end it.
    await new Promise<void>((resolve) =>
      s.closing.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    return reply.code(503).send("closing\n");
  }
  if (s.fault === Fault.Oversized) {
    const chunk = "x".repeat(1024);
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < 20; i++) yield chunk;
      })(),
    );
    return reply.type("text/plain; charset=utf-8").send(stream);
  }
  return reply.type("text/plain; charset=utf-8").send(checkpointNote(s, view));
}

function answerProof(
  s: PeerState,
  view: "A" | "B",
  first: number,
  second: number,
  reply: FastifyReply,
): FastifyReply {
  const { t, provable } = servedLog(s, view);
  if (!(first <= second && second <= provable)) {
    return reply.code(400).send({ error: `need first ≤ second ≤ ${provable}` });
  }
  let hashes = t.proof(first, second).map(toHex);
  if (s.fault === Fault.TooManyProofHashes) {
    hashes = Array.from(
      { length: 64 },
      (_, i) => hashes[i % Math.max(1, hashes.length)] ?? toHex(t.root(1)),
    );
  }
  return reply.send({ first, second, hashes });
}

function answerAddCheckpoint(s: PeerState, body: Buffer, reply: FastifyReply): FastifyReply {
  const parsed = parseAddCheckpointRequest(body);
  if (!parsed.ok) return reply.code(parsed.status).send(`${parsed.message}\n`);
  const d = decideAddCheckpoint(
    parsed.request,
    s.o.witnessed,
    s.golden,
    s.witness,
    Math.floor(Date.now() / 1000),
  );
  if (!d.ok) {
    return d.status === 409
      ? reply.code(409).type(TLOG_SIZE_CONTENT_TYPE).send(d.body)
      : reply.code(d.status).send(`${d.message}\n`);
  }
  const replayed = s.fault === Fault.ReplayCosignature ? s.cosignatures.at(-1) : undefined;
  s.golden = d.trusted;
  s.cosignatures.push(d.cosignature);
  return reply.type("text/plain; charset=utf-8").send(replayed ?? d.cosignature);
}

function buildPeer(s: PeerState, view: "A" | "B"): FastifyInstance {
  const app = fastify() as unknown as FastifyInstance;
  app.addHook("onRequest", async (req, reply) => {
    bump(s, req.url.split("?")[0]!);
    if (s.fault === Fault.Redirect) return reply.redirect(req.url, 302);
    return undefined;
  });
  app.get("/v1/checkpoint", (_req, reply) => answerCheckpoint(s, view, reply));
  app.get<{ Querystring: { first: string; second: string } }>(
    "/v1/proof/consistency",
    (req, reply) => answerProof(s, view, Number(req.query.first), Number(req.query.second), reply),
  );
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_r, b, next) => next(null, b));
  app.post("/v1/witness/add-checkpoint", (req, reply) =>
    answerAddCheckpoint(s, req.body as Buffer, reply),
  );
  app.get("/v1/witness/checkpoint", (_req, reply) =>
    s.golden
      ? reply.type("text/plain; charset=utf-8").send(s.golden.note)
      : reply.code(404).send("none\n"),
  );
  return app;
}

/** Starts a fault peer (two listeners on 127.0.0.1, free ports). */
export async function startFaultPeer(options: FaultPeerOptions): Promise<FaultPeer> {
  const key = ed25519Signer(generateEd25519().privateKeyPem);
  const witnessKey = ed25519Signer(generateEd25519().privateKeyPem);
  const s: PeerState = {
    o: options,
    key,
    stranger: ed25519Signer(generateEd25519().privateKeyPem),
    witness: createWitness(`${options.origin}/witness`, witnessKey, [key.publicKey]),
    main: merkleLog((i) => `entry ${i}`, MAX_LEAVES),
    // Agrees with the real log on the first 2 leaves only.
    fork: merkleLog((i) => (i < 2 ? `entry ${i}` : `fork ${i}`), MAX_LEAVES),
    fault: Fault.Honest,
    size: options.size ?? 8,
    golden: undefined,
    cosignatures: [],
    requests: new Map(),
    closing: new AbortController(),
  };
  const apps = [buildPeer(s, "A"), buildPeer(s, "B")];
  const [url, urlB] = await Promise.all(apps.map((a) => a.listen({ host: "127.0.0.1", port: 0 })));
  return {
    url: url!,
    urlB: urlB!,
    origin: options.origin,
    logVkey: verifierKey(options.origin, fromBase64(key.publicKey)),
    witnessVkey: s.witness.vkey,
    get fault() {
      return s.fault;
    },
    set fault(f: Fault) {
      s.fault = f;
    },
    get size() {
      return s.size;
    },
    set size(n: number) {
      if (n < 4 || n > MAX_LEAVES - 4) throw new RangeError(`size ${n} must be in [4, 60]`);
      s.size = n;
    },
    requests: s.requests,
    async close() {
      s.closing.abort();
      await Promise.all(apps.map((a) => a.close()));
    },
  };
}
