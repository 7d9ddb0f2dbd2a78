// The seed's four KPIs, defined once (ADR 0110): pure functions, targets, and their PromQL.
export {
  attemptCountsByTreaty,
  Kpi,
  KPI_TARGETS,
  kpiQuery,
  kpiQueryBy,
  meetsTarget,
  provenanceCounts,
  provenanceCoverage,
  receiptLogged,
  treatyFillRate,
  WINDOW_PATTERN,
  workloadFinished,
} from "./kpi.ts";
export type { AttemptCounts, KpiTarget, ProvenanceCounts } from "./kpi.ts";
