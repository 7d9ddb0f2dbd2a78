// A war-game scenario: the treaties and providers, the workload arrival process and the timed
// events (outages, price spikes, latency, reputation shocks, capacity drops, treaty suspension
// or expiry). Parsed from YAML and checked with zod; a bad file is reported with the path of
// every wrong field and what was expected. Reference: docs/wargame/README.md.
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  DEFAULT_ROUTING_STRATEGY,
  GPU_TYPES,
  IN_CLUSTER_PROVIDER,
  ROUTING_STRATEGIES,
  TENANT_PLANS,
  WORKLOAD_PROFILES,
} from "../crds/constants.ts";

const Name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "a DNS label (lowercase letters, digits, '-')");
const Fraction = z.number().min(0).max(1);
const Minutes = z.number().min(0);
const GpuType = z.enum(GPU_TYPES);
const Weight = z.number().positive();
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD");

/** A provider: where an external treaty's jobs run, or the cluster's own GPU pool. */
export const ProviderSchema = z.strictObject({
  /** Provider name; `in-cluster` is the cluster's own GPU pool (kwok GPU nodes live). */
  name: Name,
  /** GPUs that queued and running jobs may hold at once. */
  capacityGpus: z.int().min(0),
  /** Seconds from submission (or Pod binding) to start. */
  startSeconds: z.number().min(0).default(30),
  /** Round trip to the provider's API, as the Treaty controller's probe measures it. */
  latencyMs: z.number().min(0).default(50),
  /** Share of jobs that fail when their running time is up. */
  failRate: Fraction.default(0),
  /** Share of jobs that never start (no offer). */
  stuckRate: Fraction.default(0),
});

/** A treaty: the terms under which workloads may run at a provider. */
export const TreatySchema = z.strictObject({
  name: Name,
  /** A provider in `providers`. */
  provider: Name,
  regions: z.array(z.string().min(1)).min(1),
  /** USD per GPU-hour by GPU type. */
  pricing: z.partialRecord(GpuType, z.number().positive()),
  slo: z
    .strictObject({
      availability: Fraction.default(0.95),
      maxLatencyMs: z.number().positive().optional(),
      maxProvisionTimeSeconds: z.int().positive().optional(),
    })
    .optional(),
  quotas: z
    .strictObject({
      maxConcurrentJobs: z.int().min(0).optional(),
      maxGpuHoursPerMonth: z.number().min(0).optional(),
    })
    .optional(),
  reputationFloor: Fraction.default(0),
  /** Completion history before the run (declared reputation backed by evidence). */
  history: z
    .strictObject({ completions: z.int().min(0), failures: z.int().min(0) })
    .refine((h) => h.failures <= h.completions, "failures must not exceed completions")
    .default({ completions: 0, failures: 0 }),
  expiryDate: Day.optional(),
  suspended: z.boolean().default(false),
});

const Tenant = z.strictObject({
  name: Name,
  weight: Weight,
  plan: z.enum(TENANT_PLANS).default("enterprise"),
  quotas: z
    .strictObject({
      maxGpus: z.int().min(0).optional(),
      maxConcurrentWorkloads: z.int().min(0).optional(),
    })
    .optional(),
  allowedTreaties: z.array(Name).optional(),
  allowedRegions: z.array(z.string().min(1)).optional(),
});

/** The workload arrival process. */
export const ArrivalsSchema = z.strictObject({
  /** How many workloads arrive in all. */
  workloads: z.int().min(1).max(1_000_000),
  /** Poisson arrival rate, piecewise constant from each `fromMinute` (the first from 0). */
  rate: z
    .array(z.strictObject({ fromMinute: Minutes, perMinute: z.number().positive() }))
    .min(1)
    .refine((r) => r[0]?.fromMinute === 0, "the first rate must start at fromMinute 0")
    .refine(
      (r) => r.every((x, i) => i === 0 || x.fromMinute > r[i - 1]!.fromMinute),
      "fromMinute must increase",
    ),
  /** Share of each GPU type (weights, normalized). */
  gpuMix: z.partialRecord(GpuType, Weight),
  /** Share of each GPU count (weights by count). @default {"1": 1} */
  gpuCounts: z.record(z.string().regex(/^[1-9][0-9]?$/, "a GPU count 1..99"), Weight).optional(),
  /** Running time: exponential with this mean, clipped to [min, max] minutes. */
  runtimeMinutes: z
    .strictObject({
      mean: z.number().positive(),
      min: Minutes.default(1),
      max: Minutes.default(600),
    })
    .refine((r) => r.min <= r.max, "min must not exceed max"),
  profiles: z.partialRecord(z.enum(WORKLOAD_PROFILES), Weight).optional(),
  maxPricePerHour: z.number().positive().optional(),
  tenants: z.array(Tenant).min(1),
});

const At = { atMinute: Minutes };
const Lasting = { ...At, durationMinutes: z.number().positive() };

