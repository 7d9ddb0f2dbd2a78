// `remembrancer serve --witness-trust-db --witness-key …` (ADR 0094): a real server process over
// a private Postgres whose witness trusts the peers recorded in ledger_witness_trust — a peer
// pinned while the server runs is cosigned from the next request on, with no restart.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { formatCheckpoint, signNote } from "../ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { EMPTY_ROOT } from "../ledger/merkle.ts";
import { testCli, type TestCli } from "../ledger/cli/cli-test-io.ts";
import { formatAddCheckpointRequest } from "./witness-protocol.ts";
import { FEDERATION_PEERS_TRUST_SOURCE, replaceWitnessTrust } from "./witness-trust-store.ts";

jest.setTimeout(60_000);

const PEER = "peer.test/db-trust";
const peer = ed25519Signer(generateEd25519().privateKeyPem);
let dir: string;
let server: PostgresServer;
let pool: pg.Pool;
let cli: TestCli;
const stop = new AbortController();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-witness-db-"));
  server = await startPostgres();
  const dbUrl = (await server.createDatabase("witness_trust_serve")).url;
  pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  pool.on("error", () => undefined);
  cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stop.signal);
  writeFileSync(join(dir, "witness.pem"), generateEd25519().privateKeyPem);
});
afterAll(async () => {
  stop.abort();
  await pool.end();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("remembrancer serve --witness-trust-db", () => {
  it("refuses --witness-trust-db without --witness-key", async () => {
    const r = await cli.run("serve", "--port", "0", "--witness-trust-db");
    expect(r).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--witness-trust-db needs --witness-key/),
    });
  });

  it("cosigns a peer from the request after the operator records its pin", async () => {
    const { match, done } = await cli.start(
      [
        "serve",
        "--port",
        "0",
        "--witness-trust-db",
        "--witness-key",
        "witness.pem",
        "--witness-name",
        "w.test/witness",
      ],
      /witness (w\.test\/witness\+\S+) at (\S+)/,
    );
    const note = signNote(
      formatCheckpoint({ origin: PEER, size: 0, root: EMPTY_ROOT, extensions: [] }),
      PEER,
      peer,
    );
    const push = () =>
      fetch(match[2]!, {
        method: "POST",
        body: formatAddCheckpointRequest({ oldSize: 0, proof: [], note }),
      });
    expect((await push()).status).toBe(404);
    await replaceWitnessTrust(
      pool,
      FEDERATION_PEERS_TRUST_SOURCE,
      [{ origin: PEER, publicKey: peer.publicKey, peer: "peer" }],
      new Date(),
    );
    const r = await push();
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/^— w\.test\/witness \S+\n$/);
    await replaceWitnessTrust(pool, FEDERATION_PEERS_TRUST_SOURCE, [], new Date());
    expect((await push()).status).toBe(404);
    stop.abort();
    expect(await done).toBe(0);
  });
});
