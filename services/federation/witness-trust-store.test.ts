// The witness trust kept in the ledger database (ADR 0094): the pure diff and pin checks, the
// set replacement on a private Postgres, and the witness endpoint trusting a peer from the
// moment its pin is recorded until it is removed — read per request, merged with a trust file.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import pg from "pg";
import { pino } from "pino";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { fromBase64 } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../ledger/checkpoint.ts";
import { fixedClock } from "../ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { Ledger } from "../ledger/ledger.ts";
import { Frontier, hashLeaf } from "../ledger/merkle.ts";
import { createWitness } from "./cosignature.ts";
import { formatAddCheckpointRequest } from "./witness-protocol.ts";
import { parseWitnessTrust, WitnessService } from "./witness-service.ts";
import {
  checkWitnessTrustPin,
  FEDERATION_PEERS_TRUST_SOURCE,
  federationPeersOf,
  readWitnessTrust,
  replaceWitnessTrust,
  witnessTrustDiff,
  WitnessTrustPinError,
  WitnessTrustStore,
  type WitnessTrustPin,
} from "./witness-trust-store.ts";

jest.setTimeout(120_000);

const OWN = "own.test/log";
const PEER = "peer.test/log";
const FILE_PEER = "file.test/log";
const key = () => ed25519Signer(generateEd25519().privateKeyPem);
const ownKey = key();
const peerKey = key();
const peerKey2 = key();
const filePeerKey = key();
const witnessKey = key();
const witness = createWitness("own.test/witness", witnessKey, [ownKey.publicKey]);

const pin = (origin: string, publicKey: string, peer = "eu"): WitnessTrustPin => ({
  origin,
  publicKey,
  peer,
});

describe("witnessTrustDiff", () => {
  const a = pin(PEER, peerKey.publicKey);
  const b = pin(PEER, peerKey2.publicKey);
  it.each<[string, WitnessTrustPin[], WitnessTrustPin[], WitnessTrustPin[], WitnessTrustPin[]]>([
    ["nothing to nothing", [], [], [], []],
    ["a new pin is added", [], [a], [a], []],
    ["an unchanged set changes nothing", [a, b], [b, a], [], []],
    ["a pin no longer wanted is removed", [a, b], [a], [], [b]],
    [
      "a key moved to another peer is removed and added",
      [a],
      [{ ...a, peer: "us" }],
      [{ ...a, peer: "us" }],
      [a],
    ],
  ])("%s", (_name, current, desired, added, removed) => {
    expect(witnessTrustDiff(current, desired)).toEqual({ added, removed });
  });
});

describe("checkWitnessTrustPin", () => {
  it.each<[string, WitnessTrustPin, string]>([
    ["an empty origin", pin("", peerKey.publicKey), "pins[0].origin"],
    ["an origin with a space", pin("a b", peerKey.publicKey), "pins[0].origin"],
    ["an origin with a '+'", pin("a+b", peerKey.publicKey), "pins[0].origin"],
    ["a short key", pin(PEER, "AAAA"), "pins[0].publicKey"],
    ["a key that is not base64", pin(PEER, "not base64!"), "pins[0].publicKey"],
    ["no peer", pin(PEER, peerKey.publicKey, ""), "pins[0].peer"],
  ])("refuses %s, naming the field", (_name, p, field) => {
    expect(() => checkWitnessTrustPin(p, "pins[0]")).toThrow(WitnessTrustPinError);
    expect(() => checkWitnessTrustPin(p, "pins[0]")).toThrow(field);
  });
  it("takes a well-formed pin", () => {
    expect(() => checkWitnessTrustPin(pin(PEER, peerKey.publicKey), "p")).not.toThrow();
  });
});

let server: PostgresServer;
let pool: pg.Pool;
let service: WitnessService;
let store: WitnessTrustStore;
const clock = fixedClock("2026-12-03T00:00:00Z", 1000);

beforeAll(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: (await server.createDatabase("trust")).url, max: 4 });
  pool.on("error", () => undefined);
  // Opening the ledger applies the migrations (ledger_witness_trust is migration 6).
  await Ledger.open({
    pool,
    clock,
    logger: pino({ level: "silent" }),
    signer: ownKey,
    origin: OWN,
  });
  store = new WitnessTrustStore({
    pool,
    fileLogs: parseWitnessTrust(`${verifierKey(FILE_PEER, fromBase64(filePeerKey.publicKey))}\n`),
    ownOrigin: OWN,
    excludedKeys: [ownKey.publicKey, witness.publicKey],
  });
  service = new WitnessService({ pool, witness, logs: store, clock });
});
afterAll(async () => {
  await pool.end();
  await server.stop();
});

