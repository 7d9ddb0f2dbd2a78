import { describe, expect, it } from "@jest/globals";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { z } from "zod";
import { ALL_CRDS, LINE_PATTERN, QuantitySchema, TEXT_PATTERN } from "../crds/index.ts";
import { chartCrdTemplate } from "./chart/chart-files.ts";
import {
  CHART_CRD_DIR,
  CRD_DIR,
  GENERATED_HEADER,
  KUSTOMIZATION,
  checkStructural,
  crdFileName,
  generate,
  renderAll,
  renderKustomization,
  stale,
  toRe2Pattern,
  toStructuralSchema,
  type Schema,
} from "./generate-crds.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const read = (rel: string): string => readFileSync(root + rel, "utf8");

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const committed = (plural: string): Crd =>
  YAML.parse(read(`${CRD_DIR}/vaultmesh.cloud_${plural}.yaml`)) as Crd;
const openApi = (plural: string): Schema =>
  committed(plural).spec.versions[0]!.schema.openAPIV3Schema;

// An independent walk over a committed schema: path → node, for every node below the root.
function nodes(schema: Schema, at = ""): [string, Schema, boolean][] {
  const out: [string, Schema, boolean][] = [];
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [k, v] of Object.entries(props))
    out.push([`${at}.${k}`, v, true], ...nodes(v, `${at}.${k}`));
  if (schema.items)
    out.push(
      [`${at}[]`, schema.items as Schema, false],
      ...nodes(schema.items as Schema, `${at}[]`),
    );
  if (typeof schema.additionalProperties === "object") {
    const v = schema.additionalProperties as Schema;
    out.push([`${at}.*`, v, false], ...nodes(v, `${at}.*`));
  }
  return out;
}

const plurals = ALL_CRDS.map((c) => c.plural);

