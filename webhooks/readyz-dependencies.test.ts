// The webhook server's /readyz and /metrics report its dependencies (ADR 0071): the one
// DependencyHealth main.ts creates, with the denial ledger's Postgres registered as a degraded
// dependency — down, it is listed with its reason and the server stays ready; the existing
// reasons (caches, certificate) are unchanged. The ledger's database is a loopback port nothing
// listens on, so the real pool and probe see a real ECONNREFUSED.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { fixedClock } from "../services/ledger/clock.ts";
import { generateEd25519 } from "../services/ledger/ed25519.ts";
import { OutageReason } from "../services/dependency-health/index.ts";
import { buildServer, readyzBody } from "./app.ts";
import { DENIAL_LEDGER_DEPENDENCY, openDenialLedger } from "./denial-ledger.ts";
import { MemoryLookups } from "./memory-lookups.ts";
import { WebhookMetrics, webhookDependencyHealth } from "./metrics.ts";

const silent = pino({ level: "silent" });
const clock = fixedClock("2026-01-01T00:00:00Z", 1000);
const keyDir = mkdtempSync(join(tmpdir(), "vaultmesh-readyz-deps-"));
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns true (no timing assertion: jest's timeout bounds it). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describe("readyzBody", () => {
  const status = {
    name: "ledger-postgres",
    reason: "Unreachable",
    message: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1",
    since: "2026-01-01T00:00:00.000Z",
    whileDown: "denials queue",
  };
  it.each([
    { name: "no dependencies", reasons: [], deps: [], want: { status: "ready" } },
    {
      name: "existing reasons unchanged",
      reasons: ["caches not synced", "certificate: none yet"],
      deps: [],
      want: { status: "not ready", reasons: ["caches not synced", "certificate: none yet"] },
    },
    {
      name: "degraded dependency down: listed, still ready",
      reasons: [],
      deps: [{ ...status, state: "Down" as const, required: false }],
      want: {
        status: "ready",
        dependencies: [
          "[~]ledger-postgres down: Unreachable: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (since 2026-01-01T00:00:00.000Z); degraded: denials queue",
        ],
      },
    },
    {
      name: "required dependency down: a reason too",
      reasons: ["caches not synced"],
      deps: [{ ...status, state: "Down" as const, required: true }],
      want: {
        status: "not ready",
        reasons: [
          "caches not synced",
          "[-]ledger-postgres down: Unreachable: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (since 2026-01-01T00:00:00.000Z)",
        ],
        dependencies: [
          "[-]ledger-postgres down: Unreachable: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (since 2026-01-01T00:00:00.000Z)",
        ],
      },
    },
    {
      name: "dependency up",
      reasons: [],
      deps: [{ ...status, state: "Up" as const, reason: "Connected", required: false }],
      want: { status: "ready", dependencies: ["[+]ledger-postgres ok"] },
    },
  ])("$name", ({ reasons, deps, want }) => {
    expect(readyzBody(reasons, deps)).toEqual(want);
  });
});

describe("the server's dependencies on /readyz and /metrics", () => {
  it("lists a dependency with its state and exports vaultmesh_dependency_up", async () => {
    const metrics = new WebhookMetrics();
    const health = webhookDependencyHealth(metrics, { clock, logger: silent });
    const dep = health.register("ledger-postgres", { whileDown: "denials queue" });
    const lookups = new MemoryLookups();
    let reasons: string[] = [];
    const app = buildServer({ lookups, metrics, health }, { readiness: () => reasons });
    try {
      let res = await app.inject({ url: "/readyz" });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: "ready",
        dependencies: [
          "[~]ledger-postgres not yet connected: NotConnected (since 2026-01-01T00:00:00.000Z); degraded: denials queue",
        ],
      });
      dep.up();
      expect((await app.inject({ url: "/readyz" })).json()).toEqual({
        status: "ready",
        dependencies: ["[+]ledger-postgres ok"],
      });
      expect((await app.inject({ url: "/metrics" })).body).toMatch(
        /^vaultmesh_dependency_up\{dependency="ledger-postgres"\} 1$/m,
      );
      dep.down(OutageReason.ConnectionLost, new Error("Connection terminated unexpectedly"));
      // The certificate reason is reported exactly as before; the dependency adds its line.
      reasons = ["certificate: secret ns/tls not read yet"];
      res = await app.inject({ url: "/readyz" });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: "not ready",
        reasons: ["certificate: secret ns/tls not read yet"],
        dependencies: [
          expect.stringMatching(
            /^\[~\]ledger-postgres down: ConnectionLost: Connection terminated unexpectedly \(since .*\); degraded: denials queue$/,
          ),
        ],
      });
      const text = (await app.inject({ url: "/metrics" })).body;
      expect(text).toMatch(/^vaultmesh_dependency_up\{dependency="ledger-postgres"\} 0$/m);
      expect(text).toMatch(
        /^vaultmesh_dependency_outages_total\{dependency="ledger-postgres"\} 1$/m,
      );
      // Liveness never looks at dependencies.
      expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("the denial ledger registers its Postgres in the server's health; unreachable, the server stays ready", async () => {
    const key = generateEd25519();
    const signingKeyFile = join(keyDir, "ed25519.key");
    writeFileSync(signingKeyFile, key.privateKeyPem, { mode: 0o600 });
    const metrics = new WebhookMetrics();
    const health = webhookDependencyHealth(metrics, { clock, logger: silent });
    const denials = openDenialLedger(
      {
        ledgerUrl: `postgres://postgres@127.0.0.1:${await closedPort()}/ledger`,
        signingKeyFile,
        queueSize: 10,
      },
      { logger: silent, metrics, health },
    );
    const app = buildServer({
      lookups: new MemoryLookups(),
      metrics,
      health,
      recordDenial: denials.recorder.record,
    });
    try {
      // The probe finds the database away without any denial being recorded.
      await until(() => health.statuses()[0]?.state === "Down");
      const res = await app.inject({ url: "/readyz" });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ status: string; dependencies: string[] }>();
      expect(body.status).toBe("ready");
      expect(body.dependencies).toEqual([
        expect.stringMatching(
          new RegExp(
            `^\\[~\\]${DENIAL_LEDGER_DEPENDENCY} down: Unreachable: .*ECONNREFUSED.*; degraded: admission goes on`,
          ),
        ),
      ]);
      expect((await app.inject({ url: "/metrics" })).body).toMatch(
        /^vaultmesh_dependency_up\{dependency="ledger-postgres"\} 0$/m,
      );
    } finally {
      await app.close();
      await denials.close();
    }
  });
});
