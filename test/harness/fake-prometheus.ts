/**
 * Unit-test stand-in for Prometheus: answers the report's queries from fixed values per metric,
 * and a loopback HTTP server speaking Prometheus's query API with those answers. It does NOT
 * evaluate PromQL (any query naming a metric gets that metric's value), so it only tests the
 * report's and the CLI's handling of answers; the PromQL itself is evaluated by the real
 * Prometheus in test/integration/slo-report-receipt.test.ts and the soak.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  MatrixSeries,
  PrometheusQuerier,
  VectorSample,
} from "../../services/slo/prometheus-api.ts";

/** Values of the KPIs' metrics in a fake Prometheus; a missing entry is an absent series. */
export type FakeValues = Partial<Record<string, number>>;

/** Healthy values: every KPI measurable and within its target. */
export const HEALTHY: FakeValues = {
  vaultmesh_treaty_fill_rate: 0.9,
  vaultmesh_treaty_rtt_seconds_bucket: 0.12,
  vaultmesh_provenance_coverage: 1,
  vaultmesh_webhook_decision_duration_seconds_bucket: 0.004,
};

/** The instant vector a query over `values` gives: the value of the metric it reads, if present. */
export function answer(values: FakeValues, expr: string): VectorSample[] {
  const metric = Object.keys(values).find((m) => expr.includes(m));
  const v = metric === undefined ? undefined : values[metric];
  if (v === undefined) return [];
  // The presence probe counts series; the KPI queries return the value (quantiles scale it).
  if (expr.startsWith("count(count_over_time(")) return [{ metric: {}, value: 1 }];
  const q = /histogram_quantile\(([0-9.]+)/.exec(expr)?.[1];
  return [{ metric: {}, value: q ? v * (1 + Number(q)) : v }];
}

/** A PrometheusQuerier over fixed values (unit tests of the report). */
export function fakeQuerier(values: FakeValues): PrometheusQuerier {
  return {
    url: "http://prometheus.test",
    query: (expr) => Promise.resolve(answer(values, expr)),
    queryRange: (expr, start, end, step): Promise<MatrixSeries[]> => {
      const v = answer(values, expr)[0]?.value;
      if (v === undefined) return Promise.resolve([]);
      const points: [number, number][] = [];
      for (let t = start.getTime() / 1000; t <= end.getTime() / 1000; t += step)
        points.push([t, v]);
      return Promise.resolve([{ metric: {}, values: points }]);
    },
  };
}

/** A loopback server answering /api/v1/query and /api/v1/query_range from `values`. */
export async function startFakePrometheus(
  values: FakeValues,
): Promise<{ url: string; close: () => Promise<void> }> {
  const q = fakeQuerier(values);
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const p = new URLSearchParams(body);
      const expr = p.get("query") ?? "";
      const reply = (data: unknown): void => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "success", data }));
      };
      if (req.url?.startsWith("/api/v1/query_range")) {
        void q
          .queryRange(
            expr,
            new Date(Number(p.get("start")) * 1000),
            new Date(Number(p.get("end")) * 1000),
            Number(p.get("step")),
          )
          .then((m) =>
            reply({
              resultType: "matrix",
              result: m.map((s) => ({
                metric: s.metric,
                values: s.values.map(([t, v]) => [t, String(v)]),
              })),
            }),
          );
      } else {
        void q.query(expr, new Date()).then((v) =>
          reply({
            resultType: "vector",
            result: v.map((s) => ({
              metric: s.metric,
              value: [Date.now() / 1000, String(s.value)],
            })),
          }),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
