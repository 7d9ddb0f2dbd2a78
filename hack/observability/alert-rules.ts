/**
 * VaultMesh's Prometheus rules, one source for the plain rules file
 * (deploy/prometheus/rules.yaml, what `promtool test rules` tests) and the chart's
 * PrometheusRule: the four KPIs as SLOs with multi-window, multi-burn-rate alerts (the SRE
 * workbook's pattern, ADR 0115), the seed's alerts (error rate, latency, queue depth, job failure
 * rate) and the operator's, webhooks' and ledger's own. Pure: hack/generate-observability.ts
 * writes the files.
 */
import YAML from "yaml";
import { KPIS, type KpiDefinition } from "../../services/slo/slo-definitions.ts";

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An alerting rule; every one has a runbook line in docs/slo.md under its name. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: "critical" | "warning" };
  readonly annotations: { readonly summary: string; readonly runbook: string };
}

/** A rule group. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** The error-ratio windows of the burn-rate alerts. */
export const SLO_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;

/** Recording rule name of a KPI's error ratio over a window. */
export const errorRatioRecord = (window: string): string =>
  `vaultmesh:slo_error_ratio:rate${window}`;

/** The docs/slo.md anchor of an alert's runbook line. */
export const runbookFor = (alert: string): string => `docs/slo.md#${alert.toLowerCase()}`;

// 14.4 × 0.05 is 0.7200000000000001 in binary: print thresholds as their short decimal.
const num = (x: number): string => String(Number(x.toPrecision(6)));

const pascal = (s: string): string =>
  s.replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());

function alert(
  name: string,
  a: Omit<AlertingRule, "alert" | "annotations"> & { summary: string },
): AlertingRule {
  const { summary, ...rest } = a;
  return { alert: name, ...rest, annotations: { summary, runbook: runbookFor(name) } };
}

/** The KPI's name in alert names, e.g. TreatyFillRate. */
export const kpiAlertStem = (k: KpiDefinition): string => `VaultMesh${pascal(k.name)}`;

function burnAlerts(k: KpiDefinition): AlertingRule[] {
  const budget = 1 - k.objective;
  const [f1, f2, f3, f4] = k.burnFactors;
  const sel = `{slo="${k.name}"}`;
  const pair = (long: string, short: string, factor: number): string => {
    const t = num(factor * budget);
    return `(${errorRatioRecord(long)}${sel} > ${t} and ${errorRatioRecord(short)}${sel} > ${t})`;
  };
  const stem = kpiAlertStem(k);
  return [
    alert(`${stem}FastBurn`, {
      expr: `${pair("1h", "5m", f1)} or ${pair("6h", "30m", f2)}`,
      for: "2m",
      labels: { severity: "critical" },
      summary: `${k.title}: the SLO's error budget burns ${f1}× (1h) or ${f2}× (6h) too fast.`,
    }),
    alert(`${stem}SlowBurn`, {
      expr: `${pair("1d", "2h", f3)} or ${pair("3d", "6h", f4)}`,
      for: "15m",
      labels: { severity: "warning" },
      summary: `${k.title}: the SLO's error budget burns ${f3}× (1d) or ${f4}× (3d) too fast.`,
    }),
  ];
}

// One group per SLO, recording rules first: rules of a group run in order at each evaluation, so
// an alert always reads the ratios of the same evaluation (across groups it could read the last
// one's, or none at a lookback's edge).
function sloGroups(): RuleGroup[] {
  return KPIS.map((k) => ({
    name: `vaultmesh.slo.${k.name}`,
    rules: [
      ...SLO_WINDOWS.map((w) => ({
        record: errorRatioRecord(w),
        expr: k.errorRatio(w),
        labels: { slo: k.name },
      })),
      ...burnAlerts(k),
    ],
  }));
}

const RED_ALERTS: AlertingRule[] = [
  alert("VaultMeshHighErrorRate", {
    expr: "sum by (server) (rate(vaultmesh_http_request_errors_total[5m])) / sum by (server) (rate(vaultmesh_http_requests_total[5m])) > 0.05",
    for: "5m",
    labels: { severity: "critical" },
    summary: "{{ $labels.server }} answers more than 5% of its requests with an error.",
  }),
  alert("VaultMeshHighLatency", {
    expr: "histogram_quantile(0.95, sum by (server, le) (rate(vaultmesh_http_request_duration_seconds_bucket[10m]))) > 1",
    for: "10m",
    labels: { severity: "warning" },
    summary: "{{ $labels.server }} answers 5% of its requests in more than 1 s.",
  }),
];

