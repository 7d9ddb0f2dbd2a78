// Issue 10 for the webhook server: its denial ledger's Postgres crashes (`pg_ctl stop -m
// immediate`, on a dedicated private server) and comes back. The server's one DependencyHealth
// tells the truth throughout — /readyz lists `ledger-postgres` down with the reason while the
// server stays ready and /healthz ok, /metrics has vaultmesh_dependency_up 0 — the process
// survives the pool's error events, and a denial made during the outage waits (retryOutages, as
// main.ts wires it) and lands exactly once when the database returns.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { systemClock } from "../../services/ledger/clock.ts";
import { generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger } from "../../services/ledger/ledger.ts";
import { buildServer, type ReadyzBody } from "../../webhooks/app.ts";
import type { DenialRecord } from "../../webhooks/deps.ts";
import { openDenialLedger, type DenialLedger } from "../../webhooks/denial-ledger.ts";
import { MemoryLookups } from "../../webhooks/memory-lookups.ts";
import { WebhookMetrics, webhookDependencyHealth } from "../../webhooks/metrics.ts";
import { waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer } from "../harness/postgres.ts";

let postgres: PostgresServer;
let denials: DenialLedger;
let app: FastifyInstance;
let keyDir: string;
let ledgerUrl: string;
const metrics = new WebhookMetrics();
const logger = pino({ level: "silent" });

const denial = (n: number): DenialRecord => ({
  webhook: "gpuworkloads.validate.vaultmesh.cloud",
  policy: "gpuworkload",
  path: "/validate/gpuworkloads",
  requestUid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  operation: "CREATE",
  group: "vaultmesh.cloud",
  version: "v1alpha1",
  kind: "GPUWorkload",
  namespace: "tenant-acme",
  name: `w${n}`,
  username: "alice",
  errors: [{ field: "spec.gpu.count", message: "Invalid value: 99: over the quota of 8" }],
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
});

async function readyz(): Promise<{ code: number; body: ReadyzBody }> {
  const r = await app.inject({ url: "/readyz" });
  return { code: r.statusCode, body: r.json<ReadyzBody>() };
}

async function counts(): Promise<Record<string, number>> {
  const values = (await metrics.denialReceipts.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.result), v.value]));
}

async function upGauge(): Promise<string | undefined> {
  const text = (await app.inject({ url: "/metrics" })).body;
  return /^vaultmesh_dependency_up\{dependency="ledger-postgres"\} (\d)$/m.exec(text)?.[1];
}

beforeAll(async () => {
  postgres = await startPostgres({ dedicated: true });
  const db = await postgres.createDatabase("denials");
  ledgerUrl = db.url;
  keyDir = mkdtempSync(join(tmpdir(), "vaultmesh-denial-outage-"));
  const signingKeyFile = join(keyDir, "ed25519.key");
  writeFileSync(signingKeyFile, generateEd25519().privateKeyPem, { mode: 0o600 });
  // As webhooks/main.ts wires it: one DependencyHealth, the ledger registered there.
  const health = webhookDependencyHealth(metrics, { clock: systemClock, logger });
  denials = openDenialLedger(
    { ledgerUrl: db.url, signingKeyFile, queueSize: 100 },
    { logger, metrics, health, retryOutages: { intervalMs: 200 } },
  );
  app = buildServer({
    lookups: new MemoryLookups(),
    metrics,
    health,
    recordDenial: denials.recorder.record,
  });
});

afterAll(async () => {
  await app?.close();
  await denials?.close();
  await postgres?.stop();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

describe("the webhook server through a crash of its denial ledger's Postgres", () => {
  it("records, reports the outage truthfully while staying ready, and records again after", async () => {
    await waitFor("ledger-postgres up", async () =>
      (await readyz()).body.dependencies?.includes("[+]ledger-postgres ok"),
    );
    denials.recorder.record(denial(1));
    await denials.recorder.drain();
    expect(await counts()).toEqual({ recorded: 1 });
    expect(await upGauge()).toBe("1");

    await postgres.crash();
    const down = await waitFor("/readyz to report the ledger down", async () => {
      const r = await readyz();
      return r.body.dependencies?.[0]?.startsWith("[~]ledger-postgres down: ") ? r : undefined;
    });
    // Degraded, not unready: admission goes on without the ledger.
    expect(down.code).toBe(200);
    expect(down.body.status).toBe("ready");
    expect(down.body.dependencies?.[0]).toMatch(
      /^\[~\]ledger-postgres down: (ConnectionLost|Unreachable|ServerUnavailable): .+; degraded: admission goes on/,
    );
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect(await upGauge()).toBe("0");

    expect(down.body.dependencies?.[0]).toContain(
      "degraded: admission goes on; denial receipts queue and are appended when it returns",
    );
    // A denial during the outage waits for the database (never thrown at admission).
    denials.recorder.record(denial(2));
    const held = denials.recorder.drain();

    await postgres.restart();
    await held;
    await waitFor("/readyz to report the ledger back", async () =>
      (await readyz()).body.dependencies?.includes("[+]ledger-postgres ok"),
    );
    denials.recorder.record(denial(3));
    await denials.recorder.drain();
    // Nothing failed, nothing lost: three denials, three receipts, each once.
    expect(await counts()).toEqual({ recorded: 3 });
    expect(await upGauge()).toBe("1");
    const pool = new pg.Pool({ connectionString: ledgerUrl, max: 1 });
    try {
      const reader = await Ledger.open({ pool, clock: systemClock, logger });
      const entries = await reader.list({ type: "PolicyDenied", limit: 100 });
      expect(entries).toHaveLength(3);
    } finally {
      await pool.end();
    }
  });
});
