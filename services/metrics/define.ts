/**
 * Metric definitions as data: every metric VaultMesh exposes is a {@link MetricDef} in
 * catalog.ts (name, type, labels, buckets, meaning, which process exposes it), and the code
 * creates its prom-client metrics from those definitions with {@link counter}, {@link gauge} and
 * {@link histogram}. docs/metrics.md is generated from the same list (hack/generate-metrics-docs.ts),
 * so the documentation cannot drift from the code (ADR 0110).
 */
import client, { type Registry } from "prom-client";

/** The processes that expose metrics (each on its own registry and /metrics). */
export type MetricProcess = "operator" | "webhooks" | "ledger" | "tsa" | "provider-sim";

/** One metric: what the code registers and the docs describe. */
export interface MetricDef<L extends string = string> {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  /** One sentence: the meaning (the `# HELP` line). */
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Each label's bounded set of values, for the docs (never a workload's name or uid). */
  readonly labels?: Readonly<Record<L, string>>;
  /** Histogram buckets (seconds for `_seconds`). */
  readonly buckets?: readonly number[];
  /** The section of docs/metrics.md. */
  readonly group: string;
  readonly processes: readonly MetricProcess[];
}

/** Defines a metric (identity, typed by its labels). */
export function defineMetric<const L extends string = never>(def: MetricDef<L>): MetricDef<L> {
  if (!/^vaultmesh_[a-z0-9_]+$/.test(def.name)) {
    throw new Error(`metric name: expected vaultmesh_[a-z0-9_]+, got ${def.name}`);
  }
  if ((def.type === "histogram") !== (def.buckets !== undefined)) {
    throw new Error(`${def.name}: buckets are given for histograms and only for them`);
  }
  return def;
}

/** Creates `def`'s counter on `registry`. */
export function counter<L extends string>(
  registry: Registry,
  def: MetricDef<L>,
): client.Counter<L> {
  return new client.Counter({
    name: def.name,
    help: def.help,
    labelNames: [...def.labelNames],
    registers: [registry],
  });
}

/** Creates `def`'s gauge on `registry`; `collect` runs at each scrape. */
export function gauge<L extends string>(
  registry: Registry,
  def: MetricDef<L>,
  collect?: (this: client.Gauge<L>) => void | Promise<void>,
): client.Gauge<L> {
  return new client.Gauge({
    name: def.name,
    help: def.help,
    labelNames: [...def.labelNames],
    registers: [registry],
    ...(collect ? { collect } : {}),
  });
}

/** Creates `def`'s histogram on `registry`. */
export function histogram<L extends string>(
  registry: Registry,
  def: MetricDef<L>,
): client.Histogram<L> {
  return new client.Histogram({
    name: def.name,
    help: def.help,
    labelNames: [...def.labelNames],
    buckets: [...(def.buckets ?? [])],
    registers: [registry],
  });
}

/** Node.js process metrics (prom-client's defaults, prefixed `vaultmesh_`) on `registry`. */
export function processMetrics(registry: Registry): void {
  client.collectDefaultMetrics({ register: registry, prefix: "vaultmesh_" });
}

/**
 * `compute` once per scrape: prom-client calls every collect function of a registry in one
 * synchronous pass, so the gauges that share one computation (a ratio and its numerator and
 * denominator, say) call the returned function and get the same value; the next scrape computes
 * afresh. A promise is shared the same way.
 */
export function oncePerScrape<T>(compute: () => T): () => T {
  let cached: { readonly value: T } | undefined;
  return () => {
    if (!cached) {
      cached = { value: compute() };
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}
