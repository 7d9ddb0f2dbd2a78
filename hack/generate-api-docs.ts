// Generates the API reference part of each concept page (docs/concepts/<kind>.md) from the zod
// schemas in crds/, through the same structural OpenAPI schema the CRDs are generated from:
// names, every spec and status field with its type, bounds, default and description, the CEL
// rules and the printer columns. The text between the BEGIN/END markers is generated; the
// rest of the page is prose. `npm run generate` / `make generate` writes it; `--check` (run by
// `make verify`) writes nothing and exits 1 when a page's generated part is stale.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ALL_CRDS, type CelRule, type CrdDefinition } from "../crds/index.ts";
import { crdOpenApiSchema, type Schema } from "./generate-crds.ts";
import { runGenerator } from "./generated-files.ts";

/** Directory (relative to the repository root) of the concept pages. */
const CONCEPTS_DIR = "docs/concepts";

/** Line that opens the generated part of a page. */
export const BEGIN_MARKER =
  "<!-- BEGIN GENERATED: api-reference (make generate, from crds/*.ts) — do not edit -->";
/** Line that closes the generated part of a page. */
export const END_MARKER = "<!-- END GENERATED: api-reference -->";

/** File name of a kind's concept page: the kind in lower case. */
function conceptPage(def: CrdDefinition): string {
  return `${CONCEPTS_DIR}/${def.kind.toLowerCase()}.md`;
}

/** One row of a field table. */
export interface FieldRow {
  /** Dotted path from the object root, `[]` for list items: `spec.pricing[].gpuType`. */
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  /** Default, enum, bounds and description, as one Markdown cell. */
  readonly details: string;
}

const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** The type of a schema node as a reader writes it: `string`, `[]object`, `map[string]string`. */
export function typeName(n: Schema): string {
  if (n["x-kubernetes-int-or-string"] === true) return "int or string";
  if (n.type === "array") return `[]${isObj(n.items) ? typeName(n.items) : "any"}`;
  if (n.type === "object" && isObj(n.additionalProperties)) {
    return `map[string]${typeName(n.additionalProperties)}`;
  }
  if (n.type === "object" && n["x-kubernetes-preserve-unknown-fields"] === true && !n.properties) {
    return "object (free-form)";
  }
  const fmt = typeof n.format === "string" ? ` (${n.format})` : "";
  return `${typeof n.type === "string" ? n.type : "any"}${fmt}`;
}

const code = (v: unknown): string => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;

/** Bounds of a node in words: `1..64`, `≤ 63 characters`, `1..16 items`. */
export function bounds(n: Schema): string[] {
  const out: string[] = [];
  const range = (lo: unknown, hi: unknown, unit: string): void => {
    const l = typeof lo === "number" ? lo : undefined;
    // JavaScript's safe-integer bound (int64 counters) is no limit a reader needs.
    const h = typeof hi === "number" && hi < Number.MAX_SAFE_INTEGER ? hi : undefined;
    if (l !== undefined && h !== undefined) out.push(`${l}..${h}${unit}`);
    else if (h !== undefined) out.push(`≤ ${h}${unit}`);
    else if (l !== undefined && l > 0) out.push(`≥ ${l}${unit}`);
  };
  if (n.type === "integer" || n.type === "number") range(n.minimum, n.maximum, "");
  if (n.type === "string" && n.enum === undefined) range(n.minLength, n.maxLength, " characters");
  if (n.type === "array") range(n.minItems, n.maxItems, " items");
  if (n.type === "object") range(n.minProperties, n.maxProperties, " entries");
  const listType = n["x-kubernetes-list-type"];
  const keys = n["x-kubernetes-list-map-keys"];
  if (listType === "set") out.push("unique items");
  if (listType === "map" && Array.isArray(keys)) out.push(`unique by ${keys.map(code).join(", ")}`);
  return out;
}

// `@default X` in a description (the JSDoc habit of crds/) reads "Default: X." in the docs.
function prose(description: unknown): { text: string; mentionsDefault: boolean } {
  const raw = typeof description === "string" ? description.trim() : "";
  const m = /^(.*?)\s*@default\s+(.+)$/s.exec(raw);
  if (!m) return { text: raw, mentionsDefault: false };
  return { text: `${m[1]} Default: ${m[2]!.replace(/\.$/, "")}.`, mentionsDefault: true };
}

/** The details cell of a field: description, then one-of, default and bounds. */
export function details(n: Schema): string {
  const { text, mentionsDefault } = prose(n.description);
  const parts = text === "" ? [] : [text];
  if (Array.isArray(n.enum) && !/\bOne of\b|\bor\b/.test(text)) {
    parts.push(`One of ${n.enum.map(code).join(", ")}.`);
  }
  if (n.default !== undefined && !mentionsDefault) parts.push(`Default: ${code(n.default)}.`);
  // A range the description already states ("Number of GPUs, 1..64.") is not repeated.
  const b = bounds(n).filter((x) => !text.includes(x));
  if (b.length > 0) parts.push(`*${b.join("; ")}*`);
  return parts.join(" ").replace(/\|/g, "\\|").replace(/\n+/g, " ");
}

// Conditions are metav1.Condition everywhere: one row, not six.
const opaque = (at: string): boolean => at.endsWith(".conditions");

/** Every field below `node` (depth first, properties alphabetically), as table rows. */
export function fieldRows(node: Schema, at: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (n: Schema, prefix: string): void => {
    if (opaque(prefix)) return;
    const required = new Set(Array.isArray(n.required) ? (n.required as string[]) : []);
    const props = isObj(n.properties) ? n.properties : {};
    for (const [name, child] of Object.entries(props)) {
      if (!isObj(child)) continue;
      const p = `${prefix}.${name}`;
      rows.push({
        path: p,
        type: typeName(child),
        required: required.has(name),
        details: details(child),
      });
      walk(child, p);
    }
    if (n.type === "array" && isObj(n.items)) walk(n.items, `${prefix}[]`);
  };
  walk(node, at);
  return rows;
}

