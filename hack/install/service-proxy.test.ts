import { describe, expect, it } from "@jest/globals";
import { isLoopback, selects } from "./service-proxy.ts";

describe("isLoopback", () => {
  it.each([
    ["127.0.96.10", true],
    ["127.0.0.1", true],
    ["10.0.0.1", false],
    ["::1", false],
    [undefined, false],
    ["None", false],
  ])("%s → %s", (ip, want) => {
    expect(isLoopback(ip)).toBe(want);
  });
});

describe("selects", () => {
  const labels = {
    "app.kubernetes.io/name": "vaultmesh",
    "app.kubernetes.io/component": "webhook",
  };
  it.each([
    [{ "app.kubernetes.io/component": "webhook" }, true],
    [{ "app.kubernetes.io/component": "operator" }, false],
    [{ ...labels, extra: "x" }, false],
    [{}, false],
    [undefined, false],
  ])("%j → %s", (selector, want) => {
    expect(selects(selector, labels)).toBe(want);
  });
});
