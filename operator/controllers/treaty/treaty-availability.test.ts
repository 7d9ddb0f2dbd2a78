import { describe, expect, it } from "@jest/globals";
import {
  AVAILABILITY_WINDOW_MS,
  availabilityVerdict,
  PROBE_AFTER_MS,
  type TreatyCompletion,
} from "./treaty-availability.ts";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MIN = 60_000;

/** A completion `endMinAgo` minutes before NOW that started `ranMin` minutes before its end. */
const done = (
  outcome: "Succeeded" | "Failed",
  endMinAgo: number,
  ranMin = 1,
): TreatyCompletion => ({
  outcome,
  provisionSeconds: 10,
  startedAtMs: NOW - (endMinAgo + ranMin) * MIN,
  completedAtMs: NOW - endMinAgo * MIN,
});
const many = (n: number, outcome: "Succeeded" | "Failed", endMinAgo: number): TreatyCompletion[] =>
  Array.from({ length: n }, () => done(outcome, endMinAgo));

describe("availabilityVerdict", () => {
  it.each([
    {
      name: "no SLO: closed whatever happened",
      completions: many(10, "Failed", 1),
      slo: undefined,
      wantState: "closed",
      wantBreach: false,
      wantAvailability: 0,
      wantNextMin: undefined,
    },
    {
      name: "no completions in the window: closed, nothing measured",
      completions: many(10, "Failed", 61),
      slo: 0.95,
      wantState: "closed",
      wantBreach: false,
      wantAvailability: undefined,
      wantNextMin: undefined,
    },
    {
      name: "fewer than 5 completions cannot eject",
      completions: many(4, "Failed", 1),
      slo: 0.95,
      wantState: "closed",
      wantBreach: false,
      wantAvailability: 0,
      wantNextMin: undefined,
    },
    {
      name: "within the SLO: closed",
      completions: [...many(19, "Succeeded", 10), done("Failed", 2)],
      slo: 0.95,
      wantState: "closed",
      wantBreach: false,
      wantAvailability: 0.95,
      wantNextMin: undefined,
    },
    {
      name: "breach, newest failure 2 min ago: open until 5 min after it",
      completions: [...many(8, "Succeeded", 30), ...many(2, "Failed", 2)],
      slo: 0.95,
      wantState: "open",
      wantBreach: true,
      wantAvailability: 0.8,
      wantNextMin: 3,
    },
    {
      name: "breach, cool-down over, no probe yet: probing until the failures age out",
      completions: [...many(8, "Succeeded", 30), ...many(2, "Failed", 20)],
      slo: 0.95,
      wantState: "probing",
      wantBreach: true,
      wantAvailability: 0.8,
      wantNextMin: 40,
    },
    {
      name: "two probes succeeded: still probing",
      completions: [
        ...many(2, "Failed", 20),
        ...many(6, "Succeeded", 30),
        ...many(2, "Succeeded", 1),
      ],
      slo: 0.95,
      wantState: "probing",
      wantBreach: true,
      wantAvailability: 0.8,
      wantNextMin: 40,
    },
    {
      name: "three probes succeeded: closed (Recovered) while the window is still low",
      completions: [
        ...many(2, "Failed", 20),
        ...many(5, "Succeeded", 30),
        ...many(3, "Succeeded", 1),
      ],
      slo: 0.95,
      wantState: "closed",
      wantBreach: true,
      wantAvailability: 0.8,
      wantNextMin: 40,
    },
    {
      name: "successes of jobs started before the cool-down ended are no probes",
      completions: [
        ...many(2, "Failed", 20),
        ...many(5, "Succeeded", 30),
        ...Array.from({ length: 3 }, () => done("Succeeded", 1, 30)),
      ],
      slo: 0.95,
      wantState: "probing",
      wantBreach: true,
      wantAvailability: 0.8,
      wantNextMin: 40,
    },
    {
      name: "a failed probe opens it again for the cool-down",
      completions: [...many(2, "Failed", 20), ...many(6, "Succeeded", 30), done("Failed", 1)],
      slo: 0.95,
      wantState: "open",
      wantBreach: true,
      wantAvailability: 0.6667,
      wantNextMin: 4,
    },
    {
      name: "the failures left the window: closed, measured over what remains",
      completions: [...many(10, "Failed", 61), ...many(5, "Succeeded", 1)],
      slo: 0.95,
      wantState: "closed",
      wantBreach: false,
      wantAvailability: 1,
      wantNextMin: undefined,
    },
  ])("$name", ({ completions, slo, wantState, wantBreach, wantAvailability, wantNextMin }) => {
    const v = availabilityVerdict(completions, slo, NOW);
    expect(v.state).toBe(wantState);
    expect(v.breach).toBe(wantBreach);
    expect(v.availability).toBe(wantAvailability);
    const next = v.nextChangeAtMs === undefined ? undefined : (v.nextChangeAtMs - NOW) / MIN;
    expect(next === undefined ? undefined : Math.round(next)).toBe(wantNextMin);
  });

  it("says why it is open, and until when", () => {
    const v = availabilityVerdict(many(5, "Failed", 1), 0.95, NOW);
    expect(v.message).toBe(
      "measured availability 0 below SLO 0.95 over 5 completions in the last 60 min; no new work until 2026-03-10T12:04:00.000Z (5 min after the last failure)",
    );
  });

  it("recovers a treaty ejected by a burst of failures when its probes succeed", () => {
    // Walk the clock as the Treaty controller would, a probe job starting whenever the
    // breaker lets one through and succeeding after 2 minutes.
    const evidence: TreatyCompletion[] = [...many(10, "Succeeded", 40), ...many(5, "Failed", 0)];
    const states: string[] = [];
    for (let t = NOW; t <= NOW + AVAILABILITY_WINDOW_MS; t += MIN) {
      const v = availabilityVerdict(evidence, 0.95, t);
      if (states.at(-1) !== v.state) states.push(v.state);
      if (v.state === "probing") {
        evidence.push({
          outcome: "Succeeded",
          provisionSeconds: 5,
          startedAtMs: t,
          completedAtMs: t + 2 * MIN,
        });
      }
    }
    expect(states).toEqual(["open", "probing", "closed"]);
    expect(availabilityVerdict(evidence, 0.95, NOW + PROBE_AFTER_MS - 1).state).toBe("open");
  });
});
