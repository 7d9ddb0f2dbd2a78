// Issue 2, "Done means": the five CRDs install (global setup applies them), explain and
// printer columns work, the samples apply, and the apiserver refuses invalid objects with a
// message naming the field.
import { afterAll, describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { kubectl } from "../harness/kube.ts";

const samples = join(repoRoot, "config/samples");
const receiptExample = join(repoRoot, "docs/examples/receipt-workload-completed.yaml");

function treaty(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Treaty",
    metadata: { name },
    spec: {
      provider: "akash",
      effectiveDate: "2025-11-12",
      regions: ["us-west"],
      pricing: [{ gpuType: "a10g", usdPerHour: 0.85 }],
      slo: { availability: 0.99, maxProvisionTimeSeconds: 300, maxLatencyMs: 150 },
      quotas: { maxConcurrentJobs: 10, maxGpuHoursPerMonth: 1000 },
      reputationFloor: 0.8,
      vaultLaw: { governance: "DAO vote #1" },
      ...spec,
    },
  });
}

afterAll(async () => {
  await kubectl(["delete", "-f", receiptExample, "--ignore-not-found", "--wait=false"]);
  await kubectl(["delete", "-k", samples, "--ignore-not-found", "--wait=false"]);
});

describe("the VaultMesh CRDs", () => {
  it("are all installed and Established, in the vaultmesh category", async () => {
    const r = await kubectl([
      "api-resources",
      "--api-group=vaultmesh.cloud",
      "--categories=vaultmesh",
      "-o",
      "name",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n").sort()).toEqual([
      "federationpeers.vaultmesh.cloud",
      "gpuworkloads.vaultmesh.cloud",
      "receipts.vaultmesh.cloud",
      "tenants.vaultmesh.cloud",
      "treaties.vaultmesh.cloud",
    ]);
    const shortNames = await kubectl([
      "api-resources",
      "--api-group=vaultmesh.cloud",
      "--no-headers",
    ]);
    for (const short of ["treaty", "tenant", "gpuw", "rcpt", "fedpeer"]) {
      expect(shortNames.stdout).toMatch(new RegExp(`\\b${short}\\b`));
    }
  });

  it("explain treaty.spec.pricing with field descriptions", async () => {
    const r = await kubectl(["explain", "treaty.spec.pricing"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("DESCRIPTION:");
    expect(r.stdout).toMatch(/gpuType\s+<string> -required-/);
    expect(r.stdout).toMatch(/usdPerHour\s+<number> -required-/);
    // every field listed carries a description line under it
    const fieldBlocks = r.stdout.split("FIELDS:")[1] ?? "";
    expect(fieldBlocks.match(/^\s{2}\S+\s+<[^>]+>/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(fieldBlocks).not.toMatch(/<[^>]+>(\s*-required-)?\n\s*\n/);
  });

  it("apply the samples cleanly, and `kubectl get` shows the printer columns", async () => {
    // The samples come after an install: the vault-law policy ConfigMap of the Akash sample
    // lives in the install namespace (ADR 0068), which an install creates.
    const ns = await kubectl(["create", "namespace", "vaultmesh-system"]);
    expect(ns.code === 0 || ns.stderr.includes("AlreadyExists")).toBe(true);
    const apply = await kubectl(["apply", "-k", samples]);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("treaty.vaultmesh.cloud/aurora-akash-001");
    const get = await kubectl(["get", "treaties"]);
    const header = get.stdout.split("\n")[0] ?? "";
    expect(header.split(/\s{2,}/)).toEqual(
      expect.arrayContaining(["NAME", "PROVIDER", "READY", "REPUTATION", "AGE"]),
    );
    expect(get.stdout).toMatch(/aurora-akash-001\s+akash/);
    const all = await kubectl(["get", "vaultmesh", "-A", "-o", "name"]);
    expect(all.stdout).toContain("gpuworkload.vaultmesh.cloud/train-llama-lora");
    expect(all.stdout).toContain("federationpeer.vaultmesh.cloud/");
  });

  it.each([
    [
      "a negative price",
      { pricing: [{ gpuType: "a10g", usdPerHour: -1 }] },
      /spec\.pricing\[0\]\.usdPerHour: Invalid value: -1: spec\.pricing\[0\]\.usdPerHour in body should be greater than or equal to 0/,
    ],
    [
      "reputationFloor 1.5",
      { reputationFloor: 1.5 },
      /spec\.reputationFloor: Invalid value: 1\.5: spec\.reputationFloor in body should be less than or equal to 1/,
    ],
    ["a missing provider", { provider: undefined }, /spec\.provider: Required value/],
    [
      "an unknown GPU type",
      { pricing: [{ gpuType: "gtx-9000", usdPerHour: 1 }] },
      /spec\.pricing\[0\]\.gpuType: Unsupported value: "gtx-9000": supported values: .*"a10g"/,
    ],
  ])("refuse a Treaty with %s, naming the field", async (_what, spec, wantMessage) => {
    const r = await kubectl(
      ["create", "-f", "-"],
      treaty(`invalid-${Math.random().toString(36).slice(2, 8)}`, spec),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is invalid/);
    expect(r.stderr).toMatch(wantMessage);
  });

  it("refuse an update to a Receipt's spec", async () => {
    await kubectl(["apply", "-k", samples]);
    const created = await kubectl(["apply", "-f", receiptExample]);
    expect(created.stderr).toBe("");
    const r = await kubectl([
      "patch",
      "receipt",
      "train-llama-lora-completed-1",
      "-n",
      "tenant-acme",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { digest: `sha256:${"0".repeat(64)}` } }),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /Receipt "train-llama-lora-completed-1" is invalid: spec: Invalid value: .*spec is immutable/,
    );
  });
});
