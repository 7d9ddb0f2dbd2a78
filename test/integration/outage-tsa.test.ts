// Issue 10: the TSA goes away. The development TSA (`remembrancer tsa serve`) is killed with
// SIGKILL while workloads complete under an operator process and the ledger publisher
// (`remembrancer serve --tsa …`) publishes tree heads every second; then it is started again on
// the same port and key. Meanwhile receipts are appended, signed and Logged as usual — only their
// `Timestamped` condition stays `False Pending` — the publisher postpones publication instead of
// failing, and neither process exits. Once the TSA answers, the next tree head is stamped and
// every Receipt catches up to `Timestamped=True`, each workload with exactly one receipt.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import {
  freePort,
  logTail,
  startLoggedProcess,
  waitUntilReady,
  type LoggedProcess,
} from "../harness/server-process.ts";
import {
  cond,
  createTreaty,
  snapshot,
  spawnOperator,
  testClient,
  type OperatorProcess,
} from "./operator-env.ts";
import { expectAlive, getText, operatorHttpPort, OutageClock } from "./outage-env.ts";

const run = promisify(execFile);
const id = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=outage-tsa-${id}`;
const treatyName = `outage-tsa-${id}`;
const dir = mkdtempSync(join(tmpdir(), "vaultmesh-outage-tsa-"));
const keyDir = join(dir, "keys");
const tsaDir = join(dir, "tsa");
let client: KubeClient;
let ns = "";
let server: PostgresServer;
let db: TestDatabase;
let tsaPort = 0;
let tsa: LoggedProcess | undefined;
let publisher: LoggedProcess | undefined;
let operator: OperatorProcess | undefined;

const remembrancer = (args: string[], log: string): LoggedProcess =>
  startLoggedProcess({
    command: "node_modules/.bin/node",
    args: ["bin/remembrancer.js", ...args],
    logFile: join(dir, log),
  });

async function startTsa(): Promise<LoggedProcess> {
  const p = remembrancer(["tsa", "serve", "--port", String(tsaPort), "--dir", tsaDir], "tsa.log");
  await waitUntilReady(
    p,
    async () => (await getText(tsaPort, "/tsa-ca.crt")).status === 200,
    `the TSA on port ${tsaPort}`,
  );
  return p;
}

const timestamped = (r: Receipt): boolean =>
  r.status?.conditions?.some((c) => c.type === "Timestamped" && c.status === "True") ?? false;

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("outage-tsa");
  server = await startPostgres();
  db = await server.createDatabase("outage_tsa");
  await run("node_modules/.bin/node", ["bin/remembrancer.js", "keygen", "--dir", keyDir]);
  tsaPort = await freePort();
  tsa = await startTsa();
  publisher = remembrancer(
    [
      "serve",
      "--port",
      "0",
      "--db",
      db.url,
      "--key-dir",
      keyDir,
      "--tsa",
      `http://127.0.0.1:${tsaPort}`,
      "--tsa-ca",
      join(tsaDir, "tsa-ca.crt"),
      "--publish-every",
      "1",
    ],
    "publisher.log",
  );
  await createTreaty(client, treaty(treatyName).inCluster("a10g", 0.75).obj(), label);
}, 120_000);

afterAll(async () => {
  operator?.kill("SIGKILL");
  await operator?.exited;
  await publisher?.kill("SIGTERM");
  await tsa?.kill("SIGKILL");
  await client.delete(Resources.Treaty, { name: treatyName });
  await client.delete(Resources.Namespace, { name: ns });
  await db?.drop();
  await server?.stop();
  client.close();
}, 60_000);

describe("the TSA is killed and started again", () => {
  it("keeps receipts flowing, postpones stamping, and every Receipt catches up to Timestamped", async () => {
    operator = spawnOperator({
      VAULTMESH_LEADER_ELECT: "false",
      VAULTMESH_WATCH_NAMESPACE: ns,
      VAULTMESH_TREATY_SELECTOR: label,
      VAULTMESH_LEDGER_URL: db.url,
      VAULTMESH_SIGNING_KEY_FILE: join(keyDir, "ed25519.key"),
      VAULTMESH_LEDGER_TIMESTAMPING: "true",
      VAULTMESH_TIMESTAMP_PENDING_REQUEUE_MS: "1000",
    });
    const op = operator;
    const port = await operatorHttpPort(op);
    const pub = publisher;
    if (!pub) throw new Error("no publisher");
    const receipts = async (): Promise<Receipt[]> => (await snapshot(client, ns)).receipts;

    await client.create(
      Resources.GPUWorkload,
      gpuWorkload("before", ns).completeAfter("300ms").obj(),
    );
    await waitFor(
      "the first receipt to be time-stamped",
      async () => (await receipts()).filter(timestamped).length === 1,
      90_000,
    );

    const clock = new OutageClock("tsa");
    await tsa?.kill("SIGKILL");
    clock.down();
    for (let i = 0; i < 3; i++) {
      await client.create(
        Resources.GPUWorkload,
        gpuWorkload(`during-${i}`, ns).completeAfter("300ms").obj(),
      );
    }
    // Appended and verified all the same; only the timestamp waits.
    const pending = await waitFor(
      "the receipts of the outage to be logged and verified, their timestamp pending",
      async () => {
        const x = await snapshot(client, ns);
        const uids = new Set(
          x.workloads
            .filter((w) => w.metadata.name?.startsWith("during-"))
            .map((w) => w.metadata.uid),
        );
        const rs = x.receipts.filter((r) =>
          uids.has(r.metadata.labels?.["vaultmesh.cloud/workload-uid"]),
        );
        const ok = rs.filter(
          (r) =>
            r.status?.conditions?.some((c) => c.type === "Verified" && c.status === "True") &&
            r.status.conditions.some((c) => c.type === "Timestamped" && c.reason === "Pending"),
        );
        return ok.length === 3 ? ok : undefined;
      },
      90_000,
    );
    expect(pending).toHaveLength(3);
    await waitFor("the publisher to postpone a publication", () =>
      Promise.resolve(/tree head publication postponed/.test(logTail(pub.logFile, 200))),
    );
    expect(pub.exited()).toBeUndefined();
    await expectAlive(op, port);

    tsa = await startTsa();
    clock.back();
    const s = await waitFor(
      "every Receipt to be time-stamped",
      async () => {
        const x = await snapshot(client, ns);
        return x.receipts.length === 4 && x.receipts.every(timestamped) ? x : undefined;
      },
      90_000,
    );
    clock.recovered("every Receipt Timestamped=True");
    for (const w of s.workloads) {
      expect(cond(w, "Complete")?.status).toBe("True");
      const mine = s.receipts.filter(
        (r) => r.metadata.labels?.["vaultmesh.cloud/workload-uid"] === w.metadata.uid,
      );
      expect([w.metadata.name, mine.length]).toEqual([w.metadata.name, 1]);
    }
    expect(pub.exited()).toBeUndefined();
    expect(logTail(pub.logFile, 500)).not.toMatch(/tree head publication failed/);
    await expectAlive(op, port);
  });
});
