/**
 * The VaultMesh Grafana dashboard as code (@grafana/grafana-foundation-sdk's typed builders, so a
 * wrong field fails `tsc`): the four KPIs, per-treaty routing and failovers, tenant usage and
 * cost, ledger health, webhook latency, and RED per HTTP server. hack/generate-observability.ts
 * writes it as JSON; the chart ships it in a ConfigMap for Grafana's sidecar (ADR 0117).
 */
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Dashboard,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import { KPIS, type KpiDefinition } from "../../services/slo/slo-definitions.ts";

/** The dashboard's uid (stable: links and the sidecar's file name use it). */
export const DASHBOARD_UID = "vaultmesh-kpis";

const DS = { type: "prometheus", uid: "${datasource}" };
const RATE = "$__rate_interval";

const q = (expr: string, legend?: string): DataqueryBuilder => {
  const b = new DataqueryBuilder().expr(expr).datasource(DS);
  return legend ? b.legendFormat(legend) : b;
};

// services/kpi takes Prometheus durations only: render with a sentinel, then put Grafana's
// dashboard-range variable in its place.
const SENTINEL = "9999d";
const overRange = (k: KpiDefinition): string =>
  k.value(SENTINEL).replaceAll(`[${SENTINEL}]`, "[$__range]");

const unitOf = (k: KpiDefinition): string => (k.unit === "ratio" ? "percentunit" : "s");

function kpiStat(k: KpiDefinition): StatPanel {
  // Green on the target's side, red on the other.
  const steps =
    k.target.op === ">="
      ? [
          { value: null, color: "red" },
          { value: k.target.value, color: "green" },
        ]
      : [
          { value: null, color: "green" },
          { value: k.target.value, color: "red" },
        ];
  return new StatPanel()
    .title(
      `${k.title} (target ${k.target.op} ${k.unit === "ratio" ? `${k.target.value * 100}%` : `${k.target.value * 1000} ms`})`,
    )
    .description(`Over the dashboard's time range. Query: ${overRange(k)}`)
    .datasource(DS)
    .unit(unitOf(k))
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps))
    .withTarget(q(overRange(k)).instant())
    .height(5)
    .span(6);
}

const series = (title: string, unit: string, ...targets: DataqueryBuilder[]): TimeseriesPanel => {
  const p = new TimeseriesPanel().title(title).datasource(DS).unit(unit).height(8).span(8);
  for (const t of targets) p.withTarget(t);
  return p;
};

const p = (quantile: number, metric: string, by: string): string =>
  `histogram_quantile(${quantile}, sum by (${by}le) (rate(${metric}_bucket[${RATE}])))`;

// A counter that has never been incremented has no series: show it as 0 rather than nothing.
const orZero = (expr: string, like: string): string => `(${expr}) or (${like}) * 0`;

function kpiRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder("KPIs (seed §5)"));
  for (const k of KPIS) b.withPanel(kpiStat(k));
  b.withPanel(
    series(
      "Treaty fill rate",
      "percentunit",
      q("max by (treaty) (vaultmesh_treaty_fill_rate)", "{{treaty}}"),
    )
      .min(0)
      .max(1),
  )
    .withPanel(
      series(
        "Treaty RTT p95",
        "s",
        q(p(0.95, "vaultmesh_treaty_rtt_seconds", "treaty, "), "{{treaty}}"),
      ),
    )
    .withPanel(
      series(
        "Provenance coverage",
        "percentunit",
        q("max(vaultmesh_provenance_coverage)", "coverage"),
        q("max(vaultmesh_provenance_completed_workloads)", "completed"),
      ),
    )
    .withPanel(
      series(
        "Policy decision time p99",
        "s",
        q(p(0.99, "vaultmesh_webhook_decision_duration_seconds", "policy, "), "{{policy}}"),
      ),
    );
}

function routingRow(b: DashboardBuilder): void {
  // Attempts over the workloads in the operator's cache (gauges: restart-safe, ADR 0110).
  const routed = "max by (treaty) (vaultmesh_treaty_attempts_routed)";
  const placed = "max by (treaty) (vaultmesh_treaty_attempts_placed)";
  b.withRow(new RowBuilder("Routing per treaty"))
    .withPanel(series("Attempts routed", "none", q(routed, "{{treaty}}")))
    .withPanel(
      series("Failovers (attempts abandoned)", "none", q(`${routed} - ${placed}`, "{{treaty}}")),
    )
    .withPanel(
      series(
        "Placements",
        "ops",
        q(`sum by (treaty) (rate(vaultmesh_workloads_placed_total[${RATE}]))`, "{{treaty}}"),
      ),
    )
    .withPanel(
      series(
        "Routing decision time p99",
        "s",
        q(p(0.99, "vaultmesh_routing_decision_duration_seconds", ""), "p99"),
      ),
    );
}

function tenantRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder("Tenant usage and cost"))
    .withPanel(
      series(
        "GPUs in use",
        "none",
        q("max by (tenant) (vaultmesh_tenant_gpus_in_use)", "{{tenant}}"),
      ),
    )
    .withPanel(
      series(
        "GPU hours this period",
        "h",
        q("max by (tenant) (vaultmesh_tenant_gpu_hours)", "{{tenant}}"),
      ),
    )
    .withPanel(
      series(
        "Cost this period",
        "currencyUSD",
        q("max by (tenant) (vaultmesh_tenant_cost_usd)", "{{tenant}}"),
      ),
    );
}

