// `npm run chaos -- --minutes N [--outage-ms MS] [--seed S]`: the long form of the chaos suite
// (ADR 0073). Singles and pairs of faults, repeatedly, for N minutes under a steady load; prints
// the figures as JSON (workloads, kills per component, recovery per fault p50/max, invariants)
// and exits 1 when an invariant fails.
import { parseArgs } from "node:util";
import { runChaos } from "./chaos-run.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    "outage-ms": { type: "string", default: "5000" },
    seed: { type: "string", default: "1" },
    // The short form (each single fault once), as `make test` runs it, without jest.
    short: { type: "boolean", default: false },
  },
});
const num = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`chaos: --${flag} ${v}: expected a number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
};
const report = await runChaos({
  mode: values.short ? "short" : "long",
  minutes: num("minutes", values.minutes, 0.1),
  outageMs: num("outage-ms", values["outage-ms"], 0),
  seed: num("seed", values.seed, 0),
  tenants: 3,
  tenantEveryMs: 120_000,
  tickMs: 1000,
  recoveryTimeoutMs: 180_000,
  log: (m) => process.stderr.write(`[chaos] ${m}\n`),
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.ok ? 0 : 1);
