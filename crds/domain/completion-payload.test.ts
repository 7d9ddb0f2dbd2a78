import { describe, expect, it } from "@jest/globals";
import type { Receipt } from "../index.ts";
import {
  completionPayloadOf,
  completionsSince,
  periodStart,
  sumUsage,
} from "./completion-payload.ts";
import { costMicros } from "./money.ts";

const base = {
  workloadUid: "u-1",
  namespace: "tenant-acme",
  name: "train",
  attempt: 1,
  outcome: "Succeeded",
  treaty: "pool",
  provider: "in-cluster",
  region: "local",
  gpuType: "a10g",
  gpuCount: 1,
  pricePerHour: 0.6,
  jobName: "train-a1",
  startTime: "2026-03-01T12:00:00Z",
  completionTime: "2026-03-01T12:00:02Z",
  provisionSeconds: 1,
  gpuSeconds: 2,
};

const receipt = (
  payload: Record<string, unknown>,
  type: Receipt["spec"]["type"] = "WorkloadCompleted",
): Receipt => ({
  apiVersion: "vaultmesh.cloud/v1alpha1",
  kind: "Receipt",
  metadata: { name: "r", namespace: "tenant-acme" },
  spec: {
    type,
    subject: { apiVersion: "vaultmesh.cloud/v1alpha1", kind: "GPUWorkload", name: "train" },
    payload,
    digest: `sha256:${"0".repeat(64)}`,
    signatures: [{ keyId: "k", algorithm: "Ed25519", value: "AA==" }],
    issuedAt: "2026-03-01T12:00:03Z",
  },
});

describe("completionPayloadOf", () => {
  it.each<[string, Record<string, unknown>, Receipt["spec"]["type"], number | undefined]>([
    ["a receipt in micro-dollars", { ...base, costMicroUsd: 333 }, "WorkloadCompleted", 333],
    ["a failed attempt", { ...base, costMicroUsd: 0 }, "WorkloadFailed", 0],
    // Logged before micro-dollars: USD in whole cents, read as the same amount.
    ["a receipt in cents", { ...base, cost: 0.83 }, "WorkloadCompleted", 830_000],
    ["a receipt in cents that rounded to 0", { ...base, cost: 0 }, "WorkloadCompleted", 0],
    [
      "a fractional micro-dollar amount",
      { ...base, costMicroUsd: 0.5 },
      "WorkloadCompleted",
      undefined,
    ],
    ["no cost at all", { ...base }, "WorkloadCompleted", undefined],
    ["a negative cost", { ...base, cost: -1 }, "WorkloadCompleted", undefined],
    ["another receipt type", { ...base, costMicroUsd: 1 }, "TenantDeleted", undefined],
  ])("%s", (_what, payload, type, wantMicros) => {
    expect(completionPayloadOf(receipt(payload, type))?.costMicroUsd).toBe(wantMicros);
  });

  it("leaves the signed payload as it is", () => {
    const r = receipt({ ...base, cost: 0.83 });
    completionPayloadOf(r);
    expect(r.spec.payload).not.toHaveProperty("costMicroUsd");
  });
});

describe("sumUsage", () => {
  it("sums many sub-cent jobs to their true total", () => {
    // 3 600 two-second jobs at $0.60/h: 7 200 GPU-seconds = 2 GPU-hours = $1.20 exactly. Each is
    // 333 µ$ (⅓ µ$ rounded away per attempt, ADR 0096); rounded to cents each would record 0.
    const each = costMicros(2, 0.6);
    const payloads = Array.from({ length: 3_600 }, (_, i) =>
      completionPayloadOf(receipt({ ...base, workloadUid: `u-${i}`, costMicroUsd: each })),
    ).filter((p) => p !== undefined);
    const got = sumUsage(payloads);
    expect(got).toEqual({ gpuSeconds: 7_200, costMicroUsd: 3_600 * 333, completed: 3_600 });
    expect(Math.abs(got.costMicroUsd - costMicros(7_200, 0.6))).toBeLessThanOrEqual(3_600 / 2);
  });

  it("sums receipts in cents and in micro-dollars together, exactly", () => {
    const ps = [
      receipt({ ...base, cost: 0.1 }),
      receipt({ ...base, cost: 0.2 }),
      receipt({ ...base, costMicroUsd: 333 }),
    ].map(completionPayloadOf);
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in micro-dollars it is 300 000.
    expect(sumUsage(ps.filter((p) => p !== undefined)).costMicroUsd).toBe(300_333);
  });
});

describe("completionsSince", () => {
  it("keeps the completions in the period", () => {
    const old = receipt({ ...base, completionTime: "2026-02-28T23:59:59Z", costMicroUsd: 1 });
    const now = receipt({ ...base, costMicroUsd: 2 });
    const since = periodStart(new Date("2026-03-15T00:00:00Z"));
    expect(since.toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(completionsSince([old, now], since).map((p) => p.costMicroUsd)).toEqual([2]);
    expect(completionsSince([old, now]).map((p) => p.costMicroUsd)).toEqual([1, 2]);
  });
});
