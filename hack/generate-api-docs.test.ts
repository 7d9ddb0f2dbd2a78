import { describe, expect, it } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { ALL_CRDS, TreatyCrd } from "../crds/index.ts";
import {
  BEGIN_MARKER,
  END_MARKER,
  bounds,
  details,
  fieldRows,
  renderReference,
  splice,
  stalePages,
  typeName,
} from "./generate-api-docs.ts";
import { crdOpenApiSchema, type Schema } from "./generate-crds.ts";

const root = fileURLToPath(new URL("../", import.meta.url));

describe("typeName", () => {
  it.each<[string, Schema, string]>([
    ["a string", { type: "string" }, "string"],
    ["a date", { type: "string", format: "date" }, "string (date)"],
    ["a list of objects", { type: "array", items: { type: "object" } }, "[]object"],
    ["a map", { type: "object", additionalProperties: { type: "string" } }, "map[string]string"],
    [
      "a free-form object",
      { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      "object (free-form)",
    ],
    ["an int-or-string", { "x-kubernetes-int-or-string": true, anyOf: [] }, "int or string"],
  ])("names %s", (_what, node, want) => {
    expect(typeName(node)).toBe(want);
  });
});

describe("bounds and details", () => {
  it.each<[string, Schema, string[]]>([
    ["a closed range", { type: "integer", minimum: 1, maximum: 64 }, ["1..64"]],
    [
      "a safe-integer maximum (no limit)",
      { type: "integer", minimum: 0, maximum: 2 ** 53 - 1 },
      [],
    ],
    ["a string length", { type: "string", maxLength: 63 }, ["≤ 63 characters"]],
    ["no length for an enum", { type: "string", enum: ["a"], maxLength: 3 }, []],
    [
      "a list map",
      {
        type: "array",
        minItems: 1,
        maxItems: 16,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["gpuType"],
      },
      ["1..16 items", "unique by `gpuType`"],
    ],
  ])("bounds of %s", (_what, node, want) => {
    expect(bounds(node)).toEqual(want);
  });

  it.each<[string, Schema, string]>([
    [
      "an @default in the description",
      {
        type: "string",
        description: "Extended resource. @default nvidia.com/gpu",
        default: "nvidia.com/gpu",
      },
      "Extended resource. Default: nvidia.com/gpu.",
    ],
    [
      "a schema default",
      { type: "boolean", description: "On.", default: false },
      "On. Default: `false`.",
    ],
    [
      "an enum not named in the text",
      { type: "string", description: "Kind.", enum: ["A", "B"] },
      "Kind. One of `A`, `B`.",
    ],
    [
      "a range the text states",
      { type: "integer", description: "GPUs, 1..64.", minimum: 1, maximum: 64 },
      "GPUs, 1..64.",
    ],
    [
      "a pipe, escaped for the table",
      { type: "string", description: "a | b", maxLength: 3 },
      "a \\| b *≤ 3 characters*",
    ],
  ])("details of %s", (_what, node, want) => {
    expect(details(node)).toBe(want);
  });
});

describe("fieldRows", () => {
  it("lists every spec field of Treaty, required ones marked, conditions as one row", () => {
    const schema = crdOpenApiSchema(TreatyCrd).properties as Record<string, Schema>;
    const spec = fieldRows(schema.spec!, "spec");
    const paths = spec.map((r) => r.path);
    expect(paths).toContain("spec.pricing[].usdPerHour");
    expect(paths).toContain("spec.inCluster.taint.effect");
    expect(spec.find((r) => r.path === "spec.provider")?.required).toBe(true);
    expect(spec.find((r) => r.path === "spec.endpoint")?.required).toBe(false);
    const status = fieldRows(schema.status!, "status").map((r) => r.path);
    expect(status).toContain("status.conditions");
    expect(status.filter((p) => p.startsWith("status.conditions["))).toEqual([]);
  });
});

describe("splice", () => {
  it("replaces only the text between the markers", () => {
    const page = `# T\n\nprose\n\n${BEGIN_MARKER}\nold\n${END_MARKER}\ntail\n`;
    expect(splice(page, "new", "t.md")).toBe(
      `# T\n\nprose\n\n${BEGIN_MARKER}\nnew\n${END_MARKER}\ntail\n`,
    );
  });

  it.each([
    ["no markers", "# T\n"],
    ["markers out of order", `${END_MARKER}\n${BEGIN_MARKER}\n`],
  ])("refuses a page with %s, naming it", (_what, page) => {
    expect(() => splice(page, "x", "docs/concepts/t.md")).toThrow(
      "docs/concepts/t.md: expected the lines",
    );
  });
});

describe("the concept pages", () => {
  it("carry the API reference the schemas render now (make generate)", async () => {
    expect(await stalePages(root)).toEqual([]);
  });

  it.each(ALL_CRDS.map((d) => [d.kind, d] as const))(
    "%s: the reference names every printer column",
    (_k, def) => {
      const text = renderReference(def);
      for (const c of def.printerColumns) expect(text).toContain(`| ${c.name} |`);
    },
  );
});
