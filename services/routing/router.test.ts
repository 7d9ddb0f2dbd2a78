import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import {
  describeDecision,
  IneligibleReason,
  IneligibleReason as R,
  route,
  RouterMemo,
  statusCandidates,
  type RoutableCondition,
  type RoutableSpec,
  type RoutableTreaty,
  type RouteInput,
  type TenantConstraints,
} from "./index.ts";
import { treaty as treatyBuilder, type TreatyBuilder } from "../../test/builders/objects.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
type TreatySpec = RoutableTreaty["spec"];
type TreatyStatus = NonNullable<RoutableTreaty["status"]>;

const READY: RoutableCondition[] = [
  { type: "Ready", status: "True", reason: "InForce" },
  { type: "Degraded", status: "False", reason: "SloMet" },
  { type: "Expired", status: "False", reason: "InForce" },
];

/** A Ready external treaty: akash, us-east/us-west, a10g $1.00/h, reputation 0.95. */
const akash = (name: string): TreatyBuilder =>
  treatyBuilder(name)
    .provider("akash")
    .regions("us-east", "us-west")
    .pricing({ gpuType: "a10g", usdPerHour: 1 })
    .slo({ availability: 0.99, maxLatencyMs: 150 })
    .quotas({ maxConcurrentJobs: 10, maxGpuHoursPerMonth: 500 })
    .reputationFloor(0.8)
    .effectiveDate("2025-11-12")
    .ready()
    .status({
      reputation: 0.95,
      availability: 0.99,
      latencyMs: 100,
      activeJobs: 0,
      gpuHoursThisPeriod: 0,
    });

/** {@link akash} with `spec` and `status` fields replaced (undefined removes one). */
function treaty(
  name: string,
  spec: Partial<TreatySpec> = {},
  status: Partial<TreatyStatus> = {},
): RoutableTreaty {
  const t: RoutableTreaty = akash(name).obj();
  return { ...t, spec: { ...t.spec, ...spec }, status: { ...t.status, ...status } };
}

/** The cluster's own pool: in-cluster, region local, a10g $1.00/h, no measured latency. */
function pool(name: string, status: Partial<TreatyStatus> = {}): RoutableTreaty {
  const spec = { provider: "in-cluster", regions: ["local"], slo: undefined };
  return treaty(name, spec, { latencyMs: undefined, ...status });
}

const A10G: RoutableSpec = { gpu: { type: "a10g", count: 1 } };

function input(
  treaties: RoutableTreaty[],
  spec: Partial<RoutableSpec> = {},
  more: Partial<RouteInput> = {},
): RouteInput {
  return { spec: { ...A10G, ...spec }, treaties, now: NOW, ...more };
}

/** Reasons route() gives for the treaty named `name`. */
function reasonsFor(name: string, i: RouteInput, memo?: RouterMemo): string[] | undefined {
  return route(i, memo).candidates.find((c) => c.treaty === name)?.reasons;
}

