/**
 * Prometheus metrics of a process's dependencies: `vaultmesh_dependency_up{dependency}` (1 up,
 * 0 down or not yet connected) and `vaultmesh_dependency_outages_total{dependency}` (times it
 * went down), so an alert can fire on an outage the process is riding out.
 */
import type { Registry } from "prom-client";
import { counter, DEPENDENCY_OUTAGES, DEPENDENCY_UP, gauge } from "../metrics/index.ts";
import { DependencyState, type DependencyHealth } from "./dependency-health.ts";

/** Registers the dependency metrics of `health` on `registry` (services/metrics/catalog.ts). */
export function registerDependencyMetrics(health: DependencyHealth, registry: Registry): void {
  gauge(registry, DEPENDENCY_UP, function () {
    for (const s of health.statuses()) {
      this.set({ dependency: s.name }, s.state === DependencyState.Up ? 1 : 0);
    }
  });
  const outages = counter(registry, DEPENDENCY_OUTAGES);
  health.onChange((s) => {
    if (s.state === DependencyState.Down) outages.inc({ dependency: s.name });
  });
}
