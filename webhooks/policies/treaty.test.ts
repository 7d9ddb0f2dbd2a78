import { describe, expect, it } from "@jest/globals";
import { makeTreaty } from "../../test/builders/webhook-objects.ts";
import { validateTreaty, type TreatyPolicyInput } from "./treaty.ts";

const today = "2026-06-01";
const run = (
  over: Partial<TreatyPolicyInput> & { object: unknown },
): ReturnType<typeof validateTreaty> => validateTreaty({ today, ...over });

const external = (o: Parameters<typeof makeTreaty>[1] = {}): ReturnType<typeof makeTreaty> =>
  makeTreaty("akash", {
    provider: "akash",
    endpoint: "https://akash.example",
    vaultLaw: {
      policyRef: "configmap://vaultmesh-system/akash-law",
      governance: "DAO vote #AKASH-001",
    },
    ...o,
  });

describe("validateTreaty", () => {
  it.each<[string, unknown, string[]]>([
    ["a valid in-cluster treaty", makeTreaty("pool"), []],
    ["a valid external treaty", external(), []],
    [
      "expiry before effective date (cross-field rule from the CRD)",
      makeTreaty("pool", { effectiveDate: "2026-05-01", expiryDate: "2026-04-01" }),
      ["spec.expiryDate"],
    ],
    [
      "external without governance",
      makeTreaty("x", { provider: "akash", endpoint: "https://a.example" }),
      ["spec.vaultLaw.governance"],
    ],
    [
      "malformed configmap reference",
      external({ vaultLaw: { policyRef: "configmap://Bad_NS/x", governance: "g" } }),
      ["spec.vaultLaw.policyRef"],
    ],
    [
      "negative price (schema)",
      makeTreaty("pool", { pricing: [{ gpuType: "a10g", usdPerHour: -1 }] }),
      ["spec.pricing[0].usdPerHour"],
    ],
  ])("%s", (_name, object, wantFields) => {
    expect(run({ object }).errors.map((e) => e.field)).toEqual(wantFields);
  });

  it.each<[string, TreatyPolicyInput["usage"], number]>([
    ["below running jobs", { activeJobs: 5 }, 1],
    ["below GPU-hours used", { gpuHoursThisPeriod: 250.456 }, 1],
    ["both", { activeJobs: 5, gpuHoursThisPeriod: 250 }, 2],
    ["at usage", { activeJobs: 2, gpuHoursThisPeriod: 200 }, 0],
  ])("warns when quotas drop %s", (_name, usage, want) => {
    const object = makeTreaty("pool", {
      quotas: { maxConcurrentJobs: 2, maxGpuHoursPerMonth: 200 },
    });
    const r = run({ object, oldObject: makeTreaty("pool"), usage });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toHaveLength(want);
  });

  it("warns about an unloadable policy reference and a missing endpoint, without denying", () => {
    const r = run({
      object: makeTreaty("x", {
        provider: "akash",
        vaultLaw: { policyRef: "oci://ghcr.io/akash/quota-policy:1", governance: "vote" },
      }),
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      expect.stringContaining("spec.endpoint is not set"),
      expect.stringContaining("not a configmap:// reference"),
    ]);
  });

  it("loads the seed's path form (a ConfigMap in the VaultMesh namespace) without a warning", () => {
    const r = run({
      object: makeTreaty("x", {
        provider: "akash",
        endpoint: "https://api.akash.example",
        vaultLaw: { policyRef: "policy/wasm/akash-quota-policy.wasm", governance: "vote" },
      }),
    });
    expect(r).toMatchObject({ errors: [], warnings: [] });
  });

  it("warns when a new treaty is already expired, not on later updates", () => {
    const object = makeTreaty("pool", { expiryDate: "2026-06-01" });
    expect(run({ object }).warnings).toEqual([expect.stringContaining("already expired")]);
    expect(run({ object, oldObject: object }).warnings).toEqual([]);
  });

  it.each<[string, Map<string, string[]>, ("a10g" | "h100")[], string[]]>([
    ["a pool whose types are all priced", new Map([["a10g", ["gpu-1"]]]), ["a10g"], []],
    [
      "an unpriced type in the pool, a priced type nowhere",
      new Map([
        ["l4", ["gpu-1", "gpu-2", "gpu-3", "gpu-4"]],
        ["a10g", ["gpu-5"]],
      ]),
      ["a10g", "h100"],
      [
        "spec.pricing has no price for l4, which nodes gpu-1, gpu-2, gpu-3, … of the pool offer: no workload runs on them",
        "spec.pricing[1]: no node of the pool offers h100 (label gpu-type)",
      ],
    ],
    [
      "an empty pool",
      new Map(),
      ["a10g"],
      ["spec.inCluster.nodeSelector matches no node with a GPU type label: the pool is empty"],
    ],
  ])("warns about pricing against the pool: %s", (_name, pool, types, wantWarnings) => {
    const pricing = types.map((gpuType) => ({ gpuType, usdPerHour: 1 }));
    const r = run({ object: makeTreaty("pool", { pricing }), poolGpuTypes: pool });
    expect(r).toEqual({ errors: [], warnings: wantWarnings });
  });
});