describe("route: hard constraints", () => {
  type Row = [
    what: string,
    spec: Partial<TreatySpec>,
    status: Partial<TreatyStatus>,
    workload: Partial<RoutableSpec>,
    more: Partial<RouteInput>,
    wantReasons: string[],
    wantCodes: IneligibleReason[],
  ];
  const tenant = (t: TenantConstraints): Partial<RouteInput> => ({ tenant: t });
  it.each<Row>([
    [
      "reputation below the floor",
      { reputationFloor: 0.9 },
      { reputation: 0.82 },
      {},
      {},
      ["reputation 0.82 below treaty floor 0.90"],
      [R.ReputationBelowFloor],
    ],
    [
      "reputation just below the floor (more decimals)",
      { reputationFloor: 0.9 },
      { reputation: 0.8951 },
      {},
      {},
      ["reputation 0.8951 below treaty floor 0.9000"],
      [R.ReputationBelowFloor],
    ],
    [
      "a region the treaty does not serve",
      {},
      {},
      { regions: ["eu-west"] },
      {},
      ["region eu-west not in treaty regions [us-east, us-west]"],
      [R.RegionNotServed],
    ],
    [
      "several regions the treaty does not serve",
      {},
      {},
      { regions: ["eu-west", "ap-south"] },
      {},
      ["regions [eu-west, ap-south] not in treaty regions [us-east, us-west]"],
      [R.RegionNotServed],
    ],
    [
      "treaty regions outside the tenant's allowedRegions",
      {},
      {},
      {},
      tenant({ allowedRegions: ["eu-west"] }),
      ["treaty regions [us-east, us-west] not in tenant's allowedRegions [eu-west]"],
      [R.RegionNotAllowed],
    ],
    [
      "workload regions served but not allowed to the tenant",
      {},
      {},
      { regions: ["us-east", "eu-west"] },
      tenant({ allowedRegions: ["eu-west"] }),
      ["regions [us-east] served by the treaty not in tenant's allowedRegions [eu-west]"],
      [R.RegionNotAllowed],
    ],
    [
      "a GPU type the treaty does not price",
      {},
      {},
      { gpu: { type: "h100", count: 1 } },
      {},
      ["gpu type h100 not priced by this treaty"],
      [R.GpuTypeNotPriced],
    ],
    [
      "a price above maxPricePerHour",
      { pricing: [{ gpuType: "a10g", usdPerHour: 1.2 }] },
      {},
      { maxPricePerHour: 1 },
      {},
      ["price $1.20/h exceeds maxPricePerHour $1.00"],
      [R.PriceAboveMax],
    ],
    [
      "the concurrent-jobs quota reached",
      {},
      { activeJobs: 10 },
      {},
      {},
      ["treaty at maxConcurrentJobs 10/10"],
      [R.MaxConcurrentJobs],
    ],
    [
      "the GPU-hours quota reached",
      {},
      { gpuHoursThisPeriod: 500 },
      {},
      {},
      ["treaty GPU-hours 500/500 this period"],
      [R.GpuHoursExhausted],
    ],
    [
      "the GPU-hours quota passed by a fraction",
      {},
      { gpuHoursThisPeriod: 500.25 },
      {},
      {},
      ["treaty GPU-hours 500.25/500 this period"],
      [R.GpuHoursExhausted],
    ],
    [
      "an Expired condition",
      {},
      { conditions: [{ type: "Expired", status: "True", reason: "PastExpiryDate" }] },
      {},
      {},
      ["treaty not Ready: Expired"],
      [R.NotReady],
    ],
    [
      "Ready False",
      {},
      { conditions: [{ type: "Ready", status: "False", reason: "EndpointUnreachable" }] },
      {},
      {},
      ["treaty not Ready: EndpointUnreachable"],
      [R.NotReady],
    ],
    [
      "a provider without an endpoint (Ready False EndpointMissing)",
      {},
      {
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "EndpointMissing",
            message: "spec.endpoint is not set: external provider akash cannot be reached",
          },
        ],
      },
      {},
      {},
      [
        "treaty not Ready: EndpointMissing: spec.endpoint is not set: external provider akash cannot be reached",
      ],
      [R.NotReady],
    ],
    [
      "a missing credentials Secret (Ready False CredentialsMissing)",
      {},
      {
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "CredentialsMissing",
            message: "spec.credentialsSecretRef: Secret vaultmesh-system/akash does not exist",
          },
        ],
      },
      {},
      {},
      [
        "treaty not Ready: CredentialsMissing: spec.credentialsSecretRef: Secret vaultmesh-system/akash does not exist",
      ],
      [R.NotReady],
    ],
    [
      "no conditions yet",
      {},
      { conditions: undefined },
      {},
      {},
      ["treaty not Ready: no Ready condition yet"],
      [R.NotReady],
    ],
    [
      "an expiryDate passed by the clock (conditions stale)",
      { expiryDate: "2026-03-01" },
      {},
      {},
      {},
      ["treaty not Ready: Expired (expiryDate 2026-03-01)"],
      [R.NotReady],
    ],
    [
      "an effectiveDate after the clock",
      { effectiveDate: "2026-03-02" },
      {},
      {},
      {},
      ["treaty not Ready: not in force until effectiveDate 2026-03-02"],
      [R.NotReady],
    ],
    [
      "a Degraded condition",
      {},
      {
        conditions: [
          ...READY.slice(0, 1),
          { type: "Degraded", status: "True", reason: "SloBreached" },
        ],
      },
      {},
      {},
      ["treaty Degraded: SloBreached"],
      [R.Degraded],
    ],
    ["suspension", { suspended: true }, {}, {}, {}, ["treaty suspended"], [R.Suspended]],
    [
      "a treaty outside the tenant's allowedTreaties",
      {},
      {},
      {},
      tenant({ allowedTreaties: ["other"] }),
      ["treaty not in tenant's allowedTreaties"],
      [R.TreatyNotAllowed],
    ],
    [
      "an empty tenant allowedTreaties (fails closed)",
      {},
      {},
      {},
      tenant({ allowedTreaties: [] }),
      ["treaty not in tenant's allowedTreaties"],
      [R.TreatyNotAllowed],
    ],
    [
      "a provider outside allowedProviders",
      {},
      {},
      { routing: { allowedProviders: ["ionet", "render"] } },
      {},
      ["provider akash not in allowedProviders [ionet, render]"],
      [R.ProviderNotAllowed],
    ],
    [
      "a treaty already attempted",
      {},
      {},
      {},
      { excluding: ["t"] },
      ["treaty already attempted by this workload (failover)"],
      [R.AlreadyAttempted],
    ],
    [
      "a treatyRef pinning another treaty",
      {},
      {},
      { routing: { treatyRef: { name: "other" } } },
      {},
      ["routing.treatyRef pins the workload to treaty other"],
      [R.PinnedToOther],
    ],
    [
      "several failures, workload reasons first",
      { suspended: true, reputationFloor: 0.9 },
      { reputation: 0.5, activeJobs: 12 },
      { gpu: { type: "h100", count: 1 }, regions: ["eu-west"] },
      tenant({ allowedTreaties: [] }),
      [
        "treaty not in tenant's allowedTreaties",
        "gpu type h100 not priced by this treaty",
        "region eu-west not in treaty regions [us-east, us-west]",
        "treaty suspended",
        "reputation 0.50 below treaty floor 0.90",
        "treaty at maxConcurrentJobs 12/10",
      ],
      [
        R.TreatyNotAllowed,
        R.GpuTypeNotPriced,
        R.RegionNotServed,
        R.Suspended,
        R.ReputationBelowFloor,
        R.MaxConcurrentJobs,
      ],
    ],
  ])("refuses %s", (...[, spec, status, workload, more, wantReasons, wantCodes]: Row) => {
    const d = route(input([treaty("t", spec, status)], workload, more));
    expect(d.chosen).toBeUndefined();
    expect(d.candidates.find((c) => c.treaty === "t")).toEqual({
      treaty: "t",
      provider: "akash",
      eligible: false,
      reasons: wantReasons,
      codes: wantCodes,
    });
  });

  it.each<[string, Partial<TreatySpec>, Partial<TreatyStatus>, Partial<RoutableSpec>]>([
    ["a price equal to maxPricePerHour", {}, {}, { maxPricePerHour: 1 }],
    ["reputation equal to the floor", { reputationFloor: 0.95 }, {}, {}],
    [
      "no reputation yet (no evidence against it)",
      { reputationFloor: 0.9 },
      { reputation: undefined },
      {},
    ],
    ["one job below the concurrency quota", {}, { activeJobs: 9 }, {}],
    ["an expiryDate tomorrow", { expiryDate: "2026-03-02" }, {}, {}],
    ["an effectiveDate today", { effectiveDate: "2026-03-01" }, {}, {}],
    ["empty workload regions (any region)", {}, {}, { regions: [] }],
    ["its own pinned treatyRef", {}, {}, { routing: { treatyRef: { name: "t" } } }],
    ["an allowed provider", {}, {}, { routing: { allowedProviders: ["akash"] } }],
  ])("accepts %s", (_what, spec, status, workload) => {
    const d = route(input([treaty("t", spec, status)], workload));
    expect(d.chosen?.treaty).toBe("t");
    expect(d.candidates).toHaveLength(1);
  });

  it("picks the workload's first region that the treaty serves and the tenant allows", () => {
    const d = route(
      input(
        [treaty("t")],
        { regions: ["eu-west", "us-west", "us-east"] },
        {
          tenant: { allowedRegions: ["us-east", "us-west"] },
        },
      ),
    );
    expect(d.placement).toEqual({
      treaty: "t",
      provider: "akash",
      region: "us-west",
      pricePerHour: 1,
      score: d.chosen?.score,
    });
  });

  it("reports a pinned treatyRef that does not exist, first", () => {
    const d = route(input([treaty("a"), treaty("z")], { routing: { treatyRef: { name: "m" } } }));
    expect(d.chosen).toBeUndefined();
    expect(d.candidates.map((c) => [c.treaty, c.reasons])).toEqual([
      ["m", ["routing.treatyRef names treaty m, which does not exist"]],
      ["a", ["routing.treatyRef pins the workload to treaty m"]],
      ["z", ["routing.treatyRef pins the workload to treaty m"]],
    ]);
    expect(d.candidates.map((c) => c.codes)).toEqual([
      [R.PinnedTreatyMissing],
      [R.PinnedToOther],
      [R.PinnedToOther],
    ]);
  });

  it("writes status candidates without codes, at most MAX_STATUS_CANDIDATES", () => {
    const many = Array.from({ length: 70 }, (_, i) => treaty(`t${String(i).padStart(2, "0")}`));
    const d = route(input(many, { gpu: { type: "h100", count: 1 } }));
    const want = d.candidates.slice(0, 64).map((c) => ({
      treaty: c.treaty,
      provider: c.provider,
      eligible: c.eligible,
      reasons: c.reasons,
    }));
    expect(d.candidates[0]?.codes).toEqual([R.GpuTypeNotPriced]);
    expect(statusCandidates(d)).toEqual(want);
  });

  it("lists an ineligible pinned treaty before the others", () => {
    const d = route(
      input([treaty("a"), treaty("m", { suspended: true }), treaty("z")], {
        routing: { treatyRef: { name: "m" } },
      }),
    );
    expect(d.candidates.map((c) => [c.treaty, c.reasons?.[0]])).toEqual([
      ["m", "treaty suspended"],
      ["a", "routing.treatyRef pins the workload to treaty m"],
      ["z", "routing.treatyRef pins the workload to treaty m"],
    ]);
  });
});

