import { describe, expect, it } from "@jest/globals";
import {
  clip,
  fixed2,
  fixedPair,
  MAX_REASON_LENGTH,
  quantity,
  usdPerHour,
} from "./reason-format.ts";

describe("reason formatting", () => {
  it.each<[number, string]>([
    [0, "0.00"],
    [0.9, "0.90"],
    [0.905, "0.91"],
    [1.2, "1.20"],
    [12, "12.00"],
    [0.999, "1.00"],
    [1234.5678, "1234.57"],
  ])("fixed2(%p) is %p", (x, want) => {
    expect(fixed2(x)).toBe(want);
    expect(fixed2(x)).toBe((Math.round(x * 100) / 100).toFixed(2));
  });

  it.each<[number, number, readonly [string, string]]>([
    [0.82, 0.9, ["0.82", "0.90"]],
    [0.8951, 0.9, ["0.8951", "0.9000"]],
    [0.9, 0.9, ["0.90", "0.90"]],
  ])("fixedPair(%p, %p)", (a, b, want) => {
    expect(fixedPair(a, b)).toEqual(want);
  });

  it.each<[number, string]>([
    [500, "500"],
    [500.25, "500.25"],
  ])("quantity(%p) is %p", (x, want) => {
    expect(quantity(x)).toBe(want);
  });

  it("formats a price per GPU-hour and clips long reasons", () => {
    expect(usdPerHour(1.2)).toBe("$1.20/h");
    expect(clip("x".repeat(300))).toHaveLength(MAX_REASON_LENGTH);
    expect(clip("short")).toBe("short");
  });
});
