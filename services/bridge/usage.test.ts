import { describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { usageOf } from "./usage.ts";

const receipt = (digest: string, type: string, payload: Record<string, unknown>): Receipt =>
  ({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Receipt",
    metadata: { name: digest.slice(7, 19), namespace: "tenant-acme" },
    spec: {
      type,
      subject: { apiVersion: "vaultmesh.cloud/v1alpha1", kind: "GPUWorkload", name: "w" },
      payload,
      digest,
      signatures: [{ keyId: "k", algorithm: "Ed25519", value: "s" }],
      issuedAt: "2026-12-01T00:00:00Z",
    },
  }) as Receipt;

const d = (n: number): string => `sha256:${String(n).padStart(64, "0")}`;
const done = (completionTime: string, gpuSeconds: number, cost: Record<string, number>) => ({
  workloadUid: "u",
  name: "w",
  outcome: "Succeeded",
  completionTime,
  gpuSeconds,
  ...cost,
});

describe("usageOf", () => {
  const now = new Date("2026-12-15T10:00:00Z");
  it.each([
    ["no receipts", [], { gpuSeconds: 0, costMicroUsd: 0, completed: 0 }, []],
    [
      "one in the period, one the month before, one not a completion",
      [
        receipt(
          d(1),
          "WorkloadCompleted",
          done("2026-12-02T00:00:00Z", 60, { costMicroUsd: 10_000 }),
        ),
        receipt(d(2), "WorkloadCompleted", done("2026-11-30T23:59:59Z", 600, { costMicroUsd: 1 })),
        receipt(d(3), "PolicyDenied", { reason: "x" }),
      ],
      { gpuSeconds: 60, costMicroUsd: 10_000, completed: 1 },
      [d(1)],
    ],
    [
      "a failure counts, an old receipt's cents read as micro-dollars, sorted by completion",
      [
        receipt(d(4), "WorkloadFailed", done("2026-12-09T00:00:00Z", 30, { costMicroUsd: 5 })),
        receipt(d(5), "WorkloadCompleted", done("2026-12-03T00:00:00Z", 90, { cost: 0.02 })),
      ],
      { gpuSeconds: 120, costMicroUsd: 20_005, completed: 2 },
      [d(5), d(4)],
    ],
  ])("%s", (_n, receipts, want, wantDigests) => {
    const u = usageOf(receipts, now);
    expect(u).toMatchObject({
      ...want,
      periodStart: "2026-12-01T00:00:00.000Z",
      periodEnd: "2027-01-01T00:00:00.000Z",
    });
    expect(u.receipts.map((r) => r.digest)).toEqual(wantDigests);
  });
});
