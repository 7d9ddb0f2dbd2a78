import { describe, expect, it } from "@jest/globals";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { decisionSlug, MCP_REASON, parseArguments } from "./mcp-tools.ts";

const hex = "a".repeat(64);

describe("parseArguments", () => {
  it.each([
    ["verify_artifact", { digest: "md5:1" }, "digest"],
    ["verify_artifact", {}, "digest"],
    ["verify_artifact", { digest: `sha256:${hex}`, extra: 1 }, "extra"],
    ["search_memories", { query: "" }, "query"],
    ["search_memories", { query: "x", limit: 500 }, "limit"],
    ["search_memories", { query: "x", since: "yesterday" }, "since"],
    ["record_decision", { title: "t", text: "x", status: "maybe" }, "status"],
    ["sign_artifact", { name: "f", contentBase64: "not base64!" }, "contentBase64"],
  ] as const)("%s %j → InvalidParams naming %s", (tool, args, wantArgument) => {
    let err: unknown;
    try {
      parseArguments(tool, args);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(McpError);
    const e = err as McpError;
    expect(e.code).toBe(ErrorCode.InvalidParams);
    expect(e.data).toEqual({ reason: MCP_REASON.invalidArgument, argument: wantArgument });
    expect(e.message).toContain(`argument ${wantArgument}`);
  });

  it("applies defaults to good arguments", () => {
    expect(parseArguments("search_memories", { query: "fastapi" })).toEqual({
      query: "fastapi",
      limit: 10,
    });
    expect(parseArguments("record_decision", { title: " t ", text: "x" })).toEqual({
      title: "t",
      text: "x",
    });
  });
});

describe("decisionSlug", () => {
  it.each([
    ["Use fastify, not FastAPI", "use-fastify-not-fastapi"],
    ["  ---  ", "decision"],
    ["Ü", "decision"],
    ["a".repeat(100), "a".repeat(80)],
  ])("decisionSlug(%j) = %j", (title, want) => expect(decisionSlug(title)).toBe(want));
});
