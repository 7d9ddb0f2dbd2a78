// `remembrancer serve --witness-trust … --witness-key …`: the witness endpoint of a real
// server process over a private Postgres, and the options' bad input.
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres, type PostgresServer } from "../../test/harness/postgres.ts";
import { fromBase64 } from "../ledger/canonical-json.ts";
import { formatCheckpoint, signNote, verifierKey } from "../ledger/checkpoint.ts";
import { ed25519Signer, generateEd25519 } from "../ledger/ed25519.ts";
import { EMPTY_ROOT } from "../ledger/merkle.ts";
import { testCli, type TestCli } from "../ledger/cli/cli-test-io.ts";
import { formatAddCheckpointRequest } from "./witness-protocol.ts";

// Starting a private Postgres can take seconds on a busy 2-core machine.
jest.setTimeout(60_000);

const PEER = "peer.test/serve";
const peer = generateEd25519();
const witnessPem = generateEd25519().privateKeyPem;
let dir: string;
let server: PostgresServer;
let cli: TestCli;
const stop = new AbortController();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-witness-"));
  server = await startPostgres();
  const dbUrl = (await server.createDatabase("witness_serve")).url;
  cli = testCli(dir, () => ({ DATABASE_URL: dbUrl }), stop.signal);
  const vkey = verifierKey(PEER, fromBase64(ed25519Signer(peer.privateKeyPem).publicKey));
  writeFileSync(join(dir, "trust.txt"), `# the peer\n${vkey}\n`);
  writeFileSync(join(dir, "bad-trust.txt"), `${vkey}\nnot a key\n`);
  writeFileSync(join(dir, "witness.pem"), witnessPem);
});
afterAll(async () => {
  stop.abort();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("remembrancer serve --witness-trust", () => {
  it.each<[string[], RegExp]>([
    [
      ["--witness-trust", "bad-trust.txt", "--witness-key", "witness.pem"],
      /bad-trust\.txt: witness trust line 2/,
    ],
    [["--witness-trust", "trust.txt"], /--witness-trust needs --witness-key/],
    [["--witness-key", "witness.pem"], /need --witness-trust FILE/],
    [
      ["--witness-trust", "missing.txt", "--witness-key", "witness.pem"],
      /witness trust file not found: missing\.txt/,
    ],
  ])("refuses %j", async (args, message) => {
    const r = await cli.run("serve", "--port", "0", "--witness-name", "w.test/witness", ...args);
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(message) });
  });

  it("serves add-checkpoint and cosigns a peer checkpoint", async () => {
    const { match, done } = await cli.start(
      [
        "serve",
        "--port",
        "0",
        "--witness-trust",
        "trust.txt",
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
      ed25519Signer(peer.privateKeyPem),
    );
    const r = await fetch(match[2]!, {
      method: "POST",
      body: formatAddCheckpointRequest({ oldSize: 0, proof: [], note }),
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/^— w\.test\/witness \S+\n$/);
    stop.abort();
    expect(await done).toBe(0);
  });
});
