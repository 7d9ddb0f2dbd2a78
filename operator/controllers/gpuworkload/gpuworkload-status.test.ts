import { describe, expect, it } from "@jest/globals";
import { RECEIPT_PENDING, stateConditions, waitingReason } from "./gpuworkload-status.ts";

describe("waitingReason", () => {
  it.each([
    { name: "no treaties", cands: [], want: "NoTreaty" },
    {
      name: "no treaty prices the GPU type",
      cands: [
        { eligible: false, reasons: ["gpu type h100 not priced by this treaty"] },
        {
          eligible: false,
          reasons: ["treaty suspended", "gpu type h100 not priced by this treaty"],
        },
      ],
      want: "GpuTypeNotOffered",
    },
    {
      name: "a treaty that fits but for its quota",
      cands: [
        { eligible: false, reasons: ["treaty at maxConcurrentJobs 4/4"] },
        { eligible: false, reasons: ["treaty suspended"] },
      ],
      want: "QuotaExhausted",
    },
    {
      name: "anything else",
      cands: [{ eligible: false, reasons: ["price $2.00/h exceeds maxPricePerHour $1.00/h"] }],
      want: "NoEligibleTreaty",
    },
  ])("$name → $want", ({ cands, want }) => {
    expect(waitingReason(cands)).toBe(want);
  });
});

describe("stateConditions", () => {
  it.each([
    { kind: "waiting" as const, wantReady: "False" },
    { kind: "placed" as const, wantReady: "False" },
    { kind: "running" as const, wantReady: "True" },
  ])("$kind → Ready $wantReady", ({ kind, wantReady }) => {
    const cs = stateConditions({ kind, reason: "R", message: "m" });
    expect(cs.find((c) => c.type === "Ready")?.status).toBe(wantReady);
    expect(cs.find((c) => c.type === "Admitted")?.status).toBe("True");
  });

  it("marks a failed outcome Failed and not Complete", () => {
    const cs = stateConditions({ kind: "finished", outcome: "Failed", message: "boom" });
    expect(cs.find((c) => c.type === "Failed")?.status).toBe("True");
    expect(cs.find((c) => c.type === "Complete")?.status).toBe("False");
  });

  it.each([{ outcome: "Succeeded" as const }, { outcome: "Failed" as const }])(
    "a $outcome attempt waiting for its receipt is neither Complete nor Failed yet",
    ({ outcome }) => {
      const cs = stateConditions({ kind: "recording", outcome, message: "ledger down" });
      for (const type of ["Complete", "Failed", "Ready"]) {
        const c = cs.find((x) => x.type === type);
        expect(c).toMatchObject({
          status: "False",
          reason: RECEIPT_PENDING,
          message: "ledger down",
        });
      }
      expect(cs.find((c) => c.type === "Running")).toMatchObject({
        status: "False",
        reason: outcome,
      });
    },
  );
});