function fieldTable(rows: readonly FieldRow[]): string[] {
  const out = ["| Field | Type | Description |", "|---|---|---|"];
  for (const r of rows) {
    const req = r.required ? " **(required)**" : "";
    out.push(`| \`${r.path}\`${req} | ${r.type.replace(/\|/g, "\\|")} | ${r.details} |`);
  }
  return out;
}

function celRows(rules: readonly CelRule[] | undefined, at: string): string[] {
  return (rules ?? []).map((r) => {
    const where = r.fieldPath ? `${at}${r.fieldPath}` : at;
    return `| \`${where}\` | \`${r.rule.replace(/\|/g, "\\|")}\` | ${r.message} |`;
  });
}

// Collects x-kubernetes-validations below `node` (the CRD's own CEL rules, as the apiserver
// enforces them), with the path of the node that carries them.
function celRules(node: Schema, at: string): string[] {
  const out = celRows(node["x-kubernetes-validations"] as CelRule[] | undefined, at);
  if (isObj(node.properties)) {
    for (const [k, v] of Object.entries(node.properties))
      if (isObj(v)) out.push(...celRules(v, `${at}.${k}`));
  }
  if (isObj(node.items)) out.push(...celRules(node.items, `${at}[]`));
  return out;
}

/** Renders the generated part of a kind's concept page (without the markers). */
export function renderReference(def: CrdDefinition): string {
  const schema = crdOpenApiSchema(def);
  const props = schema.properties as Record<string, Schema>;
  const lines: string[] = [
    "## API reference",
    "",
    `\`${def.group}/${def.version}\`, kind \`${def.kind}\` — ${def.scope === "Cluster" ? "cluster-scoped" : "namespaced"}. ` +
      `Resource \`${def.plural}\`, short name${def.shortNames.length > 1 ? "s" : ""} ${def.shortNames.map(code).join(", ")}, ` +
      `category ${def.categories.map(code).join(", ")} (\`kubectl get ${def.categories[0]} -A\`). ` +
      `The same text is served by \`kubectl explain ${def.plural}.spec\`.`,
    "",
    "### Spec",
    "",
    ...fieldTable(fieldRows(props.spec!, "spec")),
    "",
    "### Status",
    "",
    "Written by the operator; `status.conditions[]` entries are standard `metav1.Condition`s " +
      "(`type`, `status`, `reason`, `message`, `lastTransitionTime`, `observedGeneration`).",
    "",
    ...fieldTable(fieldRows(props.status!, "status")),
    "",
  ];
  const cel = [...celRows(def.rootValidations, "metadata.name"), ...celRules(props.spec!, "spec")];
  if (cel.length > 0) {
    lines.push(
      "### Validation rules",
      "",
      "Besides the bounds above, the apiserver enforces these CEL rules (`x-kubernetes-validations`):",
      "",
      "| On | Rule | Message |",
      "|---|---|---|",
      ...cel,
      "",
    );
  }
  lines.push(
    "### Printer columns",
    "",
    `\`kubectl get ${def.plural}\` shows these columns (\`-o wide\` adds those marked wide):`,
    "",
    "| Column | JSONPath | Shown | Description |",
    "|---|---|---|---|",
    ...def.printerColumns.map(
      (c) =>
        `| ${c.name} | \`${c.jsonPath.replace(/\|/g, "\\|")}\` | ${c.priority ? "wide" : "always"} | ${c.description} |`,
    ),
  );
  return lines.join("\n");
}

/**
 * Replaces the text between the markers of `page` with `generated`; throws, naming `file`,
 * when the page lacks the markers or has them out of order.
 */
export function splice(page: string, generated: string, file: string): string {
  const begin = page.indexOf(BEGIN_MARKER);
  const end = page.indexOf(END_MARKER);
  if (begin < 0 || end < 0 || end < begin) {
    throw new Error(
      `${file}: expected the lines ${BEGIN_MARKER} and ${END_MARKER}, in that order, around the generated API reference`,
    );
  }
  return `${page.slice(0, begin + BEGIN_MARKER.length)}\n${generated}\n${page.slice(end)}`;
}

/** Pages under `root` whose generated part differs from what the schemas render now. */
export async function stalePages(
  root: string,
  defs: readonly CrdDefinition[] = ALL_CRDS,
): Promise<string[]> {
  const out: string[] = [];
  for (const def of defs) {
    const file = conceptPage(def);
    const page = await readFile(path.join(root, file), "utf8");
    if (splice(page, renderReference(def), file) !== page) out.push(file);
  }
  return out;
}

/** Rewrites the generated part of every concept page under `root`; returns the pages. */
export async function generateApiDocs(
  root: string,
  defs: readonly CrdDefinition[] = ALL_CRDS,
): Promise<string[]> {
  const written: string[] = [];
  for (const def of defs) {
    const file = conceptPage(def);
    const page = await readFile(path.join(root, file), "utf8");
    await writeFile(path.join(root, file), splice(page, renderReference(def), file));
    written.push(file);
  }
  return written;
}

if (import.meta.main) {
  await runGenerator({
    stale: stalePages,
    generate: generateApiDocs,
    staleMessage: "the API reference of these pages is stale or hand-edited",
    currentMessage: "concept pages' API reference is up to date",
    wroteMessage: (written) =>
      `wrote the API reference of ${written.length} concept pages in ${CONCEPTS_DIR}/`,
  });
}
