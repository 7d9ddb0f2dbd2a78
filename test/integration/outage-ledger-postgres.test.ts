// Issue 10, "Done means": with workloads completing, `pg_ctl stop -m immediate` on the
// ledger's Postgres. The operator process stays up (an unhandled pg `error` event used to end
// it), keeps routing and placing workloads applied during the outage, says why finished ones
// wait (ReceiptPending) and what is down (/readyz, while /healthz stays ok), and once Postgres
// is back every workload has exactly one receipt: one ledger entry, one Receipt resource.
import { mkdtempSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import type { GPUWorkload } from "../../crds/index.ts";
import { RECEIPT_PENDING } from "../../operator/controllers/gpuworkload/gpuworkload-status.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import { generateEd25519 } from "../../services/ledger/ed25519.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { createTestNamespace, waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import {
  cond,
  createTreaty,
  snapshot,
  spawnOperator,
  testClient,
  type OperatorProcess,
} from "./operator-env.ts";

const run = Math.random().toString(36).slice(2, 8);
const label = `vaultmesh.cloud/test-run=outage-${run}`;
const treatyName = `outage-pool-${run}`;
let client: KubeClient;
let ns = "";
let server: PostgresServer;
let db: TestDatabase;
let keyFile = "";
let operator: OperatorProcess | undefined;

const isDone = (w: GPUWorkload): boolean =>
  cond(w, "Complete")?.status === "True" && w.status?.receiptRef !== undefined;

// node:http without keep-alive: no socket outlives the test (fetch would keep one open).
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

async function createAll(prefix: string, n: number, after: string): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.create(
        Resources.GPUWorkload,
        gpuWorkload(`${prefix}-${i}`, ns).completeAfter(after).obj(),
      ),
    ),
  );
}

beforeAll(async () => {
  client = await testClient();
  ns = await createTestNamespace("outage-pg");
  // Its own server: crashing the shared one would fail every other test file's ledger.
  server = await startPostgres({ dedicated: true });
  db = await server.createDatabase("outage");
  const dir = mkdtempSync(join(tmpdir(), "vaultmesh-outage-key-"));
  keyFile = join(dir, "signing-key.pem");
  writeFileSync(keyFile, generateEd25519().privateKeyPem, { mode: 0o600 });
  await createTreaty(client, treaty(treatyName).inCluster("a10g", 0.75).obj(), label);
});

afterAll(async () => {
  operator?.kill("SIGKILL");
  await operator?.exited;
  await client.delete(Resources.Treaty, { name: treatyName });
  await client.delete(Resources.Namespace, { name: ns });
  await server?.stop();
  client.close();
});

describe("the ledger's Postgres stops with -m immediate", () => {
  it("keeps the operator up and routing, then lands every receipt exactly once", async () => {
    operator = spawnOperator({
      VAULTMESH_LEADER_ELECT: "false",
      VAULTMESH_WATCH_NAMESPACE: ns,
      VAULTMESH_TREATY_SELECTOR: label,
      VAULTMESH_LEDGER_URL: db.url,
      VAULTMESH_SIGNING_KEY_FILE: keyFile,
      VAULTMESH_WORKERS: "4",
    });
    const op = operator;
    const port = await waitFor("the operator's HTTP port", () => {
      const m = /"port":(\d+)[^\n]*serving \/metrics/.exec(op.output());
      return Promise.resolve(m ? Number(m[1]) : undefined);
    });

    // Before: workloads complete with their receipts, so the pool holds live connections.
    await createAll("before", 4, "300ms");
    await waitFor(
      "the first workloads to complete",
      async () => (await snapshot(client, ns)).workloads.filter(isDone).length === 4,
      60000,
    );
    // Quiescent: every Receipt verified against the ledger, so the pool now holds idle
    // connections — the ones whose unhandled `error` used to end the process.
    await waitFor(
      "the first receipts to be verified",
      async () => {
        const rs = (await snapshot(client, ns)).receipts;
        return (
          rs.length === 4 &&
          rs.every((r) =>
            r.status?.conditions?.some((c) => c.type === "Verified" && c.status === "True"),
          )
        );
      },
      60000,
    );
    // Workloads finishing while the database is away, then the crash itself.
    await createAll("during", 4, "2s");
    await server.crash();
    const crashedAt = Date.now();

    // Applied during the outage: routed and placed all the same.
    await createAll("applied", 3, "1s");
    await waitFor(
      "workloads applied during the outage to be routed and placed",
      async () => {
        const s = await snapshot(client, ns);
        const applied = s.workloads.filter((w) => w.metadata.name?.startsWith("applied-"));
        const placed = applied.filter(
          (w) =>
            cond(w, "Routed")?.status === "True" &&
            s.jobs.some((j) => j.metadata.name === w.status?.jobRef?.name),
        );
        return placed.length === 3;
      },
      60000,
    );
    // Finished ones say why they wait; /readyz says what is down; /healthz stays ok.
    const pending = await waitFor(
      "a finished workload waiting for its receipt",
      async () =>
        (await snapshot(client, ns)).workloads.find(
          (w) => cond(w, "Complete")?.reason === RECEIPT_PENDING,
        ),
      60000,
    );
    expect(cond(pending, "Complete")?.message).toMatch(/waiting for the ledger/);
    const readyz = await waitFor("/readyz to report the ledger down", async () => {
      const r = await get(port, "/readyz");
      return /ledger-postgres down/.test(r.body) ? r : undefined;
    });
    expect(readyz.body).toMatch(/\[\+\]informers ok/);
    expect((await get(port, "/healthz")).status).toBe(200);
    expect(op.child.exitCode).toBeNull();

    // After: the database returns; every workload completes with exactly one receipt.
    const outageStarted = crashedAt;
    await server.restart();
    const restartedAt = Date.now();
    const s = await waitFor(
      "every workload to complete after the database returned",
      async () => {
        const x = await snapshot(client, ns);
        return x.workloads.length === 11 && x.workloads.every(isDone) ? x : undefined;
      },
      120000,
    );
    // A figure for docs/operations.md, not an assertion (no timing assertions in tests).
    process.stderr.write(
      `[outage] ledger Postgres down ${((restartedAt - outageStarted) / 1000).toFixed(1)}s; ` +
        `every receipt landed ${((Date.now() - restartedAt) / 1000).toFixed(1)}s after it returned\n`,
    );
    for (const w of s.workloads) {
      const uid = w.metadata.uid;
      const receipts = s.receipts.filter(
        (r) => r.metadata.labels?.["vaultmesh.cloud/workload-uid"] === uid,
      );
      expect([w.metadata.name, receipts.length]).toEqual([w.metadata.name, 1]);
    }
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const rows = await pool.query<{ subject: string; n: string }>(
        "SELECT subject, count(*) AS n FROM ledger_entries WHERE type IN ('WorkloadCompleted','WorkloadFailed') GROUP BY subject",
      );
      const uids = rows.rows.map((r) => (JSON.parse(r.subject) as { uid: string }).uid).sort();
      expect(uids).toEqual(s.workloads.map((w) => w.metadata.uid).sort());
      expect(rows.rows.every((r) => Number(r.n) === 1)).toBe(true);
    } finally {
      await pool.end();
    }
    await waitFor("/readyz to report the ledger back", async () =>
      /\[\+\]ledger-postgres ok/.test((await get(port, "/readyz")).body),
    );
    expect(op.child.exitCode).toBeNull();
    expect(op.output()).not.toMatch(/Unhandled 'error' event/);
  });
});
