import { describe, expect, it } from "@jest/globals";
import { chartResolution, parseWindow, WindowError } from "./slo-window.ts";

describe("parseWindow", () => {
  it.each([
    ["72h", 259200],
    ["90m", 5400],
    ["30s", 30],
    ["7d", 604800],
    [" 2m ", 120],
  ])("reads %j as %d seconds", (text, wantSeconds) => {
    expect(parseWindow(text).seconds).toBe(wantSeconds);
  });

  it.each(["72x", "", "h", "1h30m", "-5m", "1.5h", "72 h"])(
    "refuses %j naming --window",
    (text) => {
      expect(() => parseWindow(text)).toThrow(WindowError);
      expect(() => parseWindow(text)).toThrow(/^--window: /);
    },
  );

  it.each(["10s", "29s", "16d", "1y"])("refuses %j as out of range", (text) => {
    expect(() => parseWindow(text)).toThrow(/out of range/);
  });
});

describe("chartResolution", () => {
  it.each([
    ["72h", 1080, "4320s"],
    ["2m", 5, "30s"],
    ["1h", 15, "60s"],
  ])("%s → step %d s, range %s", (text, wantStep, wantRange) => {
    expect(chartResolution(parseWindow(text))).toEqual({ stepSeconds: wantStep, range: wantRange });
  });
});
