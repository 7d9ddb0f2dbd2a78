// `vaultmesh slo-report --record` (ADR 0116): the report is signed, timestamped, recorded in a
// real ledger (Postgres) as an `slo.report` receipt with the report as its artifact, and its
// evidence passes `remembrancer verify-full` — and fails it once the report is altered.
// The KPIs are measured by a real Prometheus (test/harness/prometheus.ts) evaluating the
// report's PromQL over series it scraped from a small exposition this test serves: the four KPI
// metrics, the histograms growing at every scrape. The expected values are what PromQL gives for
// them (histogram_quantile interpolates inside a bucket), so a broken query fails here.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { fixedClock, systemClock } from "../../services/ledger/clock.ts";
import { runCli } from "../../services/ledger/cli/remembrancer.ts";
import { digestString } from "../../services/ledger/canonical-json.ts";
import { runVaultmeshCli, SLO_EXIT } from "../../services/slo/slo-cli.ts";
import { Kpi, KPI_TARGETS } from "../../services/kpi/index.ts";
import { generateTsaCredentials } from "../../services/tsa/tsa-certs.ts";
import { createTsaResponder } from "../../services/tsa/tsa-responder.ts";
import { buildTsaServer, listenTsa } from "../../services/tsa/tsa-server.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import { startPrometheus, type PrometheusServer } from "../harness/prometheus.ts";

let dir = "";
let server: PostgresServer;
let db: TestDatabase;
let tsaUrl = "";
let tsaCa = "";
let stopTsa: () => Promise<void> = () => Promise.resolve();
let prometheus: PrometheusServer | undefined;
let exposition: Server | undefined;
// The report's end: a moment Prometheus has scraped past, so every query over the window ending
// there sees the same samples and the report is the same bytes each time.
let reportEnd = "";
const SECRET = "s3cret-pw";

const name = (k: Kpi): string => KPI_TARGETS[k].metric;

/**
 * The exposition after `n` scrapes: fill rate 0.9 and coverage 1 (gauges); each scrape adds one
 * treaty probe of 0.12 s (bucket 0.1–0.25) and one decision of 4 ms (bucket 0.001–0.005).
 */
function kpiExposition(n: number): string {
  const histogram = (metric: string, low: number, high: number, sum: number): string[] => [
    `# TYPE ${metric} histogram`,
    `${metric}_bucket{le="${low}"} 0`,
    `${metric}_bucket{le="${high}"} ${n}`,
    `${metric}_bucket{le="+Inf"} ${n}`,
    `${metric}_sum ${sum * n}`,
    `${metric}_count ${n}`,
  ];
  return [
    `# TYPE ${name(Kpi.TreatyFillRate)} gauge`,
    `${name(Kpi.TreatyFillRate)} 0.9`,
    `# TYPE ${name(Kpi.ProvenanceCoverage)} gauge`,
    `${name(Kpi.ProvenanceCoverage)} 1`,
    ...histogram(name(Kpi.TreatyRtt), 0.1, 0.25, 0.12),
    ...histogram(name(Kpi.PolicyDecisionTime), 0.001, 0.005, 0.004),
    "",
  ].join("\n");
}

/** The base URL of the real Prometheus, with userinfo the report must not carry. */
const promUrl = (): string => prometheus!.url.replace("http://", `http://slo:${SECRET}@`);

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
      promUrl(),
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
    { ...io(dir, out), clock: fixedClock(reportEnd) },
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
  let scrapes = 0;
  exposition = createServer((_req, res) => {
    scrapes += 1;
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(kpiExposition(scrapes));
  });
  await new Promise<void>((r) => exposition!.listen(0, "127.0.0.1", r));
  const { port } = exposition.address() as AddressInfo;
  prometheus = await startPrometheus({
    targets: [{ job: "kpi", url: `http://127.0.0.1:${port}/metrics` }],
  });
  await prometheus.waitForTargetsUp();
  // Both histograms have grown between two scrapes, so their increase is defined.
  await prometheus.waitForSeries(`increase(${name(Kpi.PolicyDecisionTime)}_count[1m]) > 0`);
  reportEnd = new Date().toISOString();
  const endSeconds = new Date(reportEnd).getTime() / 1000;
  await prometheus.waitForSeries(`timestamp(${name(Kpi.TreatyFillRate)}) > ${endSeconds}`);
  expect((await remembrancer(["keygen", "--dir", join(dir, "keys")])).code).toBe(0);
});

afterAll(async () => {
  await prometheus?.stop();
  await new Promise<void>((r) => (exposition ? exposition.close(() => r()) : r()));
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
    const report = JSON.parse(readFileSync(file, "utf8")) as {
      prometheus: string;
      kpis: { name: string; value: number; pass: boolean }[];
    };
    // What real PromQL gives for the exposition: the gauges' means, and the quantile
    // interpolated inside the bucket every observation fell in (p95 RTT, p99 decision time).
    const value = Object.fromEntries(report.kpis.map((k) => [k.name, k.value]));
    expect(value[Kpi.TreatyFillRate]).toBeCloseTo(0.9, 9);
    expect(value[Kpi.ProvenanceCoverage]).toBeCloseTo(1, 9);
    expect(value[Kpi.TreatyRtt]).toBeCloseTo(0.1 + 0.15 * 0.95, 9);
    expect(value[Kpi.PolicyDecisionTime]).toBeCloseTo(0.001 + 0.004 * 0.99, 9);
    expect(report.kpis.every((k) => k.pass)).toBe(true);
    // The credentials in --prometheus reach neither the report nor its receipt.
    expect(report.prometheus).toBe(prometheus!.url);
    expect(readFileSync(file, "utf8")).not.toContain(SECRET);
    expect(listed.out).not.toContain(SECRET);
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
