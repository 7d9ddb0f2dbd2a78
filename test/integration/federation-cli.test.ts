// Issue 11 item 4 against the real control plane: `remembrancer federation join --apply` creates
// the FederationPeer (server-side apply, again idempotent), and `federation status --cluster`
// shows, per peer origin, what the ledger database holds next to the resource's conditions.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import type { FederationPeer } from "../../crds/index.ts";
import { createWitness } from "../../services/federation/cosignature.ts";
import { WitnessService } from "../../services/federation/witness-service.ts";
import { createKubeClient, Resources, type KubeClient } from "../../services/kube/index.ts";
import { fromBase64 } from "../../services/ledger/canonical-json.ts";
import {
  COSIGNATURE_V1_ALG,
  formatCheckpoint,
  signNote,
  verifierKey,
} from "../../services/ledger/checkpoint.ts";
import { fixedClock } from "../../services/ledger/clock.ts";
import { ed25519Signer, generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { testCli, type TestCli } from "../../services/ledger/cli/cli-test-io.ts";
import { startPostgres, type PostgresServer } from "../harness/postgres.ts";

const RUN = Math.random().toString(36).slice(2, 8);
const NAME = `fedcli-${RUN}`;
const PEER_ORIGIN = `peer-${RUN}.example/log`;
const clock = fixedClock("2026-12-03T10:00:00Z", 1000);
const peerLog = ed25519Signer(generateEd25519().privateKeyPem);
const peerWitness = ed25519Signer(generateEd25519().privateKeyPem);
const LOG_VKEY = verifierKey(PEER_ORIGIN, fromBase64(peerLog.publicKey));
const WITNESS_VKEY = verifierKey(
  `${PEER_ORIGIN}/witness`,
  fromBase64(peerWitness.publicKey),
  COSIGNATURE_V1_ALG,
);

let dir: string;
let server: PostgresServer;
let dbUrl: string;
let client: KubeClient;
let cli: TestCli["run"];
const stop = new AbortController();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-fed-cli-"));
  client = await createKubeClient({ fieldManager: "vaultmesh-test" });
  server = await startPostgres();
  dbUrl = (await server.createDatabase("fedcli")).url;
  const t = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stop.signal);
  cli = (...args) => t.run(...args);
  // Our ledger's witness cosigns one checkpoint of the peer: the row `status` reads.
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  pool.on("error", () => undefined); // an idle client may meet the teardown's drop
  try {
    const ours = ed25519Signer(generateEd25519().privateKeyPem);
    await Ledger.open({
      pool,
      clock,
      logger: pino({ level: "silent" }),
      signer: ours,
      origin: `us-${RUN}.example/log`,
    });
    const witness = createWitness(
      `us-${RUN}.example/log/witness`,
      ed25519Signer(generateEd25519().privateKeyPem),
      [ours.publicKey],
    );
    const logs = new Map([[PEER_ORIGIN, { origin: PEER_ORIGIN, publicKeys: [peerLog.publicKey] }]]);
    const body = formatCheckpoint({
      origin: PEER_ORIGIN,
      size: 3,
      root: new Uint8Array(32).fill(3),
      extensions: [],
    });
    const note = signNote(body, PEER_ORIGIN, peerLog);
    const r = await new WitnessService({ pool, witness, logs, clock }).addCheckpoint(
      new TextEncoder().encode(`old 0\n\n${note}`),
    );
    expect(r.status).toBe(200);
  } finally {
    await pool.end();
  }
});

afterAll(async () => {
  await client.delete(Resources.FederationPeer, { name: NAME }).catch(() => undefined);
  client.close();
  stop.abort();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("remembrancer federation against a cluster", () => {
  const join = (): ReturnType<TestCli["run"]> =>
    cli(
      "federation",
      "join",
      "--peer",
      "http://127.0.0.1:9/",
      "--trust-anchor",
      LOG_VKEY,
      "--trust-anchor",
      WITNESS_VKEY,
      "--name",
      NAME,
      "--apply",
    );

  it("join --apply creates the FederationPeer, and applying again changes nothing", async () => {
    expect(await join()).toMatchObject({
      code: 0,
      out: `federationpeer.vaultmesh.cloud/${NAME} applied\n`,
    });
    const created = await client.get<FederationPeer>(Resources.FederationPeer, NAME);
    expect(created?.spec.trustAnchor).toMatchObject({
      origin: PEER_ORIGIN,
      witnessKey: WITNESS_VKEY,
    });
    expect(created?.spec.trustAnchor.keys[0]?.keyId).toBe(peerLog.keyId);
    expect((await join()).code).toBe(0);
    expect(
      (await client.get<FederationPeer>(Resources.FederationPeer, NAME))?.metadata.generation,
    ).toBe(created?.metadata.generation);
  });

  it("status --cluster shows the ledger's trusted checkpoint of the peer and the resource's conditions", async () => {
    const peer = (await client.get<FederationPeer>(Resources.FederationPeer, NAME))!;
    const lastTransitionTime = "2026-12-03T10:00:00Z";
    await client.replaceStatus(Resources.FederationPeer, {
      ...peer,
      status: {
        conditions: [
          {
            type: "Reachable",
            status: "False",
            reason: "Unreachable",
            message: "test",
            lastTransitionTime,
          },
        ],
      },
    });
    const r = await cli("federation", "status", "--cluster");
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `${PEER_ORIGIN} (FederationPeer ${NAME})\n  trusted      size 3 root ${"03".repeat(32)}`,
    );
    expect(r.out).toMatch(new RegExp(`FederationPeer ${NAME}\\)[^]*?conditions {3}\\S*Reachable=`));
  });
});