function ledgerRow(b: DashboardBuilder): void {
  const appends = `sum by (result) (rate(vaultmesh_ledger_appends_total[${RATE}]))`;
  b.withRow(new RowBuilder("Ledger health"))
    .withPanel(series("Appends", "ops", q(appends, "{{result}}")))
    .withPanel(
      series(
        "Append latency",
        "s",
        q(p(0.5, "vaultmesh_ledger_append_duration_seconds", ""), "p50"),
        q(p(0.99, "vaultmesh_ledger_append_duration_seconds", ""), "p99"),
      ),
    )
    .withPanel(
      series(
        "Tree size and unpublished entries",
        "none",
        q("max(vaultmesh_ledger_tree_size)", "tree size"),
        q("max(vaultmesh_ledger_unpublished_entries)", "unpublished"),
      ),
    )
    .withPanel(
      series(
        "Publish lag p95",
        "s",
        q(p(0.95, "vaultmesh_ledger_publish_lag_seconds", ""), "publish lag"),
      ),
    )
    .withPanel(
      series(
        "TSA latency p95 and errors",
        "s",
        q(p(0.95, "vaultmesh_ledger_tsa_request_duration_seconds", ""), "TSA p95"),
        q(
          orZero(
            `sum(rate(vaultmesh_ledger_tsa_errors_total[${RATE}]))`,
            `sum(rate(vaultmesh_ledger_tsa_request_duration_seconds_count[${RATE}]))`,
          ),
          "TSA errors/s",
        ),
      ),
    )
    .withPanel(
      series(
        "Verify failures",
        "none",
        q(
          orZero(
            `sum by (check) (increase(vaultmesh_ledger_verify_failures_total[${RATE}]))`,
            "max(vaultmesh_ledger_tree_size)",
          ),
          "{{check}}",
        ),
      ),
    );
}

function webhookRow(b: DashboardBuilder): void {
  b.withRow(new RowBuilder("Webhooks and HTTP servers"))
    .withPanel(
      series(
        "Webhook decision time p50 / p99",
        "s",
        q(p(0.5, "vaultmesh_webhook_decision_duration_seconds", "policy, "), "p50 {{policy}}"),
        q(p(0.99, "vaultmesh_webhook_decision_duration_seconds", "policy, "), "p99 {{policy}}"),
      ),
    )
    .withPanel(
      series(
        "Admission decisions",
        "ops",
        q(`sum by (decision) (rate(vaultmesh_webhook_decisions_total[${RATE}]))`, "{{decision}}"),
      ),
    )
    .withPanel(
      series(
        "HTTP latency p95 per server",
        "s",
        q(p(0.95, "vaultmesh_http_request_duration_seconds", "server, "), "{{server}}"),
      ),
    )
    .withPanel(
      series(
        "HTTP requests per server",
        "reqps",
        q(`sum by (server) (rate(vaultmesh_http_requests_total[${RATE}]))`, "{{server}}"),
      ),
    )
    .withPanel(
      series(
        "HTTP error ratio per server",
        "percentunit",
        q(
          `${orZero(
            `sum by (server) (rate(vaultmesh_http_request_errors_total[${RATE}]))`,
            `sum by (server) (rate(vaultmesh_http_requests_total[${RATE}]))`,
          )} / sum by (server) (rate(vaultmesh_http_requests_total[${RATE}]))`,
          "{{server}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Reconciles and queue depth",
        "none",
        q(
          `sum by (controller) (rate(vaultmesh_reconcile_total[${RATE}]))`,
          "reconciles/s {{controller}}",
        ),
        q("max by (controller) (vaultmesh_workqueue_depth)", "queued {{controller}}"),
      ),
    );
}

/** The dashboard model. */
export function vaultmeshDashboard(): Dashboard {
  const b = new DashboardBuilder("VaultMesh KPIs")
    .uid(DASHBOARD_UID)
    .tags(["vaultmesh"])
    .description(
      "The seed's four KPIs, routing per treaty, tenant usage, ledger health and webhook latency (generated by make generate from hack/observability/dashboard.ts).",
    )
    .time({ from: "now-6h", to: "now" })
    .refresh("1m")
    .withVariable(
      new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"),
    );
  kpiRow(b);
  routingRow(b);
  tenantRow(b);
  ledgerRow(b);
  webhookRow(b);
  return b.build();
}

/** The dashboard as the JSON file Grafana imports. */
export function dashboardJson(): string {
  return `${JSON.stringify(vaultmeshDashboard(), null, 2)}\n`;
}

/** Every PromQL expression of a dashboard model, with the title of its panel. */
export function dashboardQueries(model: unknown): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const panels = (model as { panels?: unknown[] }).panels ?? [];
  for (const raw of panels) {
    const panel = raw as { title?: string; targets?: { expr?: string }[]; panels?: unknown[] };
    for (const t of panel.targets ?? []) {
      if (t.expr) out.push({ panel: panel.title ?? "", expr: t.expr });
    }
    if (panel.panels) out.push(...dashboardQueries({ panels: panel.panels }));
  }
  return out;
}
