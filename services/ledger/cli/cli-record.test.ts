import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres, type PostgresServer } from "../../../test/harness/postgres.ts";
import { digestString } from "../canonical-json.ts";
import type { SearchHit } from "../store/pg-search.ts";
import { testCli, type TestCli } from "./cli-test-io.ts";

// A private Postgres on a busy 2-core machine.
jest.setTimeout(60_000);

let dir: string;
let server: PostgresServer;
let cli: TestCli;
const stop = new AbortController();

const FASTAPI_ADR = `# 0007 — FastAPI for the control API

## Context
We needed an HTTP framework for the control API with typed request models.

## Decision
We choose FastAPI: async handlers, pydantic validation and generated OpenAPI documents.
`;
const POSTGRES_ADR = `# 0008 — Postgres for the ledger

## Decision
The ledger lives in Postgres. The API layer (FastAPI) only reads from it.
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remembrancer-record-"));
  server = await startPostgres();
  const url = (await server.createDatabase("cli_record")).url;
  cli = testCli(dir, () => ({ DATABASE_URL: url, REMEMBRANCER_KEY_DIR: "keys" }), stop.signal);
  expect((await cli.run("keygen", "--dir", "keys")).code).toBe(0);
  writeFileSync(join(dir, "0007-fastapi.md"), FASTAPI_ADR);
  writeFileSync(join(dir, "0008-postgres.md"), POSTGRES_ADR);
  writeFileSync(join(dir, "my-service.tar.gz"), "release bytes\n");
});

afterAll(async () => {
  stop.abort();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Printed {
  receipt: { type: string; subject: string; payload: Record<string, unknown> };
}

describe("record deploy / record decision / query", () => {
  it("records a deployment in the seed's form, with its evidence's digest", async () => {
    const r = await cli.run(
      "record",
      "deploy",
      "--component",
      "my-service",
      "--version",
      "v1.0",
      "--evidence",
      "my-service.tar.gz",
      "--json",
    );
    expect(r.code).toBe(0);
    const { receipt } = JSON.parse(r.out) as Printed;
    expect(receipt).toMatchObject({
      type: "deployment",
      subject: "my-service",
      payload: {
        component: "my-service",
        version: "v1.0",
        artifact: {
          name: "my-service.tar.gz",
          sha256: digestString(Buffer.from("release bytes\n")),
        },
      },
    });
  });

  it("records ADRs as decision receipts with the file as artifact", async () => {
    for (const [title, file] of [
      ["FastAPI for the control API", "0007-fastapi.md"],
      ["Postgres for the ledger", "0008-postgres.md"],
    ] as const) {
      const r = await cli.run("record", "decision", "--title", title, "--file", file, "--json");
      expect(r.code).toBe(0);
      const { receipt } = JSON.parse(r.out) as Printed;
      expect(receipt).toMatchObject({
        type: "decision",
        subject: title,
        payload: { title, file, artifact: { name: file } },
      });
    }
  });

  it("answers 'why did we choose FastAPI?' with the decision first and a snippet", async () => {
    const r = await cli.run("query", "why did we choose FastAPI", "--json");
    expect(r.code).toBe(0);
    const hits = JSON.parse(r.out) as SearchHit[];
    expect(hits[0]).toMatchObject({
      type: "decision",
      subject: "FastAPI for the control API",
      snippet: expect.stringContaining("«FastAPI»"),
    });
    const all = await cli.run("query", "FastAPI", "--json");
    const ranked = JSON.parse(all.out) as SearchHit[];
    // Both ADRs mention FastAPI; the one whose title names it ranks first.
    expect(ranked.map((h) => h.subject)).toEqual([
      "FastAPI for the control API",
      "Postgres for the ledger",
    ]);
    expect(ranked[0]!.rank).toBeGreaterThan(ranked[1]!.rank);
  });

  it("filters by --type and --since", async () => {
    const deploys = JSON.parse(
      (await cli.run("query", "my-service", "--type", "deployment", "--json")).out,
    ) as SearchHit[];
    expect(deploys.map((h) => h.type)).toEqual(["deployment"]);
    const none = JSON.parse(
      (await cli.run("query", "FastAPI", "--since", "2999-01-01", "--json")).out,
    ) as SearchHit[];
    expect(none).toEqual([]);
    const text = await cli.run("query", "kubernetes");
    expect(text).toMatchObject({ code: 0, out: 'no receipts match "kubernetes"\n' });
  });

  it.each<[string[], RegExp]>([
    [["record", "deploy", "--component", "x"], /required option '--version/],
    [
      ["record", "deploy", "--component", " ", "--version", "v1"],
      /--component: expected a non-empty/,
    ],
    [
      ["record", "decision", "--title", "t", "--file", "missing.md"],
      /--file not found: missing\.md/,
    ],
    [["query", "x", "--since", "soon"], /--since: not a date/],
    [["query", "x", "--type", "deploy ment"], /--type: expected a receipt type/],
    [["query", "x", "--limit", "lots"], /--limit: expected/],
  ])("exits 2 naming the flag for %j", async (args, want) => {
    const r = await cli.run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(want);
  });
});