describe("route: scoring", () => {
  // cheap: $1/h at 100 ms; fast: $2/h at 50 ms. Under balanced weights the ratios cancel
  // (0.3×1 + 0.3×0.5 = 0.3×0.5 + 0.3×1), so the two tie on score and price decides.
  const cheap = treaty("cheap", {}, { latencyMs: 100 });
  const fast = treaty("fast", { pricing: [{ gpuType: "a10g", usdPerHour: 2 }] }, { latencyMs: 50 });

  it.each<[string, RoutableSpec["routing"], string, number, number]>([
    ["balanced (tie → cheaper)", { strategy: "balanced" }, "cheap", 0.838, 0.838],
    ["cheapest", { strategy: "cheapest" }, "cheap", 0.944, 0.644],
    ["fastest", { strategy: "fastest" }, "fast", 0.944, 0.644],
    ["balanced by default", undefined, "cheap", 0.838, 0.838],
  ])("strategy %s", (_what, routing, wantChosen, wantFirst, wantSecond) => {
    const d = route(input([fast, cheap], { routing }));
    expect(d.chosen?.treaty).toBe(wantChosen);
    expect(d.candidates.map((c) => c.score)).toEqual([wantFirst, wantSecond]);
  });

  it("does not depend on units: prices in cents or latencies in µs give the same scores", () => {
    const scale = (t: RoutableTreaty, p: number, l: number): RoutableTreaty => ({
      ...t,
      spec: {
        ...t.spec,
        pricing: t.spec.pricing.map((x) => ({ ...x, usdPerHour: x.usdPerHour * p })),
      },
      status: { ...t.status, latencyMs: (t.status?.latencyMs ?? 0) * l },
    });
    const want = route(input([cheap, fast])).candidates.map((c) => c.score);
    const got = route(input([scale(cheap, 100, 1000), scale(fast, 100, 1000)]));
    expect(got.candidates.map((c) => c.score)).toEqual(want);
  });

  it.each<[string, RoutableTreaty, number]>([
    ["the best of one: price and latency ratios are 1", treaty("t"), 0.3 + 0.3 + 0.19 + 0.198],
    [
      "unknown latency scores 0 on latency",
      treaty("t", { slo: { availability: 0.99 } }, { latencyMs: undefined }),
      0.3 + 0.19 + 0.198,
    ],
    [
      "the declared SLO latency until measured",
      treaty("t", {}, { latencyMs: undefined }),
      0.3 + 0.3 + 0.19 + 0.198,
    ],
    [
      "the floor as reputation until measured",
      treaty("t", {}, { reputation: undefined }),
      0.3 + 0.3 + 0.16 + 0.198,
    ],
    [
      "the SLO availability until measured",
      treaty("t", {}, { availability: undefined }),
      0.3 + 0.3 + 0.19 + 0.198,
    ],
  ])("scores %s", (_what, t, wantScore) => {
    expect(route(input([t])).chosen?.score).toBeCloseTo(wantScore, 4);
  });

  it("explains an eligible candidate's score", () => {
    const d = route(input([cheap, fast]));
    expect(d.candidates.map((c) => c.reasons)).toEqual([
      ["price $1.00/h→1.00, latency 100ms→0.50, reputation 0.95, availability 0.99 (balanced)"],
      ["price $2.00/h→0.50, latency 50ms→1.00, reputation 0.95, availability 0.99 (balanced)"],
    ]);
  });

  it("treats an unmeasured in-cluster pool as local (latency floor)", () => {
    const d = route(input([pool("pool"), treaty("ext", {}, { latencyMs: 10 })]));
    expect(d.candidates.map((c) => [c.treaty, c.score])).toEqual([
      ["ext", 0.988],
      ["pool", 0.988],
    ]);
  });
});