/** A timed event. */
export const EventSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("outage"),
    ...Lasting,
    provider: Name,
    /** Share of API requests refused (1: down, health included). */
    share: Fraction.default(1),
    /** Jobs running at the provider fail when it goes down (hardware lost). */
    killsRunning: z.boolean().default(false),
  }),
  z.strictObject({
    kind: z.literal("priceSpike"),
    ...Lasting,
    provider: Name,
    factor: z.number().positive(),
    /** The provider's treaties are repriced (their pricing follows the provider's). */
    treatiesFollow: z.boolean().default(true),
  }),
  z.strictObject({
    kind: z.literal("latency"),
    ...Lasting,
    provider: Name,
    addMs: z.number().positive(),
  }),
  z.strictObject({
    kind: z.literal("reputationShock"),
    ...Lasting,
    provider: Name,
    /** Share of jobs started in the window that fail. */
    failRate: Fraction.default(1),
    /** Seconds a failing job runs before it fails. */
    failAfterSeconds: z.number().positive().default(60),
  }),
  z.strictObject({
    kind: z.literal("capacityDrop"),
    ...Lasting,
    provider: Name,
    /** Share of capacity that remains. */
    remaining: Fraction,
  }),
  z.strictObject({
    kind: z.literal("treatySuspended"),
    ...At,
    treaty: Name,
    durationMinutes: z.number().positive().optional(),
  }),
  z.strictObject({ kind: z.literal("treatyExpired"), ...At, treaty: Name }),
]);

/** Settings of the operator the scenario runs under (its defaults when omitted). */
export const OperatorSchema = z.strictObject({
  unschedulableTimeoutSeconds: z.int().positive().default(60),
  provisionTimeoutSeconds: z.int().positive().default(300),
  treatyResyncSeconds: z.int().positive().default(30),
});

/** A whole scenario. */
export const ScenarioSchema = z
  .strictObject({
    name: Name,
    description: z.string().default(""),
    seed: z.int().min(0),
    start: z.iso.datetime().default("2026-03-02T08:00:00Z"),
    /** The workloads' routing strategy (what `--compare strategy=…` varies); the product's default. */
    strategy: z.enum(ROUTING_STRATEGIES).default(DEFAULT_ROUTING_STRATEGY),
    /** Simulated time after the last arrival for workloads to finish. */
    drainMinutes: Minutes.default(720),
    operator: OperatorSchema.default({
      unschedulableTimeoutSeconds: 60,
      provisionTimeoutSeconds: 300,
      treatyResyncSeconds: 30,
    }),
    providers: z.array(ProviderSchema).min(1),
    treaties: z.array(TreatySchema).min(1),
    arrivals: ArrivalsSchema,
    events: z.array(EventSchema).default([]),
    /** What the scenario is expected to show; `capacityLimited` explains a fill rate below target. */
    expect: z
      .strictObject({ minFillRate: Fraction.optional(), capacityLimited: z.string().optional() })
      .default({}),
  })
  .superRefine((s, ctx) => {
    const providers = new Set(s.providers.map((p) => p.name));
    const treaties = new Set(s.treaties.map((t) => t.name));
    s.treaties.forEach((t, i) => {
      if (!providers.has(t.provider)) {
        ctx.addIssue({
          code: "custom",
          path: ["treaties", i, "provider"],
          message: `provider ${t.provider} is not in providers`,
        });
      }
    });
    s.events.forEach((e, i) => {
      if ("provider" in e && !providers.has(e.provider)) {
        ctx.addIssue({
          code: "custom",
          path: ["events", i, "provider"],
          message: `provider ${e.provider} is not in providers`,
        });
      }
      if ("treaty" in e && !treaties.has(e.treaty)) {
        ctx.addIssue({
          code: "custom",
          path: ["events", i, "treaty"],
          message: `treaty ${e.treaty} is not in treaties`,
        });
      }
    });
    unique(ctx, s.providers, "providers");
    unique(ctx, s.treaties, "treaties");
  });

function unique(
  ctx: z.RefinementCtx,
  xs: readonly { readonly name: string }[],
  field: string,
): void {
  const seen = new Set<string>();
  xs.forEach((x, i) => {
    if (seen.has(x.name)) {
      ctx.addIssue({
        code: "custom",
        path: [field, i, "name"],
        message: `duplicate name ${x.name}`,
      });
    }
    seen.add(x.name);
  });
}

/** A parsed scenario. */
export type Scenario = z.infer<typeof ScenarioSchema>;
/** A parsed timed event. */
export type ScenarioEvent = z.infer<typeof EventSchema>;
/** A parsed provider. */
export type ScenarioProvider = z.infer<typeof ProviderSchema>;
/** A parsed treaty. */
export type ScenarioTreaty = z.infer<typeof TreatySchema>;

/** Whether a provider is the cluster's own GPU pool. */
export const isInCluster = (provider: string): boolean => provider === IN_CLUSTER_PROVIDER;

/** A scenario file that is not valid: every problem, each naming its path in the file. */
export class ScenarioError extends Error {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: invalid scenario:\n  ${problems.join("\n  ")}`);
    this.name = "ScenarioError";
    this.problems = problems;
  }
}

/** Parses and checks a scenario from YAML text; throws ScenarioError naming every bad path. */
export function parseScenario(text: string, source = "scenario"): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(source, [
      `not YAML: ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  const parsed = ScenarioSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ScenarioError(
    source,
    parsed.error.issues.map((i) => `${pathText(i.path)}: ${i.message}`),
  );
}

/** `treaties[2].pricing.h100` for a zod path. */
export function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}
