import { describe, expect, it } from "@jest/globals";
import { TreatySchema } from "./index.ts";
import {
  REMOVE,
  issues,
  pathsOfBadField,
  sample,
  withField,
  type BadField,
} from "./test-helpers.ts";

const akash = sample("aurora-akash-001");
const inCluster = sample("in-cluster-a10g");

describe("TreatySchema", () => {
  it.each<BadField>([
    ["a negative price", "spec.pricing[0].usdPerHour", -1],
    ["reputationFloor 1.5", "spec.reputationFloor", 1.5],
    ["a missing provider", "spec.provider", REMOVE],
    ["an unknown GPU type", "spec.pricing[1].gpuType", "h800"],
    ["a GPU type priced twice", "spec.pricing[1].gpuType", "h100", "spec.pricing[1]"],
    ["no pricing", "spec.pricing", []],
    ["an availability above 1", "spec.slo.availability", 1.01],
    ["a duplicate region", "spec.regions[3]", "us-west"],
    ["an upper-case region", "spec.regions[0]", "US-West"],
    ["expiryDate before effectiveDate", "spec.expiryDate", "2025-01-01"],
    ["an invalid date", "spec.effectiveDate", "2025-02-30"],
    [
      "inCluster on an external provider",
      "spec.inCluster",
      { nodeSelector: { role: "gpu" }, gpuTypeLabel: "gpu-type" },
    ],
    ["a non-URL endpoint", "spec.endpoint", "akash api"],
    ["a fractional job quota", "spec.quotas.maxConcurrentJobs", 2.5],
  ])("refuses %s on an external treaty", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(TreatySchema, akash, path, value)).toContain(wantPath);
  });

  it.each<BadField>([
    ["provider in-cluster without inCluster", "spec.inCluster", REMOVE],
    ["an endpoint", "spec.endpoint", "https://example.com"],
    ["credentials", "spec.credentialsSecretRef", { name: "akash" }, "spec.endpoint"],
    ["an unknown taint effect", "spec.inCluster.taint.effect", "NoRun"],
    ["a node label value too long", "spec.inCluster.nodeSelector.role", "x".repeat(64)],
  ])("refuses %s on an in-cluster treaty", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(TreatySchema, inCluster, path, value)).toContain(wantPath);
  });

  it.each<BadField>([
    ["an expiryDate after effectiveDate", "spec.expiryDate", "2026-11-12"],
    ["a price of 0", "spec.pricing[0].usdPerHour", 0],
    ["reputationFloor 1", "spec.reputationFloor", 1],
    ["an https endpoint", "spec.endpoint", "https://api.akash.example/v1"],
    ["a loopback http endpoint", "spec.endpoint", "http://127.0.0.1:8080"],
    ["a governance-only vault-law", "spec.vaultLaw.policyRef", REMOVE],
  ])("accepts %s", (_what, path, value) => {
    expect(issues(TreatySchema, withField(akash, path, value))).toEqual([]);
  });

  it("names the rule broken by an expiry on the start day", () => {
    const treaty = withField(akash, "spec.expiryDate", "2025-11-12");
    const want = [{ path: "spec.expiryDate", message: "expiryDate must be after effectiveDate" }];
    expect(issues(TreatySchema, treaty)).toEqual(want);
  });

  it("refuses a policy digest without a policy", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const withDigest = withField(akash, "spec.vaultLaw.policyDigest", digest);
    expect(issues(TreatySchema, withDigest)).toEqual([]);
    const treaty = withField(withDigest, "spec.vaultLaw.policyRef", REMOVE);
    const want = [
      { path: "spec.vaultLaw.policyDigest", message: "policyDigest needs a policyRef" },
    ];
    expect(issues(TreatySchema, treaty)).toEqual(want);
  });

  it("fills the defaults the CRD declares", () => {
    const parsed = TreatySchema.parse(withField(akash, "spec.reputationFloor", REMOVE));
    expect(parsed.spec.reputationFloor).toBe(0);
    expect(parsed.spec.suspended).toBe(false);
  });
});