describe("route: hybrid principle", () => {
  // Identical terms: only the profile separates the GPU core from the API edge.
  const core = pool("core", { latencyMs: 100 });
  const edge = treaty("edge");
  it.each<[string, RoutableSpec["profile"], string[], number[]]>([
    ["batch has no preference (tie → name)", "batch", ["core", "edge"], [0.988, 0.988]],
    ["steady prefers the GPU core", "steady", ["core", "edge"], [0.9892, 0.8892]],
    ["bursty prefers API-edge providers", "bursty", ["edge", "core"], [0.9892, 0.8892]],
  ])("%s", (_what, profile, wantOrder, wantScores) => {
    const d = route(input([edge, core], { profile }));
    expect(d.candidates.map((c) => c.treaty)).toEqual(wantOrder);
    expect(d.candidates.map((c) => c.score)).toEqual(wantScores);
  });

  it("explains the preference", () => {
    const d = route(input([edge, core], { profile: "bursty" }));
    expect(d.candidates.map((c) => c.reasons?.[0]?.split("; ")[1])).toEqual([
      "bursty prefers API-edge providers: this is one (+0.10)",
      "bursty prefers API-edge providers: not one",
    ]);
  });

  it("is a preference, not a rule: a much better API edge still beats a steady core", () => {
    const cheapEdge = treaty("edge", { pricing: [{ gpuType: "a10g", usdPerHour: 0.4 }] });
    const d = route(input([cheapEdge, core], { profile: "steady" }));
    expect(d.chosen?.treaty).toBe("edge");
  });
});