/** A first add-checkpoint request of `origin`'s log at size 1, signed with `signer`. */
function firstPush(origin: string, signer = peerKey): string {
  const f = new Frontier();
  f.append(hashLeaf(new TextEncoder().encode("entry 0")));
  const note = signNote(
    formatCheckpoint({ origin, size: 1, root: f.root(), extensions: [] }),
    origin,
    signer,
  );
  return formatAddCheckpointRequest({ oldSize: 0, proof: [], note });
}
const push = async (origin: string, signer = peerKey) =>
  (await service.addCheckpoint(new TextEncoder().encode(firstPush(origin, signer)))).status;

describe("replaceWitnessTrust and the witness endpoint", () => {
  const now = new Date("2026-12-03T00:00:00Z");

  it("refuses an origin no FederationPeer pins (404), then cosigns it once pinned", async () => {
    expect(await push(PEER)).toBe(404);
    const change = await replaceWitnessTrust(
      pool,
      FEDERATION_PEERS_TRUST_SOURCE,
      [pin(PEER, peerKey.publicKey)],
      now,
    );
    expect(change).toEqual({ added: [pin(PEER, peerKey.publicKey)], removed: [] });
    expect(await push(PEER)).toBe(200);
  });

  it("writes nothing when the set is unchanged (a retry or a resync)", async () => {
    const again = await replaceWitnessTrust(
      pool,
      FEDERATION_PEERS_TRUST_SOURCE,
      [pin(PEER, peerKey.publicKey)],
      now,
    );
    expect(again).toEqual({ added: [], removed: [] });
    expect(await readWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE)).toEqual([
      pin(PEER, peerKey.publicKey),
    ]);
  });

  it("trusts every pinned key of an origin, from the file and from every source", async () => {
    await replaceWitnessTrust(pool, "other-source", [pin(PEER, peerKey2.publicKey, "x")], now);
    expect(await store.get(PEER)).toEqual({
      origin: PEER,
      publicKeys: [peerKey.publicKey, peerKey2.publicKey].sort((a, b) =>
        Buffer.compare(fromBase64(a), fromBase64(b)),
      ),
    });
    expect(await store.get(FILE_PEER)).toEqual({
      origin: FILE_PEER,
      publicKeys: [filePeerKey.publicKey],
    });
    expect(await push(FILE_PEER, filePeerKey)).toBe(200);
  });

  it("never trusts our own origin or our own keys, whatever a row says", async () => {
    await replaceWitnessTrust(
      pool,
      "other-source",
      [pin(OWN, ownKey.publicKey, "self"), pin("evil.test/log", witness.publicKey, "evil")],
      now,
    );
    expect(await store.get(OWN)).toBeUndefined();
    expect(await store.get("evil.test/log")).toBeUndefined();
    expect(await push(OWN, ownKey)).toBe(404);
  });

  it("replacing one source's set leaves another source's rows alone", async () => {
    await replaceWitnessTrust(pool, "other-source", [pin(PEER, peerKey2.publicKey, "x")], now);
    const change = await replaceWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE, [], now);
    expect(change).toEqual({ added: [], removed: [pin(PEER, peerKey.publicKey)] });
    expect(await store.get(PEER)).toEqual({ origin: PEER, publicKeys: [peerKey2.publicKey] });
  });

  it("stops cosigning a peer from the request after its pin is removed", async () => {
    await replaceWitnessTrust(pool, "other-source", [], now);
    expect(await store.get(PEER)).toBeUndefined();
    expect(await push(PEER)).toBe(404);
  });

  it("refuses a bad pin before writing anything", async () => {
    await expect(
      replaceWitnessTrust(
        pool,
        FEDERATION_PEERS_TRUST_SOURCE,
        [pin(PEER, peerKey.publicKey), pin(PEER, "AAAA")],
        now,
      ),
    ).rejects.toThrow("pins[1].publicKey");
    expect(await readWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE)).toEqual([]);
  });

  it("concurrent replacements of one source end in one of the sets, never a mix", async () => {
    const a = [pin(PEER, peerKey.publicKey, "a")];
    const b = [pin(PEER, peerKey2.publicKey, "b"), pin(FILE_PEER, filePeerKey.publicKey, "b")];
    await Promise.all([
      replaceWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE, a, now),
      replaceWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE, b, now),
    ]);
    const got = await readWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE);
    const sort = (x: WitnessTrustPin[]) =>
      witnessTrustDiff([], x)
        .added.map((p) => JSON.stringify(p))
        .sort();
    expect([sort(a), sort(b)]).toContainEqual(sort(got));
  });
});

describe("federationPeersOf", () => {
  it("gives the acceptor the pinned peer's log vkeys, named by its origin", async () => {
    await replaceWitnessTrust(
      pool,
      FEDERATION_PEERS_TRUST_SOURCE,
      [pin(PEER, peerKey.publicKey)],
      new Date(),
    );
    expect(await federationPeersOf(store).get(PEER)).toEqual({
      origin: PEER,
      logKeys: [verifierKey(PEER, fromBase64(peerKey.publicKey))],
    });
    expect(await federationPeersOf(store).get("nobody.test/log")).toBeUndefined();
  });
});
