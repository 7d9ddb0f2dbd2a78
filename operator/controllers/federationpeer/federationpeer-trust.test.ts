// The witness trust follows the FederationPeers (ADR 0094): which peers are pinned (the pure
// rule, table-tested) and the whole set written into a real ledger database on each reconcile.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { generateKeyPairSync } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import type { FederationPeer } from "../../../crds/index.ts";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { COSIGNATURE_V1_ALG, verifierKey } from "../../../services/ledger/checkpoint.ts";
import { fixedClock } from "../../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../../services/ledger/ed25519.ts";
import { Ledger } from "../../../services/ledger/ledger.ts";
import {
  FEDERATION_PEERS_TRUST_SOURCE,
  readWitnessTrust,
} from "../../../services/federation/witness-trust-store.ts";
import { rawEd25519FromPem } from "./federationpeer-config.ts";
import {
  syncWitnessTrust,
  witnessTrustOfPeers,
  witnessTrustSource,
} from "./federationpeer-trust.ts";

jest.setTimeout(120_000);

const OWN = "us.example/vaultmesh";
const pem = () =>
  generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }).toString();
const witnessVkey = (origin: string) =>
  verifierKey(
    `${origin}/witness`,
    Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!, "base64url"),
    COSIGNATURE_V1_ALG,
  );
const euPem = pem();
const euPem2 = pem();
const apPem = pem();

function peer(
  name: string,
  origin: string,
  pems: string[],
  edit: (p: FederationPeer) => void = () => undefined,
): FederationPeer {
  const p: FederationPeer = {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "FederationPeer",
    metadata: { name },
    spec: {
      endpoint: "http://127.0.0.1:9000",
      trustAnchor: {
        origin,
        keys: pems.map((publicKey, i) => ({ keyId: `k${i}`, algorithm: "Ed25519", publicKey })),
        witnessKey: witnessVkey(origin),
      },
      syncIntervalSeconds: 60,
      suspended: false,
    },
  };
  edit(p);
  return p;
}

const eu = peer("eu", "eu.example/vaultmesh", [euPem, euPem2]);
const ap = peer("ap", "ap.example/vaultmesh", [apPem]);
const raw = rawEd25519FromPem;

describe("witnessTrustOfPeers", () => {
  it.each<
    [string, FederationPeer[], { origin: string; publicKey: string; peer: string }[], string[]]
  >([
    ["no peers", [], [], []],
    [
      "every Ed25519 key of every peer, by name",
      [eu, ap],
      [
        { origin: "ap.example/vaultmesh", publicKey: raw(apPem), peer: "ap" },
        { origin: "eu.example/vaultmesh", publicKey: raw(euPem), peer: "eu" },
        { origin: "eu.example/vaultmesh", publicKey: raw(euPem2), peer: "eu" },
      ],
      [],
    ],
    [
      "a suspended peer is not trusted",
      [peer("eu", "eu.example/vaultmesh", [euPem], (p) => (p.spec.suspended = true))],
      [],
      [],
    ],
    [
      "a peer being deleted is not trusted",
      [
        peer("eu", "eu.example/vaultmesh", [euPem], (p) => {
          p.metadata.deletionTimestamp = "2026-12-03T00:00:00Z";
        }),
      ],
      [],
      [],
    ],
    ["a peer with our own origin is skipped", [peer("me", OWN, [euPem])], [], ["me"]],
    [
      "a peer whose key does not parse is skipped",
      [peer("bad", "bad.example/vaultmesh", ["not a pem"])],
      [],
      ["bad"],
    ],
    [
      "two peers pinning one key: the first by name records it",
      [peer("z", "eu.example/vaultmesh", [euPem]), peer("a", "eu.example/vaultmesh", [euPem])],
      [{ origin: "eu.example/vaultmesh", publicKey: raw(euPem), peer: "a" }],
      [],
    ],
  ])("%s", (_name, peers, pins, skipped) => {
    const got = witnessTrustOfPeers(peers, OWN);
    expect(got.pins).toEqual(pins);
    expect(got.skipped.map((s) => s.peer)).toEqual(skipped);
  });
});

describe("witnessTrustSource", () => {
  it.each([
    [undefined, FEDERATION_PEERS_TRUST_SOURCE],
    ["", FEDERATION_PEERS_TRUST_SOURCE],
    ["shard=a", `${FEDERATION_PEERS_TRUST_SOURCE}:shard=a`],
  ])("%s → %s", (selector, source) => expect(witnessTrustSource(selector)).toBe(source));
});

describe("syncWitnessTrust", () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let ledger: Ledger;
  const clock = fixedClock("2026-12-03T00:00:00Z", 1000);
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: (await server.createDatabase("fedtrust")).url, max: 4 });
    pool.on("error", () => undefined);
    ledger = await Ledger.open({
      pool,
      clock,
      logger: pino({ level: "silent" }),
      signer: ed25519Signer(generateEd25519().privateKeyPem),
      origin: OWN,
    });
  });
  afterAll(async () => {
    await pool.end();
    await server.stop();
  });

  it("records the cached peers, follows a deletion, and rewrites nothing unchanged", async () => {
    let cached: FederationPeer[] = [eu, ap];
    const deps = {
      peers: { list: () => cached, on: () => undefined },
      ledger: () => Promise.resolve(ledger),
      clock,
    };
    const first = await syncWitnessTrust(deps);
    expect(first.added).toHaveLength(3);
    expect(
      (await readWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE)).map((p) => p.peer),
    ).toEqual(expect.arrayContaining(["ap", "eu", "eu"]));
    expect(await syncWitnessTrust(deps)).toEqual({ added: [], removed: [] });
    cached = [ap];
    const second = await syncWitnessTrust(deps);
    expect(second.removed.map((p) => p.peer)).toEqual(["eu", "eu"]);
    expect(await readWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE)).toEqual([
      { origin: "ap.example/vaultmesh", publicKey: raw(apPem), peer: "ap" },
    ]);
  });
});