describe("route: ordering and tie-break", () => {
  const priced = (name: string, usd: number, latencyMs = 100): RoutableTreaty =>
    treaty(name, { pricing: [{ gpuType: "a10g", usdPerHour: usd }] }, { latencyMs });
  it.each<[string, RoutableTreaty[], string[]]>([
    ["score descending", [priced("b", 2), priced("a", 1.5), priced("c", 1)], ["c", "a", "b"]],
    ["equal score: price ascending", [priced("x", 2, 50), priced("y", 1, 100)], ["y", "x"]],
    [
      "equal score and price: name ascending",
      [priced("b", 1), priced("c", 1), priced("a", 1)],
      ["a", "b", "c"],
    ],
    [
      "eligible first, then ineligible by name",
      [
        treaty("z", { suspended: true }),
        priced("m", 3),
        treaty("a", { suspended: true }),
        priced("n", 1),
      ],
      ["n", "m", "a", "z"],
    ],
  ])("%s", (_what, treaties, wantOrder) => {
    expect(route(input(treaties)).candidates.map((c) => c.treaty)).toEqual(wantOrder);
    const reversed = route(input([...treaties].reverse())).candidates.map((c) => c.treaty);
    expect(reversed).toEqual(wantOrder);
  });

  it("fails over: excluding the chosen treaty chooses the next candidate", () => {
    const treaties = [priced("a", 1), priced("b", 2), priced("c", 3)];
    const first = route(input(treaties));
    const second = route(input(treaties, {}, { excluding: [first.chosen!.treaty] }));
    const third = route(input(treaties, {}, { excluding: ["a", "b"] }));
    expect([first.chosen?.treaty, second.chosen?.treaty, third.chosen?.treaty]).toEqual([
      "a",
      "b",
      "c",
    ]);
  });
});

