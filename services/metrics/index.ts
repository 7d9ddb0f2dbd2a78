// Metric definitions (one catalog, docs/metrics.md is generated from it) and the shared HTTP
// RED instrumentation (ADR 0110).
export * from "./catalog.ts";
export {
  counter,
  defineMetric,
  gauge,
  histogram,
  oncePerScrape,
  processMetrics,
} from "./define.ts";
export type { MetricDef, MetricProcess } from "./define.ts";
export {
  fixedRoutes,
  HttpMetrics,
  instrumentFastify,
  instrumentHandler,
  isServerError,
  methodLabel,
  observeFastify,
  UNMATCHED_ROUTE,
} from "./http-metrics.ts";
