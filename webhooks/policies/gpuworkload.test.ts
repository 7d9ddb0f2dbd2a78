import { describe, expect, it } from "@jest/globals";
import type { Tenant, Treaty } from "../../crds/index.ts";
import { makeTenant, makeTreaty, makeWorkload } from "../../test/builders/webhook-objects.ts";
import {
  validateGPUWorkload,
  vaultLawCandidates,
  type GPUWorkloadPolicyInput,
  type TreatyVaultLawVerdict,
} from "./gpuworkload.ts";

const NS = "tenant-acme";
const limits = { maxGpus: 8, maxConcurrentWorkloads: 4, maxRuntimeSeconds: 86_400 };

function input(
  over: Partial<GPUWorkloadPolicyInput> & { object: unknown },
): GPUWorkloadPolicyInput {
  return {
    namespace: NS,
    tenant: makeTenant("acme"),
    limits,
    usage: { gpusInUse: 0, activeWorkloads: 0 },
    treaties: [makeTreaty("pool")],
    vaultLaw: [],
    today: "2026-06-01",
    ...over,
  };
}

// A workload whose container template is replaced (the builder only writes a valid one).
const withTemplate = (template: Record<string, unknown>): unknown => {
  const w = makeWorkload("w", NS);
  return { ...w, spec: { ...w.spec, template } };
};

const fields = (i: GPUWorkloadPolicyInput): string[] =>
  validateGPUWorkload(i).errors.map((e) => e.field);

