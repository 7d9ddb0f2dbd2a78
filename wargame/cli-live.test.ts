import { describe, expect, it } from "@jest/globals";
import { mkdtemp, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { EXIT, main, parseCompression } from "./cli.ts";
import { liveSummaryLine } from "./cli-live.ts";

const run = async (args: string[]): Promise<{ code: number; out: string }> => {
  const lines: string[] = [];
  const code = await main(args, (s) => lines.push(s));
  return { code, out: lines.join("\n") };
};

describe("cli --live", () => {
  it("exits 2 naming the field of a scenario live mode cannot play, and starts nothing", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "wargame-live-"));
    // No control plane is started: the refusal comes before any I/O, in well under a second.
    const { code, out } = await run(["wargame/scenarios/price-spike.yaml", "--live", "--out", dir]);
    expect(code).toBe(EXIT.invalid);
    expect(out).toMatch(/^live mode cannot play this scenario, nothing was started/);
    expect(out).toContain("events[0].kind: live mode replays outage, latency, reputationShock");
    expect(out).toContain("arrivals.runtimeMinutes");
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    [["--live", "--compare", "strategy=cheapest"], "--compare: not with --live"],
    [["--live", "--compression", "0.5"], "--compression: expected a number ≥ 1, got 0.5"],
    [["--compression", "20"], "--compression and --kubeconfig: only with --live"],
  ])("refuses %j with exit 2", async (args, want) => {
    const { code, out } = await run(["wargame/live-scenarios/live-short.yaml", ...args]);
    expect(code).toBe(EXIT.invalid);
    expect(out).toBe(want);
  });

  it.each([
    [undefined, 20],
    ["60", 60],
    ["x", "--compression: expected a number ≥ 1, got x"],
  ])("parses --compression %s", (arg, want) => {
    expect(parseCompression(arg)).toEqual(want);
  });

  it("summarises a live run in one line", () => {
    expect(
      liveSummaryLine(
        {
          mode: "live",
          scenario: "s",
          strategy: "cheapest",
          seed: 1,
          workloads: 48,
          fillRate: 0.8727,
          perTreaty: {},
          failoverReasons: {},
          failovers: 7,
          succeeded: 48,
          failed: 0,
          stuck: 0,
        },
        20,
        85_000,
      ),
    ).toBe(
      "s (cheapest) live at 20×: 48 workloads, fill rate 87.27 %, failovers 7, succeeded 48, " +
        "failed 0, stuck 0; 85.00 s wall",
    );
  });
});
