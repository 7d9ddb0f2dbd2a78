import { Writable } from "node:stream";
import { describe, expect, it } from "@jest/globals";
import { pino } from "pino";
import { logOptions } from "./log-options.ts";

describe("logOptions", () => {
  it("censors secret fields and keeps the context fields", () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino(logOptions("info", { identity: "op-1" }), out);
    log.info(
      {
        tenant: "acme",
        request_id: "4f1c",
        token: "sk_live_123",
        provider: { token: "sim-token", url: "http://x" },
        req: { headers: { authorization: "Bearer abc" } },
      },
      "call",
    );
    const line = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ identity: "op-1", tenant: "acme", request_id: "4f1c" });
    expect(lines[0]).not.toMatch(/sk_live_123|sim-token|Bearer abc/);
    expect(line.token).toBe("[redacted]");
  });
});
