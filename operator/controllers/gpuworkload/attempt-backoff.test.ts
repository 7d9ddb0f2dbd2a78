import { describe, expect, it } from "@jest/globals";
import {
  attemptExclusions,
  backoffMs,
  retryWait,
  MAX_ATTEMPTS,
  type BackoffAttempt,
  type Exclusions,
} from "./attempt-backoff.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const BACKOFF = { baseMs: 60_000, maxMs: 600_000 };
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();
const abandoned = (treaty: string, endS: number): BackoffAttempt => ({
  treaty,
  outcome: "Abandoned",
  startTime: iso(endS - 60),
  endTime: iso(endS),
});

describe("attemptExclusions", () => {
  it.each<[string, BackoffAttempt[], number, Exclusions]>([
    ["no attempts", [], 0, { excluding: [] }],
    [
      "a running or finished attempt excludes nothing",
      [
        { treaty: "a", outcome: "Running", startTime: iso(0) },
        { treaty: "b", outcome: "Failed", startTime: iso(0), endTime: iso(5) },
      ],
      10,
      { excluding: [] },
    ],
    [
      "an abandoned treaty within its back-off",
      [abandoned("a", 0)],
      30,
      { excluding: ["a"], retryAtMs: T0 + 60_000 },
    ],
    ["an abandoned treaty past its back-off", [abandoned("a", 0)], 60, { excluding: [] }],
    [
      "the back-off doubles with each attempt abandoned there",
      [abandoned("a", 0), abandoned("a", 100)],
      219,
      { excluding: ["a"], retryAtMs: T0 + 220_000 },
    ],
    [
      "every treaty tried: the earliest retry is reported",
      [abandoned("a", 0), abandoned("b", 30)],
      40,
      { excluding: ["a", "b"], retryAtMs: T0 + 60_000 },
    ],
    [
      "one treaty past its back-off, another not",
      [abandoned("a", 0), abandoned("b", 30)],
      70,
      { excluding: ["b"], retryAtMs: T0 + 90_000 },
    ],
    [
      "an attempt without times: its back-off is over",
      [{ treaty: "a", outcome: "Abandoned" }],
      10,
      { excluding: [] },
    ],
    [
      "an attempt without times still doubles the back-off of a timed one",
      [{ treaty: "a", outcome: "Abandoned" }, abandoned("a", 0)],
      119,
      { excluding: ["a"], retryAtMs: T0 + 120_000 },
    ],
    [
      "the attempt budget spent: excluded for good",
      Array.from({ length: MAX_ATTEMPTS }, (_, k) => abandoned(k % 2 ? "a" : "b", k)),
      100_000,
      { excluding: ["b", "a"] },
    ],
  ])("%s", (_what, attempts, nowS, want) => {
    expect(attemptExclusions(attempts, T0 + nowS * 1000, BACKOFF)).toEqual(want);
  });
});

describe("attemptExclusions of an attempt without times", () => {
  // Evaluated at several times, it must give the same answer: a back-off counted from now
  // would exclude the treaty (and re-arm the requeue) at every evaluation, for ever.
  it.each([0, 30, 59, 60, 86_400])("at %i s: not excluded", (nowS) => {
    const attempts: BackoffAttempt[] = [{ treaty: "a", outcome: "Abandoned" }];
    expect(attemptExclusions(attempts, T0 + nowS * 1000, BACKOFF)).toEqual({ excluding: [] });
  });
});

describe("backoffMs", () => {
  it.each([
    [1, 60_000],
    [2, 120_000],
    [4, 480_000],
    [5, 600_000],
    [30, 600_000],
  ])("after %i abandoned attempts: %i ms", (count, want) => {
    expect(backoffMs(count, BACKOFF)).toBe(want);
  });
});

describe("retryWait", () => {
  it.each<[string, Exclusions, number, { message: string; requeueAfterMs?: number }]>([
    [
      "nothing excluded: the router's message, no requeue",
      { excluding: [] },
      200,
      { message: "m" },
    ],
    [
      "an excluded treaty: when it is tried again, and a requeue then",
      { excluding: ["a"], retryAtMs: T0 + 60_000 },
      200,
      { message: `attempted treaties are tried again from ${iso(60)}; m`, requeueAfterMs: 50_000 },
    ],
    [
      "cut to the length kept",
      { excluding: ["a"], retryAtMs: T0 + 60_000 },
      20,
      { message: "attempted treaties …", requeueAfterMs: 50_000 },
    ],
  ])("%s", (_what, exclusions, maxLength, want) => {
    expect(retryWait("m", exclusions, T0 + 10_000, maxLength)).toEqual(want);
  });
});
