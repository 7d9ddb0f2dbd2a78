import { describe, expect, it } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import type { z } from "zod";
import {
  ALL_CRDS,
  API_VERSION,
  FederationPeerSchema,
  GPUWorkloadSchema,
  ReceiptSchema,
  TenantSchema,
  TreatySchema,
} from "./index.ts";
import { RECEIPT_EXAMPLE, SAMPLES_DIR, issues, loadSamples, sample } from "./test-helpers.ts";

const schemaOfKind: Record<string, z.ZodType> = {
  Treaty: TreatySchema,
  Tenant: TenantSchema,
  GPUWorkload: GPUWorkloadSchema,
  Receipt: ReceiptSchema,
  FederationPeer: FederationPeerSchema,
};

describe("config/samples", () => {
  it.each(loadSamples().map((s) => [s.file, s.object] as const))(
    "%s parses with the schema of its kind",
    (_file, object) => {
      expect(object.apiVersion).toBe(API_VERSION);
      const schema = schemaOfKind[object.kind];
      expect(schema).toBeDefined();
      expect(issues(schema!, object)).toEqual([]);
    },
  );

  it("has a sample for every kind a user applies (Receipts are written by the operator)", () => {
    const wantKinds = ALL_CRDS.map((c) => c.kind)
      .filter((k) => k !== "Receipt")
      .sort();
    const kinds = new Set(loadSamples().map((s) => s.object.kind));
    expect([...kinds].sort()).toEqual(wantKinds);
  });

  it("documents the shape of a completion Receipt with a valid example", () => {
    const example = YAML.parse(readFileSync(RECEIPT_EXAMPLE, "utf8")) as unknown;
    expect(issues(ReceiptSchema, example)).toEqual([]);
  });

  it("lists every sample file in its kustomization", () => {
    const kustomization = YAML.parse(readFileSync(`${SAMPLES_DIR}kustomization.yaml`, "utf8")) as {
      resources: string[];
    };
    const files = readdirSync(SAMPLES_DIR).filter(
      (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it("carries the seed's AURORA-AKASH-001 terms", () => {
    const treaty = TreatySchema.parse(sample("aurora-akash-001"));
    expect(treaty.spec).toMatchObject({
      provider: "akash",
      treatyId: "AURORA-AKASH-001",
      effectiveDate: "2025-11-12",
      regions: ["us-west", "us-east", "eu-west"],
      pricing: [
        { gpuType: "h100", usdPerHour: 2.5 },
        { gpuType: "a100-80gb", usdPerHour: 1.8 },
        { gpuType: "a10g", usdPerHour: 0.85 },
      ],
      slo: { availability: 0.99, maxProvisionTimeSeconds: 300, maxLatencyMs: 150 },
      quotas: { maxConcurrentJobs: 100, maxGpuHoursPerMonth: 10000 },
      reputationFloor: 0.8,
      vaultLaw: {
        policyRef: "policy/wasm/akash-quota-policy.wasm",
        governance: "DAO vote #AKASH-001",
      },
    });
  });

  it("places the in-cluster treaty on the tainted GPU pool", () => {
    const treaty = TreatySchema.parse(sample("in-cluster-a10g"));
    expect(treaty.spec.inCluster).toEqual({
      nodeSelector: { role: "gpu" },
      gpuTypeLabel: "gpu-type",
      taint: { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" },
      gpuResourceName: "nvidia.com/gpu",
    });
  });
});

describe("crds/ imports", () => {
  const dir = fileURLToPath(new URL("./", import.meta.url));
  const apiFiles = readdirSync(dir).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "test-helpers.ts",
  );

  it.each(apiFiles)("%s imports nothing but zod and its siblings", (file) => {
    const source = readFileSync(dir + file, "utf8");
    const specifiers = [...source.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
    const foreign = specifiers.filter((s) => s !== "zod" && !/^\.\/[a-z-]+\.ts$/.test(s!));
    expect(foreign).toEqual([]);
  });
});
