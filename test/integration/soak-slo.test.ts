// The 2-minute soak (issue 14, ADR 0117): the whole product under a mix of tenants, workloads on
// the GPU pool and the provider simulator (with an outage), and denials, scraped by a real
// Prometheus; then the SLO report has all four KPIs and no null, its `slo.report` receipt
// verifies, every dashboard query returns series and every rule evaluates without error.
import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { systemClock } from "../../services/ledger/clock.ts";
import { runCli } from "../../services/ledger/cli/remembrancer.ts";
import { runSoak, type SoakResult } from "../soak/soak-run.ts";

const dir = mkdtempSync(join(tmpdir(), "vaultmesh-soak-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function nulls(x: unknown): number {
  if (x === null) return 1;
  if (Array.isArray(x)) return x.reduce((n: number, y) => n + nulls(y), 0);
  if (typeof x === "object") return Object.values(x).reduce((n: number, y) => n + nulls(y), 0);
  return 0;
}

describe("soak, 2 minutes", () => {
  let result: SoakResult;

  it("writes an SLO report with all four KPIs and no null", async () => {
    result = await runSoak({
      minutes: 2,
      tenants: 2,
      tickMs: 1500,
      outageEveryMs: 40_000,
      outageMs: 5000,
      out: join(dir, "canary_slo_report.json"),
      log: (m) => process.stderr.write(`[soak] ${m}\n`),
    });
    process.stderr.write(
      `[soak] ${JSON.stringify({ ...result, report: { ...result.report, output: undefined } })}\n`,
    );
    expect(result.report.output).not.toMatch(/^vaultmesh: /m);
    const report = JSON.parse(readFileSync(result.report.file, "utf8")) as {
      kpis: { name: string; value: number; pass: boolean }[];
    };
    // The outcome KPIs meet their targets: a routing or provenance regression fails the soak (the
    // names of the ones that miss are in the failure). The two latency KPIs (treaty RTT, policy
    // decision time) must have data but their targets are not asserted here: on a shared CI
    // machine they measure its load (no timing assertions in tests); bench/ and the soak's own
    // report judge them.
    const latency = new Set(["treatyRtt", "policyDecisionTime"]);
    expect(report.kpis.filter((k) => !k.pass && !latency.has(k.name)).map((k) => k.name)).toEqual(
      [],
    );
    // 0: every KPI passed; 1: the report was written and only a latency KPI missed.
    expect(result.report.code === 0 || report.kpis.some((k) => !k.pass)).toBe(true);
    expect([0, 1]).toContain(result.report.code);
    expect(nulls(report)).toBe(0);
    expect(report.kpis.map((k) => k.name)).toEqual([
      "treatyFillRate",
      "treatyRtt",
      "provenanceCoverage",
      "policyDecisionTime",
    ]);
    for (const k of report.kpis) expect(Number.isFinite(k.value)).toBe(true);
    expect(result.load.deniedAsExpected).toBeGreaterThan(0);
    expect(result.outages).toBeGreaterThan(0);
  }, 900_000);

  it("scraped the operators, the webhooks and the ledger", () => {
    expect([...new Set(result.scrapeTargets.map((t) => t.job))].sort()).toEqual([
      "ledger",
      "operator",
      "webhooks",
    ]);
  });

  it("recorded the report as an slo.report receipt that verify-full accepts", async () => {
    let out = "";
    const code = await runCli(
      ["verify-full", result.report.file, ...result.trustFiles.flatMap((f) => ["--trust", f])],
      {
        stdout: (t) => void (out += t),
        stderr: (t) => void (out += t),
        env: {},
        cwd: dir,
        clock: systemClock,
        logger: pino({ level: "silent" }),
      },
    );
    expect(result.report.output).toMatch(/recorded slo\.report sha256:[0-9a-f]{64}/);
    expect(out).toContain("verified\n");
    expect(code).toBe(0);
  });

  it("every dashboard query returns series and every rule evaluates", () => {
    expect(result.dashboardQueries).toBeGreaterThan(20);
    expect(result.dashboardProblems).toEqual([]);
    expect(result.rules).toBeGreaterThan(40);
    expect(result.ruleProblems).toEqual([]);
  });
});
