/**
 * Prometheus metrics of a process's dependencies: `vaultmesh_dependency_up{dependency}` (1 up,
 * 0 down or not yet connected) and `vaultmesh_dependency_outages_total{dependency}` (times it
 * went down), so an alert can fire on an outage the process is riding out.
 */
import client, { type Registry } from "prom-client";
import { DependencyState, type DependencyHealth } from "./dependency-health.ts";

/** Registers the dependency metrics of `health` on `registry`. */
export function registerDependencyMetrics(health: DependencyHealth, registry: Registry): void {
  new client.Gauge({
    name: "vaultmesh_dependency_up",
    help: "1 while the dependency answers, 0 while it is down or not yet connected.",
    labelNames: ["dependency"],
    registers: [registry],
    collect() {
      for (const s of health.statuses()) {
        this.set({ dependency: s.name }, s.state === DependencyState.Up ? 1 : 0);
      }
    },
  });
  const outages = new client.Counter({
    name: "vaultmesh_dependency_outages_total",
    help: "Times the dependency went down (an answer after that ends the outage).",
    labelNames: ["dependency"],
    registers: [registry],
  });
  health.onChange((s) => {
    if (s.state === DependencyState.Down) outages.inc({ dependency: s.name });
  });
}