describe("route: memoized facts follow the treaties", () => {
  const memo = new RouterMemo();
  const versioned = (rv: string, status: Partial<TreatyStatus> = {}): RoutableTreaty => {
    const t = treaty("t", {}, status);
    return { ...t, metadata: { ...t.metadata, resourceVersion: rv } };
  };

  it("sees a new version of a treaty in a new array", () => {
    expect(route(input([versioned("1")]), memo).chosen?.treaty).toBe("t");
    expect(reasonsFor("t", input([versioned("2", { activeJobs: 10 })]), memo)).toEqual([
      "treaty at maxConcurrentJobs 10/10",
    ]);
  });

  it("sees an array changed in place", () => {
    const treaties = [versioned("1")];
    expect(route(input(treaties), memo).candidates).toHaveLength(1);
    treaties.push({ ...versioned("3"), metadata: { name: "u", resourceVersion: "3" } });
    expect(route(input(treaties), memo).candidates.map((c) => c.treaty)).toEqual(["t", "u"]);
    treaties[0] = versioned("4", { activeJobs: 10 });
    expect(reasonsFor("t", input(treaties), memo)).toEqual(["treaty at maxConcurrentJobs 10/10"]);
  });

  it("sees the day change for the same objects", () => {
    const t = versioned("1");
    const expiring = { ...t, spec: { ...t.spec, expiryDate: "2026-03-02" } };
    const treaties = [expiring];
    expect(route(input(treaties), memo).chosen?.treaty).toBe("t");
    const tomorrow = new Date("2026-03-02T00:00:00Z");
    expect(reasonsFor("t", { ...input(treaties), now: tomorrow }, memo)).toEqual([
      "treaty not Ready: Expired (expiryDate 2026-03-02)",
    ]);
  });

  it("sees a hand-built treaty without resourceVersion mutated in place", () => {
    const t = treaty("t");
    expect(route(input([t]), memo).chosen?.treaty).toBe("t");
    (t.status as { activeJobs: number }).activeJobs = 10;
    expect(route(input([t]), memo).chosen).toBeUndefined();
  });
});

describe("route: live usage and memoized verdicts", () => {
  const memo = new RouterMemo();
  const versioned = (name: string, spec: Partial<TreatySpec> = {}): RoutableTreaty => {
    const t = treaty(name, spec);
    return { ...t, metadata: { name, resourceVersion: "7" } };
  };

  it.each<
    [
      string,
      Map<string, { activeJobs?: number; gpuHoursThisPeriod?: number }>,
      string[] | undefined,
    ]
  >([
    [
      "usage under the quotas",
      new Map([["t", { activeJobs: 9, gpuHoursThisPeriod: 10 }]]),
      undefined,
    ],
    [
      "usage at maxConcurrentJobs",
      new Map([["t", { activeJobs: 10 }]]),
      ["treaty at maxConcurrentJobs 10/10"],
    ],
    [
      "usage past both quotas",
      new Map([["t", { activeJobs: 11, gpuHoursThisPeriod: 512.5 }]]),
      ["treaty at maxConcurrentJobs 11/10", "treaty GPU-hours 512.50/500 this period"],
    ],
    ["usage of another treaty", new Map([["u", { activeJobs: 99 }]]), undefined],
  ])("checks quotas against %s", (_what, usage, wantReasons) => {
    const got = route(input([versioned("t")], {}, { usage }), memo);
    expect(got.candidates[0]?.eligible ? undefined : got.candidates[0]?.reasons).toEqual(
      wantReasons,
    );
  });

  it("gives the same answers from memo as computed, for each workload shape", () => {
    const treaties = [
      versioned("a"),
      versioned("b", { regions: ["eu-west"] }),
      versioned("c", { suspended: true }),
    ];
    const shapes: Partial<RouteInput>[] = [
      {},
      { spec: { ...A10G, regions: ["eu-west"] } },
      { tenant: { allowedTreaties: ["a"] } },
      { spec: { ...A10G, maxPricePerHour: 0.5 } },
      { usage: new Map([["a", { activeJobs: 10 }]]) },
      { excluding: ["a"] },
    ];
    const fresh = (i: RouteInput): RouteInput => ({
      ...i,
      treaties: i.treaties.map((t) => ({ ...t, metadata: { name: t.metadata.name } })),
    });
    for (let round = 0; round < 3; round++) {
      for (const more of shapes) {
        const i = { ...input(treaties), ...more };
        expect(route(i, memo)).toEqual(route(fresh(i)));
      }
    }
  });

  it("shares frozen candidates between decisions, so callers cannot corrupt the memo", () => {
    const treaties = [versioned("c", { suspended: true })];
    const first = route(input(treaties), memo).candidates[0]!;
    expect(Object.isFrozen(first) && Object.isFrozen(first.reasons)).toBe(true);
    expect(() => first.reasons?.push("x")).toThrow(TypeError);
    expect(route(input(treaties), memo).candidates[0]?.reasons).toEqual(["treaty suspended"]);
  });
});