describe("validateGPUWorkload", () => {
  it("allows a workload within quota, regions and treaties", () => {
    const r = validateGPUWorkload(input({ object: makeWorkload("w", NS) }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it.each<[string, Partial<GPUWorkloadPolicyInput> & { object: unknown }, string[]]>([
    [
      "outside a tenant namespace",
      { namespace: "default", object: makeWorkload("w", "default") },
      ["metadata.namespace"],
    ],
    [
      "tenant missing",
      { tenant: undefined, limits: undefined, object: makeWorkload("w", NS) },
      ["metadata.namespace"],
    ],
    [
      "tenant suspended",
      { tenant: makeTenant("acme", { suspended: true }), object: makeWorkload("w", NS) },
      ["metadata.namespace"],
    ],
    [
      "tenant not Ready",
      { tenant: makeTenant("acme", { ready: false }), object: makeWorkload("w", NS) },
      ["metadata.namespace"],
    ],
    [
      "GPU quota exceeded",
      { usage: { gpusInUse: 6, activeWorkloads: 1 }, object: makeWorkload("w", NS, { count: 4 }) },
      ["spec.gpu.count"],
    ],
    [
      "concurrent workloads exceeded",
      { usage: { gpusInUse: 0, activeWorkloads: 4 }, object: makeWorkload("w", NS) },
      ["metadata.name"],
    ],
    [
      "runtime above the plan's",
      { object: makeWorkload("w", NS, { maxRuntimeSeconds: 90_000 }) },
      ["spec.maxRuntimeSeconds"],
    ],
    ["schema: 65 GPUs", { object: makeWorkload("w", NS, { count: 65 }) }, ["spec.gpu.count"]],
    [
      "schema: U+202E in an argument (ADR 0093)",
      { object: withTemplate({ image: "registry.example/train:1", args: ["x", "a\u202Eb"] }) },
      ["spec.template.args[1]"],
    ],
    [
      "schema: an image outside the reference grammar",
      { object: withTemplate({ image: "registry.example/Train:1" }) },
      ["spec.template.image"],
    ],
    [
      "pinned treaty missing",
      { object: makeWorkload("w", NS, { treatyRef: "nope" }) },
      ["spec.routing.treatyRef.name"],
    ],
  ])("denies: %s", (_name, over, wantFields) => {
    expect(fields(input(over))).toEqual(wantFields);
  });

  it("lists every reason at once, each with its field", () => {
    const tenant = makeTenant("acme", { allowedRegions: ["local"], allowedTreaties: ["other"] });
    const r = validateGPUWorkload(
      input({
        tenant,
        usage: { gpusInUse: 8, activeWorkloads: 4 },
        object: makeWorkload("w", NS, {
          count: 2,
          regions: ["local", "eu-west", "us-east"],
          treatyRef: "pool",
          gpuType: "h100",
        }),
      }),
    );
    expect(r.errors.map((e) => e.field)).toEqual([
      "spec.gpu.count",
      "metadata.name",
      "spec.regions[1]",
      "spec.regions[2]",
      "spec.routing.treatyRef.name",
      "spec.routing.treatyRef.name",
    ]);
    expect(r.errors[4]?.message).toContain("not in tenant acme's allowedTreaties");
    expect(r.errors[5]?.message).toContain("does not offer GPU type h100");
  });

  it("passes metadata-only updates even for a suspended tenant (finalizers must come off)", () => {
    const old = makeWorkload("w", NS);
    const updated = { ...old, metadata: { ...old.metadata, finalizers: [] } };
    const r = validateGPUWorkload(
      input({ tenant: makeTenant("acme", { suspended: true }), object: updated, oldObject: old }),
    );
    expect(r.errors).toEqual([]);
  });

  it("re-checks quota but not the concurrency limit on a spec update", () => {
    const old = makeWorkload("w", NS, { count: 1 });
    const r = validateGPUWorkload(
      input({
        usage: { gpusInUse: 7, activeWorkloads: 4 },
        object: makeWorkload("w", NS, { count: 2 }),
        oldObject: old,
      }),
    );
    expect(r.errors.map((e) => e.field)).toEqual(["spec.gpu.count"]);
  });

  describe("vault-law", () => {
    const governed = (name: string): Treaty =>
      makeTreaty(name, {
        provider: "akash",
        endpoint: "https://akash.example",
        vaultLaw: { policyRef: "configmap://vaultmesh-system/law", governance: "vote #1" },
      });
    const deny = (treaty: string, ...reasons: string[]): TreatyVaultLawVerdict => ({
      treaty,
      verdict: { ok: true, reasons },
    });

    it.each<
      [
        string,
        Treaty[],
        TreatyVaultLawVerdict[],
        string | undefined,
        { errors: number; warnings: number },
      ]
    >([
      [
        "pinned treaty's law denies",
        [governed("a")],
        [deny("a", "too many GPUs")],
        "a",
        { errors: 1, warnings: 0 },
      ],
      ["pinned treaty's law allows", [governed("a")], [deny("a")], "a", { errors: 0, warnings: 0 }],
      [
        "pinned treaty's law cannot be evaluated",
        [governed("a")],
        [{ treaty: "a", verdict: { ok: false, error: "not found" } }],
        "a",
        { errors: 1, warnings: 0 },
      ],
      [
        "every candidate's law denies",
        [governed("a"), governed("b")],
        [deny("a", "x"), deny("b", "y", "z")],
        undefined,
        { errors: 3, warnings: 0 },
      ],
      [
        "one of two candidates denies",
        [governed("a"), governed("b")],
        [deny("a", "x"), deny("b")],
        undefined,
        { errors: 0, warnings: 1 },
      ],
      [
        "an ungoverned candidate remains",
        [governed("a"), makeTreaty("pool")],
        [deny("a", "x")],
        undefined,
        { errors: 0, warnings: 1 },
      ],
    ])("%s", (_name, treaties, vaultLaw, pinned, want) => {
      const r = validateGPUWorkload(
        input({ treaties, vaultLaw, object: makeWorkload("w", NS, { treatyRef: pinned }) }),
      );
      expect({ errors: r.errors.length, warnings: r.warnings.length }).toEqual(want);
      for (const e of r.errors) expect(e.message).toMatch(/vault-law of treaty/);
    });
  });

  it("warns when no treaty can serve the workload yet", () => {
    const r = validateGPUWorkload(input({ object: makeWorkload("w", NS, { gpuType: "h200" }) }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([expect.stringContaining("no treaty offers h200")]);
  });
});

describe("vaultLawCandidates", () => {
  const tenant: Tenant = makeTenant("acme", { allowedRegions: ["local", "us-west"] });
  const treaties = [
    makeTreaty("pool"),
    makeTreaty("west", {
      provider: "akash",
      regions: ["us-west"],
      pricing: [{ gpuType: "a10g", usdPerHour: 2 }],
    }),
    makeTreaty("eu", { provider: "akash", regions: ["eu-west"] }),
    makeTreaty("h100s", { pricing: [{ gpuType: "h100", usdPerHour: 2 }] }),
    makeTreaty("old", { expiryDate: "2026-01-01" }),
  ];
  it.each<[string, Parameters<typeof makeWorkload>[2], string[]]>([
    ["all that fit", {}, ["pool", "west"]],
    ["price cap", { maxPricePerHour: 1 }, ["pool"]],
    ["provider allow-list", { allowedProviders: ["akash"] }, ["west"]],
    ["workload regions", { regions: ["us-west"] }, ["west"]],
    ["pinned", { treatyRef: "eu" }, ["eu"]],
  ])("%s", (_name, opts, want) => {
    const w = makeWorkload("w", NS, opts);
    expect(
      vaultLawCandidates(w.spec, tenant, treaties, "2026-06-01").map((t) => t.metadata.name),
    ).toEqual(want);
  });
});
