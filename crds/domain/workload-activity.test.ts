import { describe, expect, it } from "@jest/globals";
import type { GPUWorkload } from "../index.ts";
import { gpuWorkload } from "../../test/builders/objects.ts";
import { tenantOfNamespace, tenantNamespace } from "./tenancy.ts";
import { tenantGpuUsage, workloadIsActive, workloadIsWaiting } from "./workload-activity.ts";

const NS = "tenant-acme";
const AT = "2026-01-01T00:00:00Z";

const w = (
  uid: string,
  count: number,
  done?: "Complete" | "Failed",
  deleting = false,
): GPUWorkload => {
  const o = gpuWorkload(uid, NS).uid(uid).gpu("h100", count).obj();
  if (deleting) o.metadata.deletionTimestamp = AT;
  if (done) {
    o.status = {
      conditions: [
        { type: done, status: "True", reason: "x", message: "", lastTransitionTime: AT },
      ],
    };
  }
  return o;
};

describe("tenantGpuUsage", () => {
  it.each<[string, GPUWorkload[], string | undefined, number, number]>([
    ["none", [], undefined, 0, 0],
    ["two active", [w("a", 2), w("b", 4)], undefined, 6, 2],
    [
      "finished, failed and deleting workloads hold no GPUs",
      [w("a", 2), w("b", 4, "Complete"), w("c", 1, "Failed"), w("d", 8, undefined, true)],
      undefined,
      2,
      1,
    ],
    ["the workload under review is left out", [w("a", 2), w("c", 1)], "c", 2, 1],
  ])("%s", (_what, ws, exclude, wantGpus, wantActive) => {
    expect(tenantGpuUsage(ws, exclude)).toEqual({
      gpusInUse: wantGpus,
      activeWorkloads: wantActive,
    });
  });

  it("a Complete=False condition keeps a workload active", () => {
    const o = w("a", 1);
    o.status = {
      conditions: [
        { type: "Complete", status: "False", reason: "x", message: "", lastTransitionTime: AT },
      ],
    };
    expect(workloadIsActive(o)).toBe(true);
  });
});

describe("workloadIsWaiting", () => {
  it.each<[string, "True" | "False" | undefined, boolean]>([
    ["Routed False", "False", true],
    ["Routed True", "True", false],
    ["no Routed condition", undefined, false],
  ])("%s", (_what, routed, want) => {
    const o = w("a", 1);
    if (routed) {
      o.status = {
        conditions: [
          { type: "Routed", status: routed, reason: "x", message: "", lastTransitionTime: AT },
        ],
      };
    }
    expect(workloadIsWaiting(o)).toBe(want);
  });
});

describe("tenant identity", () => {
  it.each([
    ["tenant-acme", "acme"],
    ["tenant-", undefined],
    ["default", undefined],
    [undefined, undefined],
  ])("%s → %s", (ns, want) => {
    expect(tenantOfNamespace(ns)).toBe(want);
  });

  it("round-trips a tenant name", () => {
    expect(tenantOfNamespace(tenantNamespace("acme"))).toBe("acme");
  });
});
