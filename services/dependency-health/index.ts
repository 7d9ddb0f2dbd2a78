/**
 * Dependency health: the outage rule (which errors mean "away"), redacted error descriptions,
 * the per-process registry /readyz reads, and the guards every long-lived client is wrapped in.
 */
export {
  DependencyUnavailableError,
  describeError,
  isOutage,
  OutageReason,
  outageReason,
  redact,
  type OutageReasonCode,
} from "./dependency-errors.ts";
export {
  DependencyHealth,
  DependencyState,
  readinessReport,
  type DependencyReporter,
  type DependencyStatus,
  type HealthLogger,
  type ReadinessCheck,
  type ReadinessReport,
} from "./dependency-health.ts";
export { guardPgPool, guardRedis, startProbe } from "./client-guards.ts";
export { registerDependencyMetrics } from "./dependency-metrics.ts";