const OPERATOR_ALERTS: AlertingRule[] = [
  alert("VaultMeshNoLeader", {
    expr: "(max(vaultmesh_leader) or vector(0)) < 1",
    for: "5m",
    labels: { severity: "critical" },
    summary: "No VaultMesh operator replica holds the leader lease: nothing reconciles.",
  }),
  alert("VaultMeshReconcileErrors", {
    expr: "sum by (controller) (rate(vaultmesh_reconcile_errors_total[10m])) / sum by (controller) (rate(vaultmesh_reconcile_total[10m])) > 0.1",
    for: "15m",
    labels: { severity: "warning" },
    summary: "Controller {{ $labels.controller }} fails more than 10% of its reconciles.",
  }),
  alert("VaultMeshWorkqueueBacklog", {
    expr: "max by (controller) (vaultmesh_workqueue_depth) > 100",
    for: "15m",
    labels: { severity: "warning" },
    summary: "Controller {{ $labels.controller }} has had over 100 keys queued for 15 minutes.",
  }),
  alert("VaultMeshWorkloadFailureRate", {
    expr: 'sum(rate(vaultmesh_workloads_completed_total{outcome="Failed"}[15m])) / sum(rate(vaultmesh_workloads_completed_total[15m])) > 0.1',
    for: "1h",
    labels: { severity: "warning" },
    summary: "More than 10% of finished GPUWorkloads failed over the last hour.",
  }),
  alert("VaultMeshDependencyDown", {
    expr: "min by (dependency) (vaultmesh_dependency_up) == 0",
    for: "5m",
    labels: { severity: "critical" },
    summary: "Dependency {{ $labels.dependency }} has been down for 5 minutes.",
  }),
  alert("VaultMeshWebhookErrors", {
    expr: 'sum(rate(vaultmesh_webhook_decisions_total{decision="error"}[5m])) > 0',
    for: "10m",
    labels: { severity: "warning" },
    summary: "The admission webhooks answer requests with errors (not denials).",
  }),
];

const LEDGER_ALERTS: AlertingRule[] = [
  alert("VaultMeshLedgerVerifyFailures", {
    expr: "sum by (check) (increase(vaultmesh_ledger_verify_failures_total[15m])) > 0",
    labels: { severity: "critical" },
    summary: "The ledger found evidence that does not verify ({{ $labels.check }}).",
  }),
  alert("VaultMeshLedgerPublishStalled", {
    expr: '(sum(increase(vaultmesh_ledger_publications_total{result="published"}[15m])) or vector(0)) == 0 and max(vaultmesh_ledger_unpublished_entries) > 0',
    for: "5m",
    labels: { severity: "warning" },
    summary: "Ledger entries have waited over 15 minutes for a signed, timestamped tree head.",
  }),
  alert("VaultMeshLedgerTsaErrors", {
    expr: "sum(rate(vaultmesh_ledger_tsa_errors_total[10m])) > 0",
    for: "15m",
    labels: { severity: "warning" },
    summary: "The ledger's requests to the timestamp authority have failed for 15 minutes.",
  }),
];

/** Every rule group. */
export function ruleGroups(): RuleGroup[] {
  return [
    ...sloGroups(),
    { name: "vaultmesh.red", rules: RED_ALERTS },
    { name: "vaultmesh.operator", rules: OPERATOR_ALERTS },
    { name: "vaultmesh.ledger", rules: LEDGER_ALERTS },
  ];
}

/** Every alerting rule. */
export function alertingRules(): AlertingRule[] {
  return ruleGroups().flatMap((g) => g.rules.filter((r): r is AlertingRule => "alert" in r));
}

/** The plain rules file (Prometheus `rule_files` format). */
export function rulesYaml(header: string): string {
  return `${header}\n${YAML.stringify({ groups: ruleGroups() }, { lineWidth: 0 })}`;
}

// Helm would read the alerts' {{ $labels.x }} as its own actions: print them as string literals.
function helmEscape(text: string): string {
  return text.replace(/\{\{|\}\}/g, (m) => `{{ "${m}" }}`);
}

/** The chart's PrometheusRule template: the same groups, behind metrics.prometheusRule.enabled. */
export function prometheusRuleTemplate(header: string): string {
  const groups = YAML.stringify({ groups: ruleGroups() }, { lineWidth: 0 })
    .trimEnd()
    .split("\n")
    .map((l) => `  ${helmEscape(l)}`);
  return [
    header,
    "{{- $r := .Values.metrics.prometheusRule }}",
    "{{- if $r.enabled }}",
    "apiVersion: monitoring.coreos.com/v1",
    "kind: PrometheusRule",
    "metadata:",
    "  name: vaultmesh",
    "  namespace: {{ .Release.Namespace }}",
    "  labels:",
    '    {{- include "vaultmesh.labels" (dict "ctx" $ "component" "operator") | nindent 4 }}',
    "    {{- with $r.labels }}",
    "    {{- toYaml . | nindent 4 }}",
    "    {{- end }}",
    "  annotations:",
    '    {{- include "vaultmesh.wave" "-1" | nindent 4 }}',
    "spec:",
    ...groups,
    "{{- end }}",
    "",
  ].join("\n");
}
