import { describe, expect, it } from "@jest/globals";
import {
  documentedReasons,
  extractDocBlocks,
  matchOutput,
  orderProblems,
  parseMarker,
  relativeLinks,
  unmarkedBlocks,
} from "./doc-blocks.ts";

const page = [
  "# Title",
  "",
  "<!-- test: file treaty.yaml -->",
  "```yaml",
  "kind: Treaty",
  "```",
  "",
  "<!-- test: run -->",
  "",
  "```sh",
  "kubectl apply -f treaty.yaml",
  "```",
  "<!-- test: output -->",
  "```text",
  "treaty.vaultmesh.cloud/t created",
  "```",
  "```yaml",
  "unmarked: true",
  "```",
  "```text",
  "an illustration",
  "```",
].join("\n");

describe("extractDocBlocks", () => {
  it("finds every fenced block with its marker, language, line and body", () => {
    const blocks = extractDocBlocks(page, "p.md");
    expect(blocks.map((b) => [b.line, b.lang, b.action?.kind])).toEqual([
      [4, "yaml", "file"],
      [10, "sh", "run"],
      [14, "text", "output"],
      [17, "yaml", undefined],
      [20, "text", undefined],
    ]);
    expect(blocks[0]!.action).toEqual({ kind: "file", path: "treaty.yaml" });
    expect(blocks[1]!.body).toBe("kubectl apply -f treaty.yaml\n");
  });

  it("reports unmarked command and manifest blocks, not illustrations", () => {
    const unmarked = unmarkedBlocks(extractDocBlocks(page, "p.md"));
    expect(unmarked.map((b) => b.line)).toEqual([17]);
  });

  it.each([
    ["<!-- test: run -->\nsome text\n```sh\nx\n```", "p.md:1: marker not followed by a code block"],
    ["<!-- test: run -->", "p.md:1: marker not followed by a code block"],
    ["<!-- test: run -->\n<!-- test: run -->\n```sh\n```", "p.md:1: marker not followed"],
    ["```sh\nnever closed", "p.md:1: code block is never closed"],
    ["<!-- test: bogus -->\n```sh\n```", 'p.md:1: unknown marker "test: bogus"'],
  ])("refuses %j", (md, wantError) => {
    expect(() => extractDocBlocks(md, "p.md")).toThrow(wantError);
  });
});

describe("parseMarker", () => {
  it.each([
    ["run", undefined, { kind: "run" }],
    ["apply", "", { kind: "apply" }],
    ["file", "demo/treaty.yaml", { kind: "file", path: "demo/treaty.yaml" }],
    ["skip", "needs a cloud account", { kind: "skip", why: "needs a cloud account" }],
  ])("parses %s %j", (kind, arg, want) => {
    expect(parseMarker(kind, arg, "p.md:1")).toEqual(want);
  });

  it.each([
    [
      "file",
      "/etc/passwd",
      'needs a relative file name (letters, digits, . _ - /), got "/etc/passwd"',
    ],
    ["file", "../x", "needs a relative file name"],
    ["file", "", "needs a relative file name"],
    ["skip", "", "needs a reason"],
    ["run", "now", 'takes no argument, got "now"'],
  ])("refuses %s %j", (kind, arg, wantError) => {
    expect(() => parseMarker(kind, arg, "p.md:1")).toThrow(
      `p.md:1: marker "test: ${kind}" ${wantError}`,
    );
  });
});

describe("orderProblems", () => {
  it("wants an output block after a run block", () => {
    const md = "<!-- test: apply -->\n```yaml\n```\n<!-- test: output -->\n```text\n```";
    expect(orderProblems(extractDocBlocks(md, "p.md"))).toEqual([
      "p.md:5: an output block must follow a run block",
    ]);
    expect(orderProblems(extractDocBlocks(page, "p.md"))).toEqual([]);
  });
});

describe("matchOutput", () => {
  const actual = [
    "NAME            PROVIDER     READY   REPUTATION   ACTIVE   FILL   AGE",
    "gpu-pool-a10g   in-cluster   True    0.9          0               14s",
    "akash-west      akash        False   0.9          0               14s",
    "",
  ].join("\n");

  it.each([
    ["the same text with other column widths", "NAME PROVIDER READY REPUTATION ACTIVE FILL AGE"],
    ["an excerpt, with … for a varying value", "akash-west akash False 0.9 0 …"],
    ["lines in order with others between", "NAME …\nakash-west …"],
    ["blank expected lines", "\nNAME …\n\n"],
  ])("matches %s", (_what, expected) => {
    expect(matchOutput(expected, actual)).toBeUndefined();
  });

  it.each([
    [
      "a value that differs",
      "gpu-pool-a10g in-cluster False …",
      "gpu-pool-a10g in-cluster False …",
    ],
    ["lines out of order", "akash-west …\ngpu-pool-a10g …", "gpu-pool-a10g …"],
    ["a partial token without …", "gpu-pool in-cluster …", "gpu-pool in-cluster …"],
    ["regex characters taken literally", "NAME.*", "NAME.*"],
  ])("names the first missing line for %s", (_what, expected, wantMissing) => {
    expect(matchOutput(expected, actual)).toBe(wantMissing);
  });
});

describe("relativeLinks and documentedReasons", () => {
  it("finds relative links, not URLs, anchors alone or inline code", () => {
    const md =
      "See [a](../ledger.md#x), [b](https://x.io), [c](#here)\n`[-a-z](x)` [d](concepts/t.md)";
    expect(relativeLinks(md)).toEqual([
      { target: "../ledger.md", line: 1 },
      { target: "concepts/t.md", line: 2 },
    ]);
  });

  it("reads the Reason column of tables that have one", () => {
    const md = [
      "| Condition | Status | Reason | Meaning |",
      "|---|---|---|---|",
      "| `Ready` | True | `InForce` | ok |",
      "| `Ready` | False | `Expired`, `Suspended` | a \\| b |",
      "",
      "| Column | JSONPath |",
      "|---|---|",
      "| `NotAReason` | `.x` |",
    ].join("\n");
    expect(documentedReasons(md)).toEqual(["InForce", "Expired", "Suspended"]);
  });
});
