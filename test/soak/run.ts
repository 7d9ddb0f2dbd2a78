// `npm run soak -- --minutes N [--out FILE] [--tenants N] [--outage-every-s S] [--outage-s S]`:
// the whole product under a realistic mix for N minutes with a private Prometheus, then the SLO
// report (FILE, default canary_slo_report.json, with .html and the ledger evidence beside it).
// Prints the figures as JSON; exits 1 when the report could not be written or a dashboard query
// or rule failed, 0 otherwise (a KPI missing its target is in the report, not a soak failure).
import { parseArgs } from "node:util";
import { runSoak } from "./soak-run.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    out: { type: "string", default: "canary_slo_report.json" },
    tenants: { type: "string", default: "3" },
    "outage-every-s": { type: "string", default: "60" },
    "outage-s": { type: "string", default: "8" },
  },
});
const num = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`soak: --${flag} ${v}: expected a number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
};
const result = await runSoak({
  minutes: num("minutes", values.minutes, 1),
  tenants: num("tenants", values.tenants, 1),
  tickMs: 1000,
  outageEveryMs: num("outage-every-s", values["outage-every-s"], 5) * 1000,
  outageMs: num("outage-s", values["outage-s"], 1) * 1000,
  out: values.out,
  log: (m) => process.stderr.write(`[soak] ${m}\n`),
});
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const ok =
  result.report.code !== 2 &&
  result.dashboardProblems.length === 0 &&
  result.ruleProblems.length === 0;
process.exit(ok ? 0 : 1);