describe("describeDecision", () => {
  it.each<[string, RouteInput, string]>([
    [
      "a choice",
      input([treaty("a"), treaty("b", { suspended: true })], { regions: ["us-west"] }),
      "routed to treaty a (akash in us-west) at $1.00/h, score 0.988; 1 of 2 treaties eligible",
    ],
    [
      "no eligible treaty",
      input([treaty("a", { suspended: true }), treaty("b")], { maxPricePerHour: 0.5 }),
      "no eligible treaty among 2: a: price $1.00/h exceeds maxPricePerHour $0.50, treaty suspended; " +
        "b: price $1.00/h exceeds maxPricePerHour $0.50",
    ],
    ["no treaty at all", input([]), "no eligible treaty: no Treaty exists"],
  ])("describes %s", (_what, i, wantMessage) => {
    expect(describeDecision(route(i))).toBe(wantMessage);
  });

  it("cuts a long message", () => {
    const many = Array.from({ length: 50 }, (_, k) => treaty(`t${k}`, { suspended: true }));
    const got = describeDecision(route(input(many)), 200);
    expect(got).toHaveLength(200);
    expect(got.endsWith("…")).toBe(true);
  });
});

describe("route: properties", () => {
  const arbTreaty = fc.record({
    name: fc.constantFrom("a", "b", "c", "d", "e", "f", "g"),
    provider: fc.constantFrom("akash", "ionet", "in-cluster"),
    usd: fc.double({ min: 0, max: 10, noNaN: true }),
    latencyMs: fc.option(fc.double({ min: 0, max: 1000, noNaN: true }), { nil: undefined }),
    reputation: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    suspended: fc.boolean(),
    activeJobs: fc.integer({ min: 0, max: 12 }),
  });
  const arbTreaties = fc.uniqueArray(arbTreaty, { selector: (t) => t.name, maxLength: 7 });

  it("is independent of input order, scores in 0..1, eligible first and explained", () => {
    fc.assert(
      fc.property(
        arbTreaties,
        fc.constantFrom<RoutableSpec["profile"]>("batch", "steady", "bursty"),
        fc.constantFrom<"balanced" | "cheapest" | "fastest">("balanced", "cheapest", "fastest"),
        (raw, profile, strategy) => {
          const treaties = raw.map((r) =>
            treaty(
              r.name,
              {
                provider: r.provider,
                pricing: [{ gpuType: "a10g", usdPerHour: r.usd }],
                suspended: r.suspended,
              },
              { latencyMs: r.latencyMs, reputation: r.reputation, activeJobs: r.activeJobs },
            ),
          );
          const spec = { profile, routing: { strategy } };
          const d = route(input(treaties, spec));
          const reversed = route(input([...treaties].reverse(), spec));
          expect(reversed).toEqual(d);
          expect(d.candidates).toHaveLength(treaties.length);
          const firstIneligible = d.candidates.findIndex((c) => !c.eligible);
          for (const [i, c] of d.candidates.entries()) {
            expect(c.reasons?.length).toBeGreaterThan(0);
            if (c.eligible) {
              expect(firstIneligible === -1 || i < firstIneligible).toBe(true);
              expect(c.score).toBeGreaterThanOrEqual(0);
              expect(c.score).toBeLessThanOrEqual(1);
            }
          }
          expect(d.chosen).toBe(d.candidates.find((c) => c.eligible));
        },
      ),
      { numRuns: 200 },
    );
  });
});
