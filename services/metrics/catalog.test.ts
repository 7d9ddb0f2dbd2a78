// The catalog is what docs/metrics.md says: each process's registry, wired as its main wires
// it, holds exactly the metrics the catalog lists for that process; and label values stay
// bounded with 10k cached workloads.
import { describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { GPUWorkload, Receipt, Tenant } from "../../crds/index.ts";
import { OperatorMetrics } from "../../operator/metrics.ts";
import { WebhookMetrics } from "../../webhooks/metrics.ts";
import { DependencyHealth, registerDependencyMetrics } from "../dependency-health/index.ts";
import { LedgerMetrics } from "../ledger/ledger-metrics.ts";
import { HttpMetrics, METRIC_CATALOG, type MetricProcess } from "./index.ts";

const health = (): DependencyHealth =>
  new DependencyHealth({ clock: { now: () => new Date(0) }, logger: pino({ level: "silent" }) });

const names = (r: Registry): string[] =>
  r
    .getMetricsAsArray()
    .map((m) => m.name)
    .sort();

const catalogued = (p: MetricProcess): string[] =>
  METRIC_CATALOG.filter((d) => d.processes.includes(p))
    .map((d) => d.name)
    .sort();

/** `n` finished workloads spread over `treaties` treaties, each with a logged receipt. */
function cache(n: number, treaties: number) {
  const workloads = Array.from({ length: n }, (_, i) => ({
    metadata: { name: `wl-${i}`, namespace: `tenant-${i % 50}`, uid: `uid-${i}` },
    status: {
      attempts: [
        { attempt: 1, treaty: `treaty-${i % treaties}`, provider: "p", outcome: "Abandoned" },
        { attempt: 2, treaty: `treaty-${(i + 1) % treaties}`, provider: "p", outcome: "Succeeded" },
      ],
      conditions: [{ type: "Complete", status: "True" }],
      receiptRef: { name: `r-${i}` },
    },
  })) as unknown as GPUWorkload[];
  const receipt = { status: { conditions: [{ type: "Logged", status: "True" }] } } as Receipt;
  return {
    workloads: { list: () => workloads },
    receipts: { get: (name: string) => (name.startsWith("r-") ? receipt : undefined) },
  };
}

const tenants = [
  { metadata: { name: "acme" }, status: { usage: { gpusInUse: 3, costMicroUsd: 1_250_000 } } },
  { metadata: { name: "new" } },
] as unknown as Tenant[];

function operatorRegistry(n = 0): Registry {
  const m = new OperatorMetrics({ defaultMetrics: false });
  registerDependencyMetrics(health(), m.registry);
  new LedgerMetrics(m.registry);
  new HttpMetrics(m.registry, "operator");
  const c = cache(n, 5);
  m.kubeRequestsFrom(new Map([["GET jobs", 1]]));
  m.cachedObjectsFrom(() => n);
  m.provenanceFrom(c.workloads, c.receipts);
  m.treatyFillRateFrom(c.workloads);
  m.tenantUsageFrom({ list: () => tenants });
  return m.registry;
}

describe("metric catalog", () => {
  it("names each metric once", () => {
    const all = METRIC_CATALOG.map((d) => d.name);
    expect(new Set(all).size).toBe(all.length);
  });

  it("lists exactly the operator's metrics", () => {
    expect(names(operatorRegistry())).toEqual(catalogued("operator"));
  });

  it("lists exactly the webhook server's metrics", () => {
    const m = new WebhookMetrics();
    registerDependencyMetrics(health(), m.registry);
    expect(names(m.registry)).toEqual(catalogued("webhooks"));
  });

  it("lists exactly the ledger server's metrics", () => {
    const r = new Registry();
    registerDependencyMetrics(health(), r);
    const l = new LedgerMetrics(r);
    l.treeGaugesFrom({ query: () => Promise.reject(new Error("no database")) });
    new HttpMetrics(r, "ledger");
    expect(names(r)).toEqual(catalogued("ledger"));
  });

  it.each(["tsa", "provider-sim"] as const)("lists exactly the %s's metrics", (p) => {
    const r = new Registry();
    new HttpMetrics(r, p);
    expect(names(r)).toEqual(catalogued(p));
  });
});

describe("label cardinality", () => {
  it("exposes no per-workload series with 10k cached workloads", async () => {
    const text = await operatorRegistry(10_000).metrics();
    const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(series.length).toBeLessThan(300);
    expect(text).not.toMatch(/wl-\d|uid-\d|tenant-\d|r-\d/);
    // The KPI gauges from the cache: every second attempt abandoned, every receipt logged.
    expect(text).toMatch(/^vaultmesh_treaty_fill_rate\{treaty="treaty-0"\} 0\.5$/m);
    expect(text).toMatch(/^vaultmesh_treaty_attempts_routed\{treaty="treaty-3"\} 4000$/m);
    expect(text).toMatch(/^vaultmesh_provenance_coverage 1$/m);
    expect(text).toMatch(/^vaultmesh_provenance_completed_workloads 10000$/m);
    // Tenant usage from the Tenants' status: a tenant without usage has no series.
    expect(text).toMatch(/^vaultmesh_tenant_gpus_in_use\{tenant="acme"\} 3$/m);
    expect(text).toMatch(/^vaultmesh_tenant_cost_usd\{tenant="acme"\} 1\.25$/m);
    expect(text).not.toMatch(/tenant="new"/);
  });
});
