// `vaultmesh slo-report --record` (ADR 0116): the report is signed, timestamped, recorded in a
// real ledger (Postgres) as an `slo.report` receipt with the report as its artifact, and its
// evidence passes `remembrancer verify-full` — and fails it once the report is altered.
// Prometheus here is a loopback stand-in; the soak test measures a real one.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { fixedClock, systemClock } from "../../services/ledger/clock.ts";
import { runCli } from "../../services/ledger/cli/remembrancer.ts";
import { digestString } from "../../services/ledger/canonical-json.ts";
import { runVaultmeshCli, SLO_EXIT } from "../../services/slo/slo-cli.ts";
import { HEALTHY, startFakePrometheus } from "../../services/slo/slo-test-prometheus.ts";
import { generateTsaCredentials } from "../../services/tsa/tsa-certs.ts";
import { createTsaResponder } from "../../services/tsa/tsa-responder.ts";
import { buildTsaServer, listenTsa } from "../../services/tsa/tsa-server.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";

let dir = "";
let server: PostgresServer;
let db: TestDatabase;
let tsaUrl = "";
let tsaCa = "";
let stopTsa: () => Promise<void> = () => Promise.resolve();
let prometheus: { url: string; close: () => Promise<void> };

const io = (cwd: string, out: string[]) => ({
  stdout: (t: string) => void out.push(t),
  stderr: (t: string) => void out.push(t),
  env: {},
  cwd,
  clock: systemClock,
  logger: pino({ level: "silent" }),
});

async function remembrancer(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli(args, io(dir, out));
  return { code, out: out.join("") };
}

async function sloReport(): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runVaultmeshCli(
    [
      "slo-report",
      "--prometheus",
      prometheus.url,
      "--window",
      "72h",
      "--record",
      "--db",
      db.url,
      "--key-dir",
      join(dir, "keys"),
      "--tsa",
      tsaUrl,
      "--tsa-ca",
      tsaCa,
    ],
    { ...io(dir, out), clock: fixedClock("2026-12-03T12:00:00Z") },
  );
  return { code, out: out.join("") };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vaultmesh-slo-receipt-"));
  server = await startPostgres();
  db = await server.createDatabase("slo");
  const credentials = await generateTsaCredentials(systemClock);
  const responder = await createTsaResponder({ credentials, clock: systemClock });
  const app = buildTsaServer({ responder });
  tsaUrl = await listenTsa(app, 0);
  stopTsa = () => app.close();
  tsaCa = join(dir, "tsa-ca.crt");
  writeFileSync(tsaCa, responder.caCertificatePem);
  prometheus = await startFakePrometheus(HEALTHY);
  expect((await remembrancer(["keygen", "--dir", join(dir, "keys")])).code).toBe(0);
});

afterAll(async () => {
  await prometheus?.close();
  await stopTsa();
  await db?.drop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("vaultmesh slo-report --record", () => {
  it("records the report as an slo.report receipt whose evidence verify-full accepts", async () => {
    const r = await sloReport();
    expect(r.out).toMatch(/recorded slo\.report sha256:[0-9a-f]{64} at log index \d+; verified/);
    expect(r.code).toBe(SLO_EXIT.pass);
    const file = join(dir, "canary_slo_report.json");
    for (const ext of [".sig.json", ".asc", ".tsr", ".proof.json"]) {
      expect(existsSync(`${file}${ext}`)).toBe(true);
    }
    const listed = await remembrancer(["list", "slo.report", "--db", db.url, "--json"]);
    const entries = JSON.parse(listed.out) as {
      receipt: { type: string; payload: { artifact: { sha256: string }; kpis: unknown[] } };
    }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.receipt.payload.artifact.sha256).toBe(digestString(readFileSync(file)));
    expect(entries[0]?.receipt.payload.kpis).toHaveLength(4);
    const verified = await remembrancer([
      "verify-full",
      "canary_slo_report.json",
      "--key-dir",
      join(dir, "keys"),
      "--trust",
      tsaCa,
    ]);
    expect(verified.out).toContain("verified\n");
    expect(verified.code).toBe(0);
  });

  it("recording the same report again adds nothing", async () => {
    const r = await sloReport();
    expect(r.code).toBe(SLO_EXIT.pass);
    const listed = await remembrancer(["list", "slo.report", "--db", db.url, "--json"]);
    expect(JSON.parse(listed.out)).toHaveLength(1);
  });

  it("an altered report fails verify-full", async () => {
    appendFileSync(join(dir, "canary_slo_report.json"), " ");
    const verified = await remembrancer([
      "verify-full",
      "canary_slo_report.json",
      "--key-dir",
      join(dir, "keys"),
      "--trust",
      tsaCa,
    ]);
    expect(verified.code).toBe(1);
    expect(verified.out).toContain("verification FAILED");
  });
});
