import { describe, expect, it } from "@jest/globals";
import type { DependencyStatus } from "../services/dependency-health/index.ts";
import { readyzReply } from "./http.ts";

const ledger = (state: DependencyStatus["state"], required = false): DependencyStatus => ({
  name: "ledger-postgres",
  state,
  reason: state === "Up" ? "Connected" : "ConnectionLost",
  message: state === "Up" ? "" : "Connection terminated unexpectedly",
  since: "2026-01-01T00:00:00.000Z",
  required,
  whileDown: "completions wait for their receipt",
});

describe("readyzReply", () => {
  it.each([
    { name: "synced, ledger up", synced: true, deps: [ledger("Up")], wantCode: 200 },
    // The operator rides a ledger outage out: still ready, and the body says it is degraded.
    { name: "synced, ledger down", synced: true, deps: [ledger("Down")], wantCode: 200 },
    { name: "caches not synced", synced: false, deps: [ledger("Up")], wantCode: 503 },
    {
      name: "a required dependency down",
      synced: true,
      deps: [ledger("Down", true)],
      wantCode: 503,
    },
  ])("$name → $wantCode", ({ synced, deps, wantCode }) => {
    const r = readyzReply(synced, deps);
    expect(r.code).toBe(wantCode);
    const down = deps.some((d) => d.state === "Down");
    expect(r.body.includes("ledger-postgres down: ConnectionLost")).toBe(down);
  });
});