describe("generated CRDs", () => {
  it("equal the committed files (make verify would pass)", () => {
    const rendered = renderAll();
    const wantFiles = [...rendered.keys()].sort();
    expect(readdirSync(root + CRD_DIR).sort()).toEqual(wantFiles);
    expect(readdirSync(root + CHART_CRD_DIR).sort()).toEqual(wantFiles);
    for (const [file, text] of rendered) {
      expect(read(`${CRD_DIR}/${file}`)).toBe(text);
      expect(read(`${CHART_CRD_DIR}/${file}`)).toBe(chartCrdTemplate(text));
    }
    expect(read(KUSTOMIZATION)).toBe(renderKustomization([...rendered.keys()]));
  });

  it("render the same text twice", () => {
    expect([...renderAll()]).toEqual([...renderAll()]);
  });

  it.each(plurals)("%s starts with the generated-file header", (plural) => {
    expect(read(`${CRD_DIR}/vaultmesh.cloud_${plural}.yaml`).split("\n")[0]).toBe(GENERATED_HEADER);
  });

  it.each(plurals)("%s has no additionalProperties beside properties", (plural) => {
    const offenders = nodes(openApi(plural))
      .filter(([, n]) => n.properties !== undefined && n.additionalProperties !== undefined)
      .map(([p]) => p);
    expect(offenders).toEqual([]);
  });

  it.each(plurals)("%s has a description on every field but metadata", (plural) => {
    const missing = nodes(openApi(plural))
      .filter(
        ([p, n, isField]) => isField && p !== ".metadata" && typeof n.description !== "string",
      )
      .map(([p]) => p);
    expect(missing).toEqual([]);
  });

  it.each(plurals)("%s has a type on every node, or keeps unknown fields", (plural) => {
    const untyped = nodes(openApi(plural))
      .filter(
        ([, n]) =>
          n.type === undefined &&
          n["x-kubernetes-preserve-unknown-fields"] !== true &&
          n["x-kubernetes-int-or-string"] !== true,
      )
      .map(([p]) => p);
    expect(untyped).toEqual([]);
  });

  it.each(plurals)("%s bounds every string, array and map", (plural) => {
    const unbounded = nodes(openApi(plural))
      .filter(([p, n]) => {
        if (p === ".apiVersion" || p === ".kind") return false;
        if (n.type === "string") return n.maxLength === undefined && !n.enum && !n.format;
        if (n.type === "array") return n.maxItems === undefined;
        return typeof n.additionalProperties === "object" && n.maxProperties === undefined;
      })
      .map(([p]) => p);
    expect(unbounded).toEqual([]);
  });

  it("makes the Receipt spec immutable with CEL", () => {
    const spec = (openApi("receipts").properties as Record<string, Schema>).spec!;
    expect(spec["x-kubernetes-validations"]).toEqual([
      { rule: "self == oldSelf", message: "spec is immutable" },
    ]);
  });

  it("keeps the Receipt payload free-form", () => {
    const spec = (openApi("receipts").properties as Record<string, Schema>).spec!;
    const payload = (spec.properties as Record<string, Schema>).payload!;
    expect(payload).toMatchObject({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    expect(payload.additionalProperties).toBeUndefined();
  });

  it("lists Treaty prices as a map keyed by GPU type, refusing unknown types", () => {
    const spec = (openApi("treaties").properties as Record<string, Schema>).spec!;
    const pricing = (spec.properties as Record<string, Schema>).pricing!;
    expect(pricing["x-kubernetes-list-type"]).toBe("map");
    expect(pricing["x-kubernetes-list-map-keys"]).toEqual(["gpuType"]);
    const item = pricing.items as { properties: Record<string, Schema> };
    expect(item.properties.gpuType!.enum).toContain("a10g");
    expect(item.properties.usdPerHour).toMatchObject({ type: "number", minimum: 0 });
    expect(spec.required).toContain("provider");
  });

  it.each<[string, string, string, string[], string]>([
    ["treaties", "Treaty", "Cluster", ["treaty"], "Provider,Ready,Reputation,Active,Fill"],
    ["tenants", "Tenant", "Cluster", ["tenant"], "Plan,Namespace,Ready,Subscription"],
    [
      "gpuworkloads",
      "GPUWorkload",
      "Namespaced",
      ["gpuw"],
      "GPU,Provider,Treaty,Cost,Status,Receipt",
    ],
    ["receipts", "Receipt", "Namespaced", ["rcpt"], "Type,Subject Kind,Subject,Index,Verified"],
    [
      "federationpeers",
      "FederationPeer",
      "Cluster",
      ["fedpeer"],
      "Reachable,Synced,Peer Size,Last Sync",
    ],
  ])(
    "%s: kind %s, scope %s, short names %j, columns %s",
    (plural, wantKind, wantScope, wantShort, wantColumns) => {
      const crd = committed(plural);
      expect(crd.metadata.name).toBe(`${plural}.vaultmesh.cloud`);
      expect(crd.spec.group).toBe("vaultmesh.cloud");
      expect(crd.spec.names).toMatchObject({
        kind: wantKind,
        plural,
        shortNames: wantShort,
        categories: ["vaultmesh"],
      });
      expect(crd.spec.scope).toBe(wantScope);
      const [version] = crd.spec.versions;
      expect(version).toMatchObject({
        name: "v1alpha1",
        served: true,
        storage: true,
        subresources: { status: {} },
      });
      const columns = version!.additionalPrinterColumns.map((c) => c.name);
      for (const want of wantColumns.split(",")) expect(columns).toContain(want);
      expect(columns.at(-1)).toBe("Age");
    },
  );

  it("names files as controller-gen does", () => {
    expect(ALL_CRDS.map(crdFileName)).toContain("vaultmesh.cloud_treaties.yaml");
  });
});

describe("generate and stale (make verify)", () => {
  it("finds nothing stale right after generating, and a hand edit after", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vaultmesh-generate-"));
    try {
      const written = await generate(dir);
      expect(written).toHaveLength(ALL_CRDS.length);
      expect(await stale(dir)).toEqual([]);
      const edited = `${CHART_CRD_DIR}/vaultmesh.cloud_receipts.yaml`;
      appendFileSync(path.join(dir, edited), "# hand edit\n");
      expect(await stale(dir)).toEqual([edited]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds nothing stale in the repository", async () => {
    expect(await stale(root)).toEqual([]);
  });
});

describe("toStructuralSchema", () => {
  const described = <T extends z.ZodType>(s: T): T => s.describe("d");

  it("turns a free-form record into preserve-unknown-fields", () => {
    const got = toStructuralSchema(
      z.object({ x: described(z.record(z.string(), z.unknown())) }),
      "t",
    );
    expect((got.properties as Record<string, Schema>).x).toEqual({
      description: "d",
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    });
  });

  it("drops additionalProperties: false beside properties", () => {
    const got = toStructuralSchema(z.strictObject({ a: described(z.string().max(3)) }), "t");
    expect(got.additionalProperties).toBeUndefined();
    expect(got.properties).toEqual({ a: { description: "d", type: "string", maxLength: 3 } });
  });

  it("emits the canonical int-or-string for a quantity", () => {
    const got = toStructuralSchema(QuantitySchema, "t");
    expect(got.anyOf).toEqual([{ type: "integer" }, { type: "string" }]);
    expect(got["x-kubernetes-int-or-string"]).toBe(true);
    expect(got.type).toBeUndefined();
    expect(got.maxLength).toBe(64);
  });

  it("refuses unions Kubernetes cannot express", () => {
    const union = z.object({ u: described(z.union([z.string().max(1), z.number()])) });
    expect(() => toStructuralSchema(union, "t")).toThrow("t.u: unions are not structural");
  });

  it("refuses keywords it does not know rather than dropping them", () => {
    const withExamples = z.object({ t: described(z.string().max(2)).meta({ examples: ["a"] }) });
    expect(() => toStructuralSchema(withExamples, "t")).toThrow(
      "t.t: unsupported schema keyword(s) examples",
    );
  });
});

describe("toRe2Pattern", () => {
  it.each([
    ["a \\u escape", String.raw`^[^\u202a-\u202E]$`, String.raw`^[^\x{202A}-\x{202E}]$`],
    ["\\x escapes, kept", String.raw`^[\x00-\x1F]$`, String.raw`^[\x00-\x1F]$`],
    ["an escaped backslash before u", String.raw`^\\u0041$`, String.raw`^\\u0041$`],
    ["\\u without four hex digits", String.raw`^\u12$`, String.raw`^\u12$`],
    ["a class escape", String.raw`^\s\/$`, String.raw`^\s\/$`],
  ])("rewrites %s", (_what, source, want) => {
    expect(toRe2Pattern(source)).toBe(want);
  });

  it("puts the text-field patterns into the CRDs in RE2 form (ADR 0093)", () => {
    const toJs = (re2: string): string => re2.replace(/\\x\{([0-9A-F]{4})\}/g, "\\u$1");
    const spec = nodes(openApi("gpuworkloads")).find(([at]) => at === ".spec.template.args[]");
    const tenant = nodes(openApi("tenants")).find(([at]) => at === ".spec.displayName");
    expect(spec?.[1].pattern).toMatch(/\\x\{202E\}/);
    expect(toJs(spec?.[1].pattern as string)).toBe(TEXT_PATTERN.source);
    expect(toJs(tenant?.[1].pattern as string)).toBe(LINE_PATTERN.source);
  });

  it("reports a \\u escape left in a pattern", () => {
    const schema = {
      type: "object",
      properties: { a: { description: "d", type: "string", maxLength: 1, pattern: "^\\u202E$" } },
    };
    expect(checkStructural(schema, "K")).toEqual([
      String.raw`K.a: pattern ^\u202E$ is not RE2 (a \u escape; write \x{…})`,
    ]);
  });
});

describe("checkStructural", () => {
  it.each<[string, Schema, string]>([
    [
      "a field without description",
      { type: "object", properties: { a: { type: "boolean" } } },
      "K.a: has no description",
    ],
    [
      "additionalProperties beside properties",
      { type: "object", properties: {}, additionalProperties: false },
      "K: has additionalProperties beside properties",
    ],
    [
      "an unbounded string",
      { type: "object", properties: { a: { description: "d", type: "string" } } },
      "K.a: string has no maxLength",
    ],
    [
      "an unbounded array",
      {
        type: "object",
        properties: { a: { description: "d", type: "array", items: { type: "boolean" } } },
      },
      "K.a: array has no maxItems",
    ],
    [
      "a lookahead pattern",
      {
        type: "object",
        properties: { a: { description: "d", type: "string", maxLength: 1, pattern: "^(?=a)" } },
      },
      "K.a: pattern ^(?=a) is not RE2 (lookaround or backreference)",
    ],
    [
      "a node without type",
      { type: "object", properties: { a: { description: "d" } } },
      "K.a: has no type",
    ],
  ])("reports %s", (_what, schema, wantProblem) => {
    expect(checkStructural(schema, "K")).toContain(wantProblem);
  });

  it.each(plurals)("finds nothing wrong with the committed %s schema", (plural) => {
    expect(checkStructural(openApi(plural), plural)).toEqual([]);
  });
});
