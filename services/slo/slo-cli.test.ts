import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { fixedClock } from "../ledger/clock.ts";
import { runVaultmeshCli, SLO_EXIT } from "./slo-cli.ts";
import {
  HEALTHY,
  startFakePrometheus,
  type FakeValues,
} from "../../test/harness/fake-prometheus.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vaultmesh-slo-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runVaultmeshCli(args, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
    cwd,
    clock: fixedClock("2026-12-03T12:00:00Z"),
    logger: pino({ level: "silent" }),
  });
  return { code, out, err };
}

async function withPrometheus<T>(values: FakeValues, fn: (url: string) => Promise<T>): Promise<T> {
  const p = await startFakePrometheus(values);
  try {
    return await fn(p.url);
  } finally {
    await p.close();
  }
}

function freshDir(): string {
  return mkdtempSync(join(dir, "run-"));
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("vaultmesh slo-report", () => {
  it("writes canary_slo_report.json and, with --html, a self-contained page", async () => {
    const cwd = freshDir();
    const r = await withPrometheus(HEALTHY, (url) =>
      cli(["slo-report", "--prometheus", url, "--window", "72h", "--html"], cwd),
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(SLO_EXIT.pass);
    const report = JSON.parse(readFileSync(join(cwd, "canary_slo_report.json"), "utf8")) as {
      kpis: unknown[];
    };
    expect(report.kpis).toHaveLength(4);
    expect(readFileSync(join(cwd, "canary_slo_report.json"), "utf8")).not.toContain("null");
    const html = readFileSync(join(cwd, "canary_slo_report.html"), "utf8");
    expect(html).toContain("uPlot");
    expect(html).toContain('id="chart-treatyFillRate"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  it("exits 1 when a KPI misses its target, the report written", async () => {
    const cwd = freshDir();
    const r = await withPrometheus({ ...HEALTHY, vaultmesh_treaty_fill_rate: 0.4 }, (url) =>
      cli(["slo-report", "--prometheus", url, "--window", "1h"], cwd),
    );
    expect(r.code).toBe(SLO_EXIT.targetMissed);
    expect(r.out).toContain("FAIL  treatyFillRate");
    expect(existsSync(join(cwd, "canary_slo_report.json"))).toBe(true);
  });

  it.each([
    [["--window", "72x"], /^vaultmesh: --window: "72x" is not a duration/],
    [["--window", "5s"], /^vaultmesh: --window: 5s is out of range/],
  ])("%j: one line, exit 2, no file", async (extra, wantErr) => {
    const cwd = freshDir();
    const r = await withPrometheus(HEALTHY, (url) =>
      cli(["slo-report", "--prometheus", url, ...extra, "--html"], cwd),
    );
    expect(r.code).toBe(SLO_EXIT.error);
    expect(r.err).toMatch(wantErr);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("an unreachable Prometheus: one line, exit 2, no file", async () => {
    const cwd = freshDir();
    const port = await closedPort();
    const r = await cli(["slo-report", "--prometheus", `http://127.0.0.1:${port}`, "--html"], cwd);
    expect(r.code).toBe(SLO_EXIT.error);
    expect(r.err).toBe(
      `vaultmesh: cannot reach Prometheus at http://127.0.0.1:${port} (ECONNREFUSED)\n`,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("an absent series: the error names it, exit 2, no file", async () => {
    const cwd = freshDir();
    const values = { ...HEALTHY, vaultmesh_provenance_coverage: undefined };
    const r = await withPrometheus(values, (url) =>
      cli(["slo-report", "--prometheus", url, "--window", "72h", "--html"], cwd),
    );
    expect(r.code).toBe(SLO_EXIT.error);
    expect(r.err).toBe(
      "vaultmesh: KPI provenanceCoverage: no data in the last 72h: series vaultmesh_provenance_coverage is absent\n",
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("userinfo in --prometheus stays out of the report", async () => {
    const cwd = freshDir();
    const r = await withPrometheus(HEALTHY, (url) =>
      cli(["slo-report", "--prometheus", url.replace("http://", "http://ops:hunter2@")], cwd),
    );
    expect(r.code).toBe(SLO_EXIT.pass);
    const text = readFileSync(join(cwd, "canary_slo_report.json"), "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("ops@");
    expect((JSON.parse(text) as { prometheus: string }).prometheus).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+$/,
    );
  });

  it("--record failing: one line, exit 2, no report, page or evidence left", async () => {
    const cwd = freshDir();
    const r = await withPrometheus(HEALTHY, (url) =>
      cli(
        [
          "slo-report",
          "--prometheus",
          url,
          "--html",
          "--record",
          "--key-dir",
          join(dir, "no-such-keys"),
          "--db",
          "postgres://127.0.0.1:1/none",
        ],
        cwd,
      ),
    );
    expect(r.code).toBe(SLO_EXIT.error);
    expect(r.err).toMatch(/^vaultmesh: recording the report failed at sign: /);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a URL that is not one: exit 2", async () => {
    const r = await cli(["slo-report", "--prometheus", "not a url"], freshDir());
    expect(r.code).toBe(SLO_EXIT.error);
    expect(r.err).toBe('vaultmesh: --prometheus: "not a url" is not a URL\n');
  });
});
