// The generated Prometheus rules and Grafana dashboard: `promtool check rules`, `promtool test
// rules` (every alert has a test where it fires and one where it does not), a runbook line per
// alert in docs/slo.md, every dashboard and report query parsed by promtool, and the chart's
// PrometheusRule and dashboard ConfigMap rendering exactly the generated files.
import { beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { KPIS } from "../../services/slo/slo-definitions.ts";
import {
  CHART_DASHBOARD_FILE,
  DASHBOARD_FILE,
  RULES_FILE,
  staleObservabilityFiles,
} from "../generate-observability.ts";
import { alertingRules, ruleGroups } from "./alert-rules.ts";
import { dashboardQueries, DASHBOARD_UID } from "./dashboard.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const testsDir = path.join(root, "deploy/prometheus/tests");
// A cold build of Prometheus takes many minutes; `make deps` has normally built it already.
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
let promtool = "";
let helm = "";

const build = (script: string): string =>
  execFileSync("bash", [path.join(root, script)], { encoding: "utf8" }).trim();

function run(bin: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(bin, args, { encoding: "utf8", cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

interface PromtoolTest {
  name?: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

function promtoolTests(): PromtoolTest[] {
  return readdirSync(testsDir)
    .filter((f) => f.endsWith(".test.yaml"))
    .flatMap((f) => {
      const doc = YAML.parse(readFileSync(path.join(testsDir, f), "utf8")) as {
        tests: PromtoolTest[];
      };
      return doc.tests;
    });
}

/** Grafana's variables replaced by what Grafana would put there, so promtool can parse them. */
const concrete = (expr: string): string =>
  expr.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "1h");

beforeAll(() => {
  promtool = path.join(build("hack/prometheus/build.sh"), "promtool");
  helm = build("hack/helm/build.sh");
}, BUILD_TIMEOUT_MS);

describe("generated observability files", () => {
  it("are current (make generate)", async () => {
    expect(await staleObservabilityFiles(root)).toEqual([]);
  });
});

describe("alert rules", () => {
  it("pass promtool check rules", () => {
    const r = run(promtool, ["check", "rules", RULES_FILE]);
    expect(r.out).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("pass every promtool unit test in deploy/prometheus/tests", () => {
    const files = readdirSync(testsDir)
      .filter((f) => f.endsWith(".test.yaml"))
      .map((f) => path.join("deploy/prometheus/tests", f));
    const r = run(promtool, ["test", "rules", ...files]);
    expect(r.out).not.toContain("FAILED");
    expect(r.code).toBe(0);
  }, 600_000);

  it.each(alertingRules().map((r) => r.alert))(
    "%s has a test where it fires and one where it does not",
    (alert) => {
      const cases = promtoolTests().flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.alertname === alert),
      );
      const wantFiring = cases.filter((c) => (c.exp_alerts ?? []).length > 0);
      const wantQuiet = cases.filter((c) => (c.exp_alerts ?? []).length === 0);
      expect(wantFiring.length).toBeGreaterThan(0);
      expect(wantQuiet.length).toBeGreaterThan(0);
    },
  );

  it.each(alertingRules().map((r) => r.alert))("%s has a runbook in docs/slo.md", (alert) => {
    const doc = readFileSync(path.join(root, "docs/slo.md"), "utf8");
    const section = doc.split(/^### /m).find((s) => s.startsWith(`${alert}\n`));
    expect(section?.includes("**Runbook**")).toBe(true);
  });

  it("names every recording rule the alerts read", () => {
    const records = new Set(
      ruleGroups().flatMap((g) => g.rules.flatMap((r) => ("record" in r ? [r.record] : []))),
    );
    for (const a of alertingRules()) {
      for (const used of a.expr.match(/vaultmesh:[a-z_:0-9]+/g) ?? []) {
        expect(records.has(used)).toBe(true);
      }
    }
  });
});

describe("dashboard and report queries", () => {
  it("parse in promtool (as recording rules of a scratch file)", () => {
    const model = JSON.parse(readFileSync(path.join(root, DASHBOARD_FILE), "utf8")) as unknown;
    const exprs = [
      ...dashboardQueries(model).map((q) => concrete(q.expr)),
      ...KPIS.flatMap((k) => [k.value("72h"), ...k.quantiles.map((q) => q.query("72h"))]),
    ];
    expect(exprs.length).toBeGreaterThan(20);
    const dir = mkdtempSync(path.join(tmpdir(), "vaultmesh-queries-"));
    try {
      const file = path.join(dir, "queries.yaml");
      const rules = exprs.map((expr, i) => ({ record: `vaultmesh:query_${i}`, expr }));
      writeFileSync(file, YAML.stringify({ groups: [{ name: "queries", rules }] }));
      const r = run(promtool, ["check", "rules", file]);
      expect(r.out).toContain("SUCCESS");
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every panel of the dashboard queries the datasource variable", () => {
    const model = JSON.parse(readFileSync(path.join(root, DASHBOARD_FILE), "utf8")) as {
      uid: string;
      panels: { type: string; datasource?: { uid?: string }; targets?: unknown[] }[];
    };
    expect(model.uid).toBe(DASHBOARD_UID);
    const panels = model.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThan(15);
    for (const p of panels) {
      expect(p.datasource?.uid).toBe("${datasource}");
      expect((p.targets ?? []).length).toBeGreaterThan(0);
    }
  });
});

describe("the chart", () => {
  function render(): {
    kind: string;
    metadata: { name: string; labels?: Record<string, string> };
    spec?: unknown;
    data?: Record<string, string>;
  }[] {
    const r = spawnSync(
      helm,
      [
        "template",
        "t",
        "charts/vaultmesh",
        "--namespace",
        "vaultmesh-system",
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "metrics.grafanaDashboard.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=true",
      ],
      { encoding: "utf8", cwd: root },
    );
    expect(r.stderr).toBe("");
    return YAML.parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as never)
      .filter(Boolean);
  }

  it("renders the PrometheusRule with exactly the groups of deploy/prometheus/rules.yaml", () => {
    const rule = render().find((o) => o.kind === "PrometheusRule");
    const plain = YAML.parse(readFileSync(path.join(root, RULES_FILE), "utf8")) as unknown;
    expect(rule?.spec).toEqual(plain);
  });

  it("ships the dashboard in a ConfigMap for Grafana's sidecar", () => {
    const cm = render().find(
      (o) => o.kind === "ConfigMap" && o.metadata.name === "vaultmesh-dashboards",
    );
    expect(cm?.metadata.labels?.grafana_dashboard).toBe("1");
    const shipped = cm?.data?.[`${DASHBOARD_UID}.json`] ?? "";
    expect(JSON.parse(shipped)).toEqual(
      JSON.parse(readFileSync(path.join(root, CHART_DASHBOARD_FILE), "utf8")),
    );
  });

  it("scrapes the operator, the webhooks and the ledger with ServiceMonitors", () => {
    const names = render()
      .filter((o) => o.kind === "ServiceMonitor")
      .map((o) => o.metadata.name)
      .sort();
    expect(names).toEqual(["vaultmesh-ledger", "vaultmesh-operator", "vaultmesh-webhook"]);
  });
});
