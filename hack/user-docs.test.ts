// The user docs (docs/README.md, install, getting started, concepts) checked without a cluster:
// every command and manifest block is marked for the docs test, every manifest parses as its
// kind's schema, every relative link resolves, every documented condition reason exists in
// the code, every Helm values file passes the chart's schema. test/integration/docs-commands.test.ts
// then runs the marked blocks for real.
import { describe, expect, it } from "@jest/globals";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import type { z } from "zod";
import {
  FederationPeerSchema,
  GPUWorkloadSchema,
  ReceiptSchema,
  TenantSchema,
  TreatySchema,
} from "../crds/index.ts";
import { ChartValuesSchema } from "./chart/values-schema.ts";
import {
  USER_DOC_PAGES,
  documentedReasons,
  extractDocBlocks,
  orderProblems,
  relativeLinks,
  unmarkedBlocks,
} from "./doc-blocks.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const read = (rel: string): string => readFileSync(join(root, rel), "utf8");

const SCHEMAS: Record<string, z.ZodType> = {
  Treaty: TreatySchema,
  Tenant: TenantSchema,
  GPUWorkload: GPUWorkloadSchema,
  Receipt: ReceiptSchema,
  FederationPeer: FederationPeerSchema,
};

// Every non-test TypeScript source of the processes, where reasons are written.
function sources(dir: string): string {
  let text = "";
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) text += sources(rel);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) text += read(rel);
  }
  return text;
}

describe.each(USER_DOC_PAGES.map((p) => [p]))("%s", (page) => {
  const text = read(page);
  const blocks = extractDocBlocks(text, page);

  it("marks every command and manifest block for the docs test, in a valid order", () => {
    expect(unmarkedBlocks(blocks).map((b) => `${b.file}:${b.line} (${b.lang})`)).toEqual([]);
    expect(orderProblems(blocks)).toEqual([]);
  });

  it("has manifests that parse as their kind's schema", () => {
    const manifests = blocks.filter((b) => b.action?.kind === "apply" || b.action?.kind === "file");
    for (const b of manifests.filter((m) => m.lang === "yaml")) {
      for (const doc of YAML.parseAllDocuments(b.body)) {
        const obj = doc.toJS() as { kind?: string } | null;
        const schema = obj?.kind === undefined ? undefined : SCHEMAS[obj.kind];
        if (!schema) continue;
        const r = schema.safeParse(obj);
        const issues = r.success
          ? []
          : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
        expect({ block: `${b.file}:${b.line}`, issues }).toEqual({
          block: `${b.file}:${b.line}`,
          issues: [],
        });
      }
    }
  });

  it("has Helm values files the chart's values schema accepts", () => {
    const values = blocks.filter(
      (b) => b.action?.kind === "file" && /^values[\w.-]*\.ya?ml$/.test(b.action.path),
    );
    for (const b of values) {
      const r = ChartValuesSchema.safeParse(YAML.parse(b.body) ?? {});
      const issues = r.success
        ? []
        : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      expect({ block: `${b.file}:${b.line}`, issues }).toEqual({
        block: `${b.file}:${b.line}`,
        issues: [],
      });
    }
  });

  it("links only to files that exist", () => {
    const broken = relativeLinks(text)
      .filter((l) => !existsSync(join(root, dirname(page), l.target)))
      .map((l) => `${page}:${l.line}: ${l.target}`);
    expect(broken).toEqual([]);
  });
});

describe("docs/install.md's chart values", () => {
  it("each `a.b.c` value it names exists in the chart's values", () => {
    const defaults = ChartValuesSchema.parse({}) as Record<string, unknown>;
    const top = Object.keys(defaults).join("|");
    const valuePath = new RegExp(`^(${top})(\\.[A-Za-z]+)*(\\.\\*)?$`);
    const prose = read("docs/install.md").replace(/^```[\s\S]*?^```/gm, "");
    const names = [...prose.matchAll(/`([^`\n]+)`/g)]
      .map((m) => m[1]!.replace(/:.*$/, ""))
      .filter((t) => valuePath.test(t) && t.includes("."));
    expect(names.length).toBeGreaterThan(10);
    const missing = names.filter((name) => {
      let v: unknown = defaults;
      for (const k of name.replace(/\.\*$/, "").split(".")) {
        if (typeof v !== "object" || v === null || !(k in v)) return true;
        v = (v as Record<string, unknown>)[k];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });
});

describe("documented condition reasons", () => {
  it("each exists as a string in the operator, the webhooks, the services or the API", () => {
    const code = ["operator", "webhooks", "services", "crds"].map(sources).join("\n");
    const missing: string[] = [];
    for (const page of USER_DOC_PAGES) {
      for (const reason of documentedReasons(read(page))) {
        if (!code.includes(`"${reason}"`)) missing.push(`${page}: ${reason}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
