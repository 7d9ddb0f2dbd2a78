// The chaos suite's short form (issue 10, ADR 0073): the whole product as separate processes on
// a control plane of its own, a steady load of workloads (GPU pool and provider), tenants and
// denied requests; each component killed once, briefly, and brought back; then the invariants,
// read from the world. `npm run chaos -- --minutes N` is the long form, with pairs.
import { describe, expect, it } from "@jest/globals";
import { runChaos } from "./chaos-run.ts";

describe("chaos, short form", () => {
  it("survives each component killed once and loses or doubles nothing", async () => {
    const report = await runChaos({
      mode: "short",
      outageMs: 1500,
      tenants: 2,
      tickMs: 1500,
      recoveryTimeoutMs: 90_000,
      log: (m) => process.stderr.write(`[chaos] ${m}\n`),
    });
    process.stderr.write(`[chaos] ${JSON.stringify({ ...report, faults: undefined })}\n`);
    expect(Object.keys(report.kills).sort()).toHaveLength(11);
    expect(report.workloads.finished).toBeGreaterThan(0);
    const failed = report.invariants.filter((r) => !r.ok);
    expect(failed).toEqual([]);
  }, 600_000);
});
