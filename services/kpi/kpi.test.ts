import { describe, expect, it } from "@jest/globals";
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import {
  attemptCountsByTreaty,
  Kpi,
  KPI_TARGETS,
  kpiQuery,
  kpiQueryBy,
  meetsTarget,
  provenanceCounts,
  provenanceCoverage,
  treatyFillRate,
} from "./index.ts";

type Outcome = "Running" | "Succeeded" | "Failed" | "Abandoned";

function workload(
  name: string,
  attempts: readonly [string, Outcome][],
  o: { finished?: "Complete" | "Failed"; receipt?: string } = {},
): Pick<GPUWorkload, "metadata" | "status"> {
  return {
    metadata: { name, namespace: "team-a" },
    status: {
      attempts: attempts.map(([treaty, outcome], i) => ({
        attempt: i + 1,
        treaty,
        provider: "in-cluster",
        outcome,
      })),
      conditions: o.finished
        ? [
            {
              type: o.finished,
              status: "True",
              reason: "Done",
              message: "",
              lastTransitionTime: "2026-01-01T00:00:00Z",
            },
          ]
        : [],
      ...(o.receipt ? { receiptRef: { name: o.receipt } } : {}),
    },
  };
}

const logged = (status: "True" | "False"): Pick<Receipt, "status"> => ({
  status: {
    conditions: [
      {
        type: "Logged",
        status,
        reason: "x",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ],
  },
});

describe("treatyFillRate", () => {
  it.each([
    { routed: 0, placed: 0, want: undefined },
    { routed: 4, placed: 4, want: 1 },
    { routed: 4, placed: 3, want: 0.75 },
    { routed: 5, placed: 0, want: 0 },
  ])("$placed of $routed → $want", ({ routed, placed, want }) => {
    expect(treatyFillRate({ routed, placed })).toBe(want);
  });

  it.each([
    { routed: -1, placed: 0, field: "routed" },
    { routed: 1.5, placed: 0, field: "routed" },
    { routed: 2, placed: 3, field: "placed" },
    { routed: 2, placed: -1, field: "placed" },
  ])("refuses $routed/$placed naming $field", ({ routed, placed, field }) => {
    expect(() => treatyFillRate({ routed, placed })).toThrow(new RegExp(`^${field}:`));
  });
});

describe("attemptCountsByTreaty", () => {
  it("counts every attempt as routed and the ones not abandoned as placed, per treaty", () => {
    const counts = attemptCountsByTreaty([
      workload("a", [
        ["aws", "Abandoned"],
        ["gcp", "Succeeded"],
      ]),
      workload("b", [["aws", "Running"]]),
      workload("c", [
        ["aws", "Abandoned"],
        ["aws", "Failed"],
      ]),
      workload("d", []),
    ]);
    expect(Object.fromEntries(counts)).toEqual({
      aws: { routed: 4, placed: 2 },
      gcp: { routed: 1, placed: 1 },
    });
    expect(treatyFillRate(counts.get("aws")!)).toBe(0.5);
  });
});

describe("provenanceCoverage", () => {
  it.each([
    { completed: 0, covered: 0, want: 1 },
    { completed: 20, covered: 19, want: 0.95 },
    { completed: 3, covered: 0, want: 0 },
  ])("$covered of $completed → $want", ({ completed, covered, want }) => {
    expect(provenanceCoverage({ completed, covered })).toBe(want);
  });

  it("refuses more covered than completed, naming the field", () => {
    expect(() => provenanceCoverage({ completed: 1, covered: 2 })).toThrow(/^covered:/);
    expect(() => provenanceCoverage({ completed: -1, covered: 0 })).toThrow(/^completed:/);
  });

  it("counts finished workloads, covered when their receipt is Logged", () => {
    const receipts = new Map([
      ["r-ok", logged("True")],
      ["r-pending", logged("False")],
    ]);
    const counts = provenanceCounts(
      [
        workload("done-logged", [], { finished: "Complete", receipt: "r-ok" }),
        workload("failed-logged", [], { finished: "Failed", receipt: "r-ok" }),
        workload("done-pending", [], { finished: "Complete", receipt: "r-pending" }),
        workload("done-no-receipt", [], { finished: "Complete" }),
        workload("done-missing", [], { finished: "Complete", receipt: "gone" }),
        workload("running", [["aws", "Running"]], { receipt: "r-ok" }),
      ],
      (ns, name) => (ns === "team-a" ? receipts.get(name) : undefined),
    );
    expect(counts).toEqual({ completed: 5, covered: 2 });
    expect(provenanceCoverage(counts)).toBe(0.4);
  });
});

describe("KPI targets and queries", () => {
  it("hold the seed's targets", () => {
    expect(KPI_TARGETS.treatyFillRate.target).toBe(0.8);
    expect(KPI_TARGETS.treatyRtt.target).toBe(0.35);
    expect(KPI_TARGETS.provenanceCoverage.target).toBe(0.95);
    expect(KPI_TARGETS.policyDecisionTime.target).toBe(0.025);
    expect(KPI_TARGETS.policyDecisionTime.percentile).toEqual({ q: 0.99, value: 0.018 });
  });

  it.each([
    { kpi: Kpi.TreatyFillRate, value: 0.8, ok: true },
    { kpi: Kpi.TreatyFillRate, value: 0.79, ok: false },
    { kpi: Kpi.TreatyRtt, value: 0.35, ok: true },
    { kpi: Kpi.TreatyRtt, value: 0.351, ok: false },
    { kpi: Kpi.ProvenanceCoverage, value: 0.94, ok: false },
    { kpi: Kpi.PolicyDecisionTime, value: 0.018, ok: true },
  ])("$kpi at $value meets the target: $ok", ({ kpi, value, ok }) => {
    expect(meetsTarget(kpi, value)).toBe(ok);
  });

  it("reads each KPI from its metric over the window", () => {
    for (const kpi of Object.values(Kpi)) {
      expect(kpiQuery(kpi, "72h")).toContain(KPI_TARGETS[kpi].metric);
      expect(kpiQuery(kpi, "72h")).toContain("[72h]");
      expect(kpiQueryBy(kpi, "5m")).toContain("[5m]");
    }
    expect(kpiQuery(Kpi.PolicyDecisionTime, "1h")).toBe(
      "histogram_quantile(0.99, sum by (le) (increase(vaultmesh_webhook_decision_duration_seconds_bucket[1h])))",
    );
    expect(kpiQueryBy(Kpi.TreatyRtt, "1h", 0.5)).toContain("sum by (treaty, le)");
  });

  it.each(["", "72", "3 days", "1h30m", "0h", "5m]"])("refuses the window %j", (w) => {
    expect(() => kpiQuery(Kpi.TreatyRtt, w)).toThrow(/^window: expected a duration/);
  });
});
